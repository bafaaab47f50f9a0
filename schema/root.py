"""The schema root: area fields merged into Query and Mutation, domain errors mapped to
userErrors on every payload mutation, and ``build_schema`` with its hardening."""

from __future__ import annotations

import strawberry
from graphql import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from resolvers.audit import audit_mutations
from resolvers.errors import map_domain_errors
from schema.attribution.fields import AttributionMutation, AttributionQuery
from schema.audit.fields import AuditMutation, AuditQuery
from schema.cart.fields import CartMutation, CartQuery
from schema.cart.types import Cart
from schema.catalog.fields import CatalogMutation, CatalogQuery
from schema.catalog.types import Category, Collection, Product, ProductVariant
from schema.channels.fields import ChannelMutation, ChannelQuery
from schema.channels.types import Channel, Location
from schema.clienteling.fields import ClientelingMutation, ClientelingQuery
from schema.clienteling.types import ClientelingTask
from schema.commissions.fields import CommissionMutation, CommissionQuery
from schema.errors import ErrorShaping
from schema.identity.fields import IdentityMutation
from schema.identity.types import ApiKey, ApiKeyCreatePayload, StaffLoginPayload, StaffUser
from schema.insights.fields import InsightQuery
from schema.inventory.fields import InventoryMutation, InventoryQuery
from schema.marketplaces.fields import MarketplaceMutation, MarketplaceQuery
from schema.members.fields import MemberMutation, MemberQuery
from schema.members.types import Member, MemberSessionPayload
from schema.orders.fields import OrderMutation, OrderQuery
from schema.orders.types import CheckoutCompletePayload, Fulfilment, Order
from schema.payments.fields import PaymentMutation
from schema.payments.reconciliation import ReconciliationQuery
from schema.payments.refunds import RefundMutation
from schema.payments.till import TillMutation, TillQuery
from schema.payments.types import CheckoutPayment, OrderPayment, OrderRefund
from schema.policy import enforce
from schema.promotions.fields import PromotionMutation
from schema.promotions.types import Voucher
from schema.reports.fields import ReportQuery
from schema.settlement.fields import SettlementMutation, SettlementQuery

# The order of the areas (and of the fields in each) is the order of the fields in schema.graphql.
Query = merge_types(
    "Query",
    (
        InventoryQuery,
        CatalogQuery,
        ChannelQuery,
        CartQuery,
        OrderQuery,
        MemberQuery,
        InsightQuery,
        AuditQuery,
        ReconciliationQuery,
        TillQuery,
        MarketplaceQuery,
        AttributionQuery,
        SettlementQuery,
        CommissionQuery,
        ReportQuery,
        ClientelingQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        CartMutation,
        OrderMutation,
        PaymentMutation,
        RefundMutation,
        TillMutation,
        MemberMutation,
        PromotionMutation,
        CatalogMutation,
        ChannelMutation,
        InventoryMutation,
        IdentityMutation,
        AuditMutation,
        MarketplaceMutation,
        AttributionMutation,
        SettlementMutation,
        CommissionMutation,
        ClientelingMutation,
    ),
)
map_domain_errors(Mutation)  # every mutation returning a payload answers DomainErrors in it
# who may read or call what: schema/policy.py, on every root field and every sensitive field
SENSITIVE_TYPES = [
    Member,
    ClientelingTask,
    MemberSessionPayload,
    Order,
    Fulfilment,
    CheckoutCompletePayload,
    CheckoutPayment,
    OrderPayment,
    OrderRefund,
    Cart,
    Voucher,
    StaffUser,
    StaffLoginPayload,
    ApiKey,
    ApiKeyCreatePayload,
    Location,
]
enforce({"Query": Query, "Mutation": Mutation}, SENSITIVE_TYPES)
audit_mutations(Mutation)  # then (outermost) every staff and partner call is audited


def build_schema(
    *,
    introspection: bool = True,
    field_suggestions: bool = True,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 4000,
) -> strawberry.Schema:
    """The schema with its hardening: depth, alias and token limits, masked internal errors."""
    # The rules are made once per schema: a rule class made per request (as the limiters'
    # own extensions do) is a new validation-cache key every time, so nothing would be cached.
    rules = [depth_rule(max_depth, None, None), aliases_rule(max_aliases)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list = [
        lambda: AddValidationRules(rules),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: ValidationCache(maxsize=256),
        ErrorShaping,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[Product, ProductVariant, Collection, Category, Location, Channel],
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=not field_suggestions),
    )
