"""What staff read of the marketplace sync: per channel counts, lag, the SKUs and their last
push, flagged orders and failing calls (plain reads of the sync's tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Count, Max, Min

from adapters.db import models as m

STATES = ("PENDING", "OK", "RETRYING", "REJECTED", "DEAD")


@dataclass(frozen=True, slots=True)
class ChannelSync:
    channel_id: int
    counts: dict[str, int]
    dirty: int
    oldest_change: datetime | None
    last_push_at: datetime | None
    last_import_at: datetime | None
    last_import_error: str | None
    last_full_push_at: datetime | None
    flagged: int
    failing_calls: int


async def channel_sync(channel_id: int) -> ChannelSync:
    rows = (
        await m.MarketplaceListing.filter(channel_id=channel_id)
        .annotate(n=Count("id"))
        .group_by("state")
        .values_list("state", "n")
    )
    counts = {s: 0 for s in STATES} | {str(s): int(n) for s, n in rows}
    dirty = (
        await m.MarketplaceListing.filter(channel_id=channel_id, dirty=True)
        .annotate(n=Count("id"), oldest=Min("changed_at"))
        .values_list("n", "oldest")
    )
    pushed = (
        await m.MarketplaceListing.filter(channel_id=channel_id)
        .annotate(last=Max("last_push_at"))
        .values_list("last", flat=True)
    )
    account = await m.MarketplaceAccountState.get_or_none(channel_id=channel_id)
    flagged = await m.MarketplaceOrder.filter(channel_id=channel_id, state="FLAGGED").count()
    failing = (
        await m.MarketplaceAction.filter(channel_id=channel_id, state="DEAD").count()
        + await m.MarketplaceAction.filter(
            channel_id=channel_id, state__in=["PENDING", "SENDING"], attempts__gt=0
        ).count()
    )
    n, oldest = dirty[0] if dirty else (0, None)
    return ChannelSync(
        channel_id=channel_id,
        counts=counts,
        dirty=int(n or 0),
        oldest_change=oldest,
        last_push_at=pushed[0] if pushed else None,
        last_import_at=account.last_import_at if account else None,
        last_import_error=account.last_import_error if account else None,
        last_full_push_at=account.last_full_push_at if account else None,
        flagged=flagged,
        failing_calls=failing,
    )


async def listings(
    channel_id: int, *, state: str | None, sku: str | None, first: int
) -> list[m.MarketplaceListing]:
    query = m.MarketplaceListing.filter(channel_id=channel_id)
    if state:
        query = query.filter(state=state)
    if sku:
        query = query.filter(sku=sku)
    return await query.order_by("-dirty", "sku").limit(first)


async def orders(channel_id: int, *, state: str | None, first: int) -> list[m.MarketplaceOrder]:
    query = m.MarketplaceOrder.filter(channel_id=channel_id)
    if state:
        query = query.filter(state=state)
    return await query.order_by("-updated_at").limit(first)


async def calls(channel_id: int, *, failing: bool, first: int) -> list[m.MarketplaceAction]:
    query = m.MarketplaceAction.filter(channel_id=channel_id)
    if failing:
        query = query.filter(state__in=["DEAD", "PENDING", "SENDING"], attempts__gt=0)
    return await query.order_by("-updated_at").limit(first)


async def requeue(channel_id: int, skus: list[str] | None) -> int:
    """Queue SKUs again, dead letters included (all the channel's when ``skus`` is None)."""
    query = m.MarketplaceListing.filter(channel_id=channel_id)
    if skus is not None:
        query = query.filter(sku__in=skus)
    return await query.update(
        dirty=True, state="PENDING", attempts=0, next_attempt_at=None, leased_until=None
    )
