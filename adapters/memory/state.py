"""The tables of the in-memory fakes: one object that every repository of a unit of work
reads and writes, copied on enter so that a failed unit of work can put it back."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from domain.attribution.model import Attribution, Binding, BindingPolicy, CodeRecord, ScanRecord
from domain.audit.model import AuditRecord, ValueGrant
from domain.cart.ports import Cart
from domain.catalog.model import Category, Collection, Product, Variant
from domain.channels.model import Channel, Location
from domain.clienteling.model import TaskRecord
from domain.commissions.rules import CommissionRule, Entry
from domain.identity.ports import ApiKeyRecord, StaffRecord
from domain.insights.model import OrderSummary
from domain.inventory.model import StockLevel
from domain.inventory.ports import Movement
from domain.loyalty.model import SPEND_STATUSES, Lot, PointsEntry, TierChange
from domain.loyalty.program import LoyaltyProgram, Tier
from domain.marketplaces.model import ActionDraft, OrderLink
from domain.members.model import MemberRecord, SessionRecord
from domain.orders.model import Order
from domain.orders.ports import Reservation, ReturnDraft
from domain.payments.model import Payment, RefundRecord, TillSession
from domain.ports import OutboxMessage
from domain.pricing.model import PriceRule
from domain.promotions.ports import PromotionRecord, VoucherRecord
from domain.settlement.model import Franchisee, Statement, StatementLine


def utc_now() -> datetime:
    """The wall clock, timezone-aware (the default clock of the fakes)."""
    return datetime.now(UTC)


@dataclass(slots=True)
class StoredLot:
    """A points lot with its owner and the order that earned it."""

    member_id: int
    lot: Lot
    order_id: int | None


@dataclass(slots=True)
class Verification:
    """A verification token (hashed) waiting to be used."""

    member_id: int
    channel: str
    expires_at: datetime
    used_at: datetime | None = None


@dataclass(slots=True)
class HistoryEntry:
    """One line of an order's history."""

    order_id: int
    kind: str
    actor: str
    data: dict[str, Any]


