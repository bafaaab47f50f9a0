"""Tortoise ORM tables: the persistent shape of the domain, one module per area.

Money columns are integer minor units beside a currency code. Every table change goes through a
migration in ``adapters/db/migrations`` (``python app.py makemigrations``). Tortoise finds the
tables among this package's names, so every table module is re-exported here.
"""

from __future__ import annotations

from adapters.db.models.carts import Cart, CartLine
from adapters.db.models.catalog import Category, Collection, CollectionProduct, Product, Variant
from adapters.db.models.channels import Channel, ChannelLocation, Location
from adapters.db.models.identity import ApiKey, Partner, StaffUser
from adapters.db.models.inventory import Stock, StockMovement
from adapters.db.models.loyalty import LoyaltyProgram, PointsEntry, PointsLot, TierChange
from adapters.db.models.marketplaces import (
    MarketplaceAccountState,
    MarketplaceAction,
    MarketplaceListing,
    MarketplaceOrder,
)
from adapters.db.models.members import Member, MemberSession, MemberTier, Verification
from adapters.db.models.orders import (
    Fulfilment,
    Order,
    OrderEvent,
    OrderLine,
    OrderReturn,
    Reservation,
)
from adapters.db.models.payments import (
    Payment,
    PaymentRefund,
    ProviderEvent,
    TillSessionRow,
    WebhookRefusal,
)
from adapters.db.models.pricing import Price
from adapters.db.models.promotions import Promotion, PromotionUse, Voucher
from adapters.db.models.reports import ReportMemberMonth, ReportOrder, ReportRollupState
from adapters.db.models.settlement import (
    AttributionCode,
    AttributionScan,
    BindingPolicy,
    ClientelingTask,
    CommissionEntry,
    CommissionRule,
    Franchisee,
    FranchiseLocation,
    MemberBinding,
    OrderAttribution,
    Statement,
    StatementLine,
    WholesalePrice,
)
from adapters.db.models.transactions import ChangeLog, IdempotencyRecord, OutboxEvent
from adapters.db.models.trust import AuditEntry, MemberMessage, MemberPresence, ValueGrant

__all__ = [
    "ApiKey",
    "AttributionCode",
    "AttributionScan",
    "AuditEntry",
    "BindingPolicy",
    "Cart",
    "CartLine",
    "Category",
    "ChangeLog",
    "Channel",
    "ChannelLocation",
    "ClientelingTask",
    "Collection",
    "CollectionProduct",
    "CommissionEntry",
    "CommissionRule",
    "FranchiseLocation",
    "Franchisee",
    "Fulfilment",
    "IdempotencyRecord",
    "Location",
    "LoyaltyProgram",
    "MarketplaceAccountState",
    "MarketplaceAction",
    "MarketplaceListing",
    "MarketplaceOrder",
    "Member",
    "MemberBinding",
    "MemberMessage",
    "MemberPresence",
    "MemberSession",
    "MemberTier",
    "Order",
    "OrderAttribution",
    "OrderEvent",
    "OrderLine",
    "OrderReturn",
    "OutboxEvent",
    "Partner",
    "Payment",
    "PaymentRefund",
    "PointsEntry",
    "PointsLot",
    "Price",
    "Product",
    "Promotion",
    "PromotionUse",
    "ProviderEvent",
    "ReportMemberMonth",
    "ReportOrder",
    "ReportRollupState",
    "Reservation",
    "StaffUser",
    "Statement",
    "StatementLine",
    "Stock",
    "StockMovement",
    "TierChange",
    "TillSessionRow",
    "ValueGrant",
    "Variant",
    "Verification",
    "Voucher",
    "WebhookRefusal",
    "WholesalePrice",
]
