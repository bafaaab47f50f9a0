"""What the use cases need from the outside world, as typed protocols.

Adapters in ``adapters/`` implement these; tests may use fakes that implement the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from domain.catalog.ports import CatalogRepository
from domain.channels.ports import LocationRepository
from domain.events import DomainEvent
from domain.identity.ports import ApiKeyRecord as ApiKeyRecord
from domain.identity.ports import IdentityRepository
from domain.identity.ports import StaffRecord as StaffRecord
from domain.inventory.ports import InventoryRepository
from domain.inventory.ports import Movement as Movement
from domain.members.ports import MemberRepository
from domain.pricing.ports import PriceRepository


class IdempotencyStore(Protocol):
    """First results of keyed mutations; ``put`` fails with ``IdempotencyRace`` on a lost race."""

    async def get(self, scope: str, key: str) -> tuple[str, dict[str, Any] | None] | None: ...
    async def put(
        self, scope: str, key: str, request_hash: str, response: dict[str, Any]
    ) -> None: ...


class IdempotencyRace(Exception):
    """Another request committed the same idempotency key first."""


class UnitOfWork(Protocol):
    """One transaction: repositories bound to it, committed as a whole or not at all.

    ``touched`` collects what the transaction changed ("catalog", "price", "stock") so that
    caches showing it are invalidated once the commit succeeds.
    """

    catalog: CatalogRepository
    prices: PriceRepository
    inventory: InventoryRepository
    identity: IdentityRepository
    locations: LocationRepository
    idempotency: IdempotencyStore
    carts: CartRepository
    orders: OrderRepository
    outbox: Outbox
    members: MemberRepository
    points: PointsRepository
    promotions: PromotionRepository
    events: OutboxReader
    touched: set[str]

    async def __aenter__(self) -> UnitOfWork: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Opens a new unit of work."""

    def __call__(self) -> UnitOfWork: ...


class PasswordHasher(Protocol):
    """One-way password hashing (argon2id)."""

    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def dummy_verify(self) -> None: ...


class TokenSigner(Protocol):
    """Signs and verifies short-lived access tokens."""

    def issue(self, *, subject: str, claims: dict[str, Any], ttl_seconds: int) -> str: ...
    def verify(self, token: str) -> dict[str, Any] | None: ...


class Clock(Protocol):
    """The current time, timezone-aware."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Whether one more hit fits in the window, and when to come back if not."""

    allowed: bool
    remaining: int
    retry_after_seconds: int


class RateLimiter(Protocol):
    """Fixed-window counters shared by every process (Redis) or one process (in memory)."""

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...


@dataclass(frozen=True, slots=True)
class CartLineRecord:
    """One line of a stored cart."""

    variant_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class CartRecord:
    """A stored cart: what the shopper chose, before pricing."""

    id: int
    token: str
    channel_handle: str
    buyer: dict[str, Any]
    delivery: dict[str, Any]
    discount_codes: tuple[str, ...]
    expires_at: datetime
    order_id: int | None
    lines: tuple[CartLineRecord, ...]
    member_id: int | None = None
    points_to_redeem: int = 0


@dataclass(frozen=True, slots=True)
class OrderLineRecord:
    """A stored order line with its price snapshot."""

    id: int
    variant_id: int
    sku: str
    title: str
    quantity: int
    unit_price: int
    compare_at_price: int | None
    line_total: int
    returned_quantity: int
    discount: int = 0


@dataclass(frozen=True, slots=True)
class FulfilmentRecord:
    """A stored fulfilment."""

    id: int
    order_id: int
    location_id: int
    method: str
    status: str
    lines: tuple[tuple[int, int], ...]  # (variant id, quantity)
    pickup_code: str | None
    carrier: str | None
    tracking_number: str | None


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A stored order with its lines and fulfilments."""

    id: int
    number: str
    channel_id: int
    channel_handle: str
    source: str
    external_reference: str | None
    status: str
    payment_status: str
    currency: str
    subtotal: int
    delivery_total: int
    tax_total: int
    total: int
    refunded_total: int
    buyer: dict[str, Any]
    delivery: dict[str, Any]
    routing: dict[str, Any]
    location_ids: tuple[int, ...]
    attributed_location_id: int | None
    attributed_staff_id: int | None
    access_token: str
    created_at: datetime
    lines: tuple[OrderLineRecord, ...]
    fulfilments: tuple[FulfilmentRecord, ...]
    member_id: int | None = None
    discount_total: int = 0
    discounts: tuple[dict[str, Any], ...] = ()
    points_redeemed: int = 0
    points_value: int = 0
    points_earned: int = 0


@dataclass(frozen=True, slots=True)
class ReservationRecord:
    """Stock held for an order at one location."""

    id: int
    order_id: int
    variant_id: int
    location_id: int
    quantity: int
    status: str
    expires_at: datetime


class CartRepository(Protocol):
    """Carts and their lines."""

    async def create(
        self,
        *,
        token: str,
        channel_id: int,
        buyer: dict[str, Any],
        delivery: dict[str, Any],
        expires_at: datetime,
        member_id: int | None = None,
    ) -> CartRecord: ...
    async def get(self, token: str, *, for_update: bool = False) -> CartRecord | None: ...
    async def set_lines(self, cart_id: int, lines: Sequence[CartLineRecord]) -> None: ...
    async def update(self, cart_id: int, **fields: Any) -> None: ...


class OrderRepository(Protocol):
    """Orders, their lines, fulfilments, reservations, events and returns."""

    async def add(self, **fields: Any) -> int: ...
    async def add_lines(self, order_id: int, lines: Sequence[dict[str, Any]]) -> None: ...
    async def add_fulfilment(self, order_id: int, **fields: Any) -> int: ...
    async def get(self, order_id: int, *, for_update: bool = False) -> OrderRecord | None: ...
    async def update(self, order_id: int, **fields: Any) -> None: ...
    async def update_fulfilment(self, fulfilment_id: int, **fields: Any) -> None: ...
    async def fulfilment(self, fulfilment_id: int) -> FulfilmentRecord | None: ...
    async def add_reservations(self, rows: Sequence[dict[str, Any]]) -> None: ...
    async def reservations(self, order_id: int, *, status: str) -> list[ReservationRecord]: ...
    async def set_reservation_status(self, ids: Sequence[int], status: str) -> None: ...
    async def expired_reservation_orders(self, *, now: datetime, limit: int) -> list[int]: ...
    async def add_event(
        self, order_id: int, *, kind: str, actor: str, data: dict[str, Any]
    ) -> None: ...
    async def returned_quantities(self, order_id: int) -> dict[int, int]: ...
    async def add_return(self, **fields: Any) -> int: ...
    async def set_return_refund(self, return_id: int, refund_due: int) -> None: ...
    async def add_line_returns(self, returned: dict[int, int]) -> None: ...


class Outbox(Protocol):
    """Facts for other parts of the system, written in the caller's transaction."""

    async def add(self, event: DomainEvent) -> None: ...
    async def publish(self, topic: str, *, aggregate_id: str, payload: dict[str, Any]) -> None: ...


