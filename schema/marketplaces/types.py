"""Types of the marketplace sync status (brand staff)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from adapters.marketplaces import status
from domain.money import Money
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id


@strawberry.type(
    description="One SKU on one marketplace: what it was last told, and how pushing it goes."
)
class MarketplaceListingSync:
    sku: str
    state: str = strawberry.field(
        description="PENDING (to push), OK, RETRYING (backing off), REJECTED (the marketplace "
        "refused it: lastError says why), DEAD (gave up after retries: marketplaceResync)"
    )
    dirty: bool = strawberry.field(description="A change is waiting to be pushed.")
    waiting_seconds: float | None = strawberry.field(
        description="Since the oldest change not pushed yet (null when none waits)."
    )
    pushed_quantity: int | None
    pushed_price: MoneyV2 | None
    last_push_at: datetime | None
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


@strawberry.type(description="A marketplace order seen by the import.")
class MarketplaceOrderSync:
    external_id: str = strawberry.field(description="The marketplace's order id.")
    state: str = strawberry.field(
        description="IMPORTED (an order here), FLAGGED (could not be placed: flagReason), "
        "CANCELLED (cancelled at the marketplace before it was placed)"
    )
    marketplace_status: str
    order_id: strawberry.ID | None
    flag_code: str | None
    flag_reason: str | None
    updated_at: datetime | None


@strawberry.type(description="A call owed to a marketplace: acknowledge, ship, cancel, refund.")
class MarketplaceCall:
    kind: str
    external_id: str
    state: str = strawberry.field(description="PENDING, SENDING, DONE or DEAD")
    attempts: int
    last_error: str | None
    updated_at: datetime | None


@strawberry.type(description="The sync of one marketplace account (its channel).")
class MarketplaceSync:
    channel: str
    marketplace: str = strawberry.field(description="AMAZON, WALMART or EBAY")
    pending: int
    ok: int
    retrying: int
    rejected: int
    dead: int
    dirty: int = strawberry.field(description="SKUs with a change not pushed yet.")
    lag_seconds: float | None = strawberry.field(
        description="Age of the oldest change not pushed yet (null: all pushed)."
    )
    last_push_at: datetime | None
    last_full_push_at: datetime | None
    last_import_at: datetime | None
    last_import_error: str | None
    flagged_orders: int
    failing_calls: int
    channel_id: strawberry.Private[int]

    @strawberry.field(description="The channel's SKUs, those waiting first; by state or SKU.")
    async def listings(
        self,
        info: Info[Any, None],
        state: str | None = None,
        sku: str | None = None,
        first: int = 50,
    ) -> list[MarketplaceListingSync]:
        rows = await status.listings(self.channel_id, state=state, sku=sku, first=_first(first))
        now = info.context.services.clock.now()
        return [
            MarketplaceListingSync(
                sku=r.sku,
                state=r.state,
                dirty=r.dirty,
                waiting_seconds=age(r.changed_at, now) if r.dirty else None,
                pushed_quantity=r.pushed_quantity,
                pushed_price=money(r.pushed_price, r.currency),
                last_push_at=r.last_push_at,
                attempts=r.attempts,
                next_attempt_at=r.next_attempt_at,
                last_error=r.last_error,
            )
            for r in rows
        ]

    @strawberry.field(
        description='Marketplace orders seen, newest first (state: "FLAGGED" for those to act on).'
    )
    async def orders(self, state: str | None = None, first: int = 50) -> list[MarketplaceOrderSync]:
        rows = await status.orders(self.channel_id, state=state, first=_first(first))
        return [order_sync(r) for r in rows]

    @strawberry.field(description="Calls owed to the marketplace, newest first (failing: "
                      "retried or dead ones).")  # fmt: skip
    async def calls(self, failing: bool = False, first: int = 50) -> list[MarketplaceCall]:
        rows = await status.calls(self.channel_id, failing=failing, first=_first(first))
        return [
            MarketplaceCall(kind=r.kind, external_id=r.external_id, state=r.state,
                            attempts=r.attempts, last_error=r.last_error,
                            updated_at=r.updated_at)
            for r in rows
        ]  # fmt: skip


@strawberry.type
class MarketplaceResyncPayload:
    queued: int = 0
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MarketplaceOrderRetryPayload:
    order: MarketplaceOrderSync | None = None
    outcome: str | None = strawberry.field(
        default=None, description="PLACED, FLAGGED (still), CANCELLED, UNCHANGED or WAITING"
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


def _first(first: int) -> int:
    return max(1, min(first, 100))


def age(since: datetime | None, now: datetime) -> float | None:
    """Seconds from ``since`` to ``now`` (None when there is no ``since``)."""
    return round((now - since).total_seconds(), 3) if since is not None else None


def order_sync(r: Any) -> MarketplaceOrderSync:
    return MarketplaceOrderSync(
        external_id=r.external_id,
        state=r.state,
        marketplace_status=r.marketplace_status,
        order_id=order_id(r.order_id),
        flag_code=r.flag_code,
        flag_reason=r.flag_reason,
        updated_at=r.updated_at,
    )


def money(amount: int | None, currency: str | None) -> MoneyV2 | None:
    if amount is None or currency is None:
        return None
    return MoneyV2.of(Money(amount, currency))


def order_id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id("Order", value)) if value else None
