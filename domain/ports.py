"""What the use cases need from the outside world, as typed protocols.

Adapters in ``adapters/`` implement these; tests may use fakes that implement the same ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from domain.attribution.ports import AttributionRepository
from domain.audit.ports import AuditRepository
from domain.cart.ports import CartRepository
from domain.catalog.ports import CatalogRepository
from domain.channels.ports import LocationRepository
from domain.clienteling.ports import ClientelingRepository
from domain.commissions.ports import CommissionRepository
from domain.events import DomainEvent
from domain.identity.ports import IdentityRepository
from domain.inventory.ports import InventoryRepository
from domain.loyalty.ports import PointsRepository
from domain.marketplaces.ports import MarketplaceOrderRepository
from domain.members.ports import MemberRepository
from domain.orders.ports import OrderRepository
from domain.payments.ports import PaymentRepository
from domain.pricing.ports import PriceRepository
from domain.promotions.ports import PromotionRepository
from domain.settlement.ports import FranchiseRepository, SettlementRepository


class IdempotencyStore(Protocol):
    """First results of keyed mutations, in the caller's transaction.

    ``claim`` records the key before the work: a second claim of the same key waits until the
    first transaction ends (PostgreSQL's unique index) and fails with ``IdempotencyRace`` when
    it committed; ``complete`` stores the answer under the claimed key.
    """

    async def get(self, scope: str, key: str) -> tuple[str, dict[str, Any] | None] | None: ...
    async def claim(self, scope: str, key: str, request_hash: str) -> None: ...
    async def complete(self, scope: str, key: str, response: dict[str, Any]) -> None: ...


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
    audit: AuditRepository
    payments: PaymentRepository
    marketplaces: MarketplaceOrderRepository
    attribution: AttributionRepository
    franchise: FranchiseRepository
    settlement: SettlementRepository
    commissions: CommissionRepository
    clienteling: ClientelingRepository
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


class Outbox(Protocol):
    """Facts for other parts of the system, written in the caller's transaction."""

    async def add(self, event: DomainEvent) -> None: ...


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