@dataclass(slots=True)
class MemoryState:
    """Every table of the fakes. ``now`` stamps created_at columns; ``next_id`` numbers rows."""

    now: Callable[[], datetime] = utc_now
    ids: dict[str, int] = field(default_factory=dict)
    # catalog and prices
    products: dict[int, Product] = field(default_factory=dict)
    search_text: dict[int, str] = field(default_factory=dict)
    variants: dict[int, Variant] = field(default_factory=dict)
    categories: dict[int, Category] = field(default_factory=dict)
    collections: dict[int, Collection] = field(default_factory=dict)
    collection_products: dict[int, list[int]] = field(default_factory=dict)
    prices: dict[int, list[PriceRule]] = field(default_factory=dict)
    # stock, channels, identity, idempotency
    stock: dict[tuple[int, int], StockLevel] = field(default_factory=dict)
    movements: dict[int, Movement] = field(default_factory=dict)
    locations: dict[int, Location] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    staff: dict[int, StaffRecord] = field(default_factory=dict)
    partners: dict[int, str] = field(default_factory=dict)
    api_keys: dict[int, ApiKeyRecord] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = field(
        default_factory=dict
    )
    # carts, orders, outbox
    carts: dict[int, Cart] = field(default_factory=dict)
    cart_channels: dict[int, int] = field(default_factory=dict)
    cart_updated: dict[int, int] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    reservations: dict[int, Reservation] = field(default_factory=dict)
    history: list[HistoryEntry] = field(default_factory=list)
    returns: dict[int, ReturnDraft] = field(default_factory=dict)
    outbox: dict[int, OutboxMessage] = field(default_factory=dict)
    published: dict[int, datetime] = field(default_factory=dict)
    # members, points, promotions
    members: dict[int, MemberRecord] = field(default_factory=dict)
    sessions: dict[str, SessionRecord] = field(default_factory=dict)
    verifications: dict[str, Verification] = field(default_factory=dict)
    lots: dict[int, StoredLot] = field(default_factory=dict)
    entries: list[PointsEntry] = field(default_factory=list)
    program: LoyaltyProgram | None = None
    tiers: list[Tier] = field(default_factory=list)
    tier_changes: list[TierChange] = field(default_factory=list)
    promotions: dict[int, PromotionRecord] = field(default_factory=dict)
    promotion_uses: list[tuple[int, int, int | None]] = field(default_factory=list)
    vouchers: dict[int, VoucherRecord] = field(default_factory=dict)
    # trust: private messages to members, presence codes, audit log, value grants
    member_messages: list[tuple[int, str, str, str]] = field(default_factory=list)
    presence: dict[str, Verification] = field(default_factory=dict)
    audit: list[AuditRecord] = field(default_factory=list)
    grants: dict[int, ValueGrant] = field(default_factory=dict)
    # payments: per tender, refunds, till sessions, provider events applied, webhooks refused
    payments: dict[int, Payment] = field(default_factory=dict)
    payment_created: dict[int, datetime] = field(default_factory=dict)
    payment_updated: dict[int, datetime] = field(default_factory=dict)
    refunds: dict[int, RefundRecord] = field(default_factory=dict)
    till_sessions: dict[int, TillSession] = field(default_factory=dict)
    provider_events: dict[tuple[str, str], str] = field(default_factory=dict)
    webhook_refusals: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # marketplaces: orders seen (by channel and marketplace id), calls owed (by key)
    marketplace_links: dict[tuple[int, str], OrderLink] = field(default_factory=dict)
    marketplace_actions: dict[str, ActionDraft] = field(default_factory=dict)
    # attribution: codes, scans, members' bindings, the binding policy (None: the defaults)
    attribution_codes: dict[int, CodeRecord] = field(default_factory=dict)
    attribution_scans: dict[int, ScanRecord] = field(default_factory=dict)
    bindings: dict[int, Binding] = field(default_factory=dict)
    binding_policy: BindingPolicy | None = None
    # settlement: franchisees and their stores (location -> franchisee), wholesale prices by
    # (variant, currency), commission entries (as their columns), statements and their lines
    franchisees: dict[int, Franchisee] = field(default_factory=dict)
    franchise_locations: dict[int, int] = field(default_factory=dict)
    wholesale: dict[tuple[int, str], int] = field(default_factory=dict)
    settlement_entries: dict[int, dict[str, Any]] = field(default_factory=dict)
    statements: dict[int, Statement] = field(default_factory=dict)
    statement_lines: dict[int, list[StatementLine]] = field(default_factory=dict)
    # commissions: franchised stores (location: franchisee id, name), each order's
    # attributions, commission rules and entries
    franchised: dict[int, tuple[int, str]] = field(default_factory=dict)
    attributions: dict[int, list[Attribution]] = field(default_factory=dict)
    commission_rules: dict[int, CommissionRule] = field(default_factory=dict)
    commission_entries: list[Entry] = field(default_factory=list)
    # clienteling: members bound to clerks (staff, member), categories back in stock, tasks
    clerk_bindings: list[tuple[int, int]] = field(default_factory=list)
    restocked_categories: set[int] = field(default_factory=set)
    clienteling_tasks: dict[int, TaskRecord] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """The next id of a table (1, 2, ...)."""
        self.ids[table] = self.ids.get(table, 0) + 1
        return self.ids[table]

    def snapshot(self) -> MemoryState:
        """A deep copy of every table (the clock is shared, not copied)."""
        return copy.deepcopy(self, {id(self.now): self.now})

    def restore(self, snapshot: MemoryState) -> None:
        """Put every table back as it was in ``snapshot``."""
        for f in fields(self):
            if f.name != "now":
                setattr(self, f.name, getattr(snapshot, f.name))

    def spend_orders(self) -> list[Order]:
        """Orders of members whose total counts as spend (tiers, insight)."""
        return [
            o
            for o in self.orders.values()
            if o.member_id is not None and o.status in SPEND_STATUSES
        ]

    def category_of(self, variant_id: int) -> int | None:
        """The category of a variant's product."""
        variant = self.variants.get(variant_id)
        product = self.products.get(variant.product_id) if variant else None
        return product.category_id if product else None

    def summary(self, order: Order) -> OrderSummary:
        """What member insight needs of one order."""
        assert order.member_id is not None
        categories = {self.category_of(ln.variant_id) for ln in order.lines} - {None}
        return OrderSummary(
            order.member_id,
            order.created_at,
            order.total - order.refunded_total,
            order.channel_handle,
            tuple(sorted(c for c in categories if c is not None)),
        )