class PointsRepository(Protocol):
    """Lots and ledger entries of members' points; ``lock`` serialises one member's points."""

    async def lock(self, member_id: int) -> None: ...
    async def lots(self, member_id: int) -> list[Any]: ...
    async def add_lot(
        self,
        member_id: int,
        *,
        points: int,
        earned_at: datetime,
        expires_at: datetime | None,
        order_id: int | None,
    ) -> int: ...
    async def consume(self, consumptions: Sequence[Any]) -> None: ...
    async def has_entry(self, dedupe_key: str) -> bool: ...
    async def add_entry(self, member_id: int, **fields: Any) -> None: ...
    async def program(self) -> tuple[dict[str, Any], dict[str, Any]]: ...
    async def save_program(self, earn: dict[str, Any], redeem: dict[str, Any]) -> None: ...
    async def members_with_expired_lots(self, *, at: datetime, limit: int) -> list[int]: ...
    async def tier_thresholds(self) -> list[tuple[str, int, int]]: ...
    async def spend_12_months(self, member_id: int, *, since: datetime) -> int: ...
    async def add_tier_change(self, member_id: int, **fields: Any) -> None: ...
    async def category_ids(self, variant_ids: Sequence[int]) -> dict[int, tuple[int, ...]]: ...
    async def order_reversals(self, order_id: int) -> tuple[int, int, int]: ...


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """A stored promotion: its rule and its usage limits."""

    promotion: Any  # domain.promotions.model.Promotion
    usage_limit: int | None
    per_member_limit: int | None
    used_count: int
    active: bool


@dataclass(frozen=True, slots=True)
class VoucherRecord:
    """A single-use voucher owned by a member."""

    id: int
    code: str
    member_id: int
    amount: int
    currency: str
    status: str
    expires_at: datetime | None
    order_id: int | None


class PromotionRepository(Protocol):
    """Promotions, their uses, and members' vouchers."""

    async def live(self, *, at: datetime, codes: Sequence[str]) -> list[PromotionRecord]: ...
    async def get(
        self, promotion_id: int, *, for_update: bool = False
    ) -> PromotionRecord | None: ...
    async def code_taken(self, code: str, *, exclude_id: int | None) -> bool: ...
    async def save(self, promotion_id: int | None, **fields: Any) -> int: ...
    async def member_uses(self, promotion_id: int, member_id: int) -> int: ...
    async def add_use(self, promotion_id: int, *, order_id: int, member_id: int | None) -> None: ...
    async def line_facts(
        self, variant_ids: Sequence[int]
    ) -> dict[int, tuple[int, tuple[int, ...], tuple[int, ...]]]: ...
    async def voucher(self, code: str, *, for_update: bool = False) -> VoucherRecord | None: ...
    async def voucher_by_id(self, voucher_id: int) -> VoucherRecord | None: ...
    async def add_voucher(self, **fields: Any) -> VoucherRecord: ...
    async def update_voucher(self, voucher_id: int, **fields: Any) -> None: ...
    async def vouchers_of(self, member_id: int) -> list[VoucherRecord]: ...


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An event written by a committed change, waiting to be published."""

    id: int
    topic: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime


class OutboxReader(Protocol):
    """Unpublished outbox events; ``take`` skips rows another relay holds."""

    async def take(self, *, limit: int) -> list[OutboxMessage]: ...
    async def mark_published(self, ids: Sequence[int], *, at: datetime) -> None: ...


class EventPublisher(Protocol):
    """Where published events go: a Redis stream, or the log in the embedded default."""

    async def publish(self, message: OutboxMessage) -> None: ...
