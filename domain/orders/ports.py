"""What order use cases need from storage: the order repository, in domain types only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.inventory.model import AllocationRule
from domain.orders.events import OrderEvent
from domain.orders.model import Fulfilment, Order, OrderDraft


@dataclass(frozen=True, slots=True)
class Reservation:
    """Stock held for an order at one location until ``expires_at``."""

    id: int
    order_id: int
    variant_id: int
    location_id: int
    quantity: int
    status: str  # ACTIVE, FULFILLED, RELEASED
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ReturnDraft:
    """Goods that came back at a store for one order."""

    order_id: int
    location_id: int
    lines: Mapping[int, int]  # order line id -> quantity
    restock: bool
    refund_due: int
    currency: str
    actor: str


class OrderRepository(Protocol):
    """Orders with their lines, fulfilments, reservations, history and returns.

    ``add`` writes a new order with its lines and fulfilments and returns its id; ``save``
    writes the order's mutable state (statuses, money, points); ``get`` with ``for_update``
    holds the order's row until the transaction ends.
    """

    async def add(self, draft: OrderDraft) -> int: ...
    async def add_order(self, draft: OrderDraft) -> Order:
        """Store the order and return it as stored (with its line and fulfilment ids), with
        one statement per line instead of one for all lines and a read back."""
        ...

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None: ...
    async def save(self, order: Order) -> None: ...
    async def fulfilment(self, fulfilment_id: int) -> Fulfilment | None: ...
    async def save_fulfilment(self, fulfilment: Fulfilment) -> None: ...
    async def record_points_earned(self, order_id: int, points: int) -> None: ...
    async def add_history(self, event: OrderEvent, *, actor: str) -> None: ...
    async def add_reservations(
        self, order_id: int, held: Sequence[tuple[int, int, int]], *, expires_at: datetime
    ) -> None: ...
    async def reservations(self, order_id: int, *, status: str) -> list[Reservation]: ...
    async def set_reservation_status(self, ids: Sequence[int], status: str) -> None: ...
    async def expired_reservation_orders(self, *, now: datetime, limit: int) -> list[int]: ...
    async def add_return(self, draft: ReturnDraft) -> int: ...
    async def set_return_refund(self, return_id: int, refund_due: int) -> None: ...
    async def add_line_returns(self, returned: Mapping[int, int]) -> None: ...


# ---------------------------------------------------------------- read side (staff lists, buyers)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """What staff may narrow the order list by; ``location_ids`` None means every store."""

    channel: str | None = None
    status: str | None = None
    location_ids: tuple[int, ...] | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of an order's history as staff read it: what happened, who did it, when."""

    kind: str
    actor: str
    data: Mapping[str, object]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One line of a member's points ledger as they read it; ``points`` is signed."""

    kind: str
    points: int
    balance_after: int
    reason: str
    order_id: int | None
    created_at: datetime


class OrderQueries(Protocol):
    """Reads outside any unit of work: orders newest first with keyset paging on id (``page``
    says whether more lie beyond), an order's history, a member's points ledger."""

    async def order(self, order_id: int) -> Order | None: ...
    async def page(
        self, filters: OrderFilter, *, limit: int, before_id: int | None
    ) -> tuple[list[Order], bool]: ...
    async def events(self, order_id: int) -> list[HistoryEntry]: ...
    async def points_entries(self, member_id: int, *, limit: int) -> list[LedgerEntry]: ...


@dataclass(frozen=True, slots=True)
class CartDemand:
    """What a cart asks of stock, read without a transaction before checkout: its lines in
    cart order, and the locations and rule of its channel. ``ready``: the cart has lines, a
    buyer and a delivery, no order yet and has not expired."""

    lines: tuple[tuple[int, int], ...]  # (variant id, quantity)
    location_ids: tuple[int, ...]
    rule: AllocationRule
    ready: bool


class CartDemandReader(Protocol):
    async def __call__(self, token: str, *, now: datetime) -> CartDemand | None: ...
