"""Resolvers of the marketplace sync (brand staff: owners and admins)."""

from __future__ import annotations

from strawberry.types import Info

from adapters.db import models as m
from adapters.marketplaces import status
from domain.errors import DomainError, NotFound
from domain.marketplaces.model import MarketplaceErrorCode, MarketplaceFailure
from resolvers.context import Context
from schema.common import UserError
from schema.marketplaces.types import (
    MarketplaceOrderRetryPayload,
    MarketplaceResyncPayload,
    MarketplaceSync,
    age,
    order_sync,
)


def _sync(info: Info[Context, None]) -> object:
    sync = info.context.services.marketplaces
    if sync is None:
        raise DomainError(MarketplaceErrorCode.NOT_CONFIGURED, "no marketplace account is "
                          "configured (MARKETPLACES)", field="channel")  # fmt: skip
    return sync


async def _of(info: Info[Context, None], handle: str) -> MarketplaceSync:
    sync = info.context.services.marketplaces
    channel = await sync.channel(handle) if sync is not None else None
    if channel is None:
        raise NotFound("marketplace channel", field="channel")
    found = await status.channel_sync(channel.id)
    now = info.context.services.clock.now()
    return MarketplaceSync(
        channel=handle,
        marketplace=sync.adapters[handle].kind.value,
        pending=found.counts["PENDING"],
        ok=found.counts["OK"],
        retrying=found.counts["RETRYING"],
        rejected=found.counts["REJECTED"],
        dead=found.counts["DEAD"],
        dirty=found.dirty,
        lag_seconds=age(found.oldest_change, now),
        last_push_at=found.last_push_at,
        last_full_push_at=found.last_full_push_at,
        last_import_at=found.last_import_at,
        last_import_error=found.last_import_error,
        flagged_orders=found.flagged,
        failing_calls=found.failing_calls,
        channel_id=channel.id,
    )


async def marketplace_syncs(info: Info[Context, None]) -> list[MarketplaceSync]:
    """Every marketplace account's sync (none when no account is configured)."""
    sync = info.context.services.marketplaces
    if sync is None:
        return []
    return [await _of(info, handle) for handle in sorted(sync.adapters)]


async def marketplace_sync(info: Info[Context, None], channel: str) -> MarketplaceSync | None:
    """One marketplace account's sync (null when the channel has no account)."""
    try:
        return await _of(info, channel)
    except NotFound:
        return None


async def marketplace_resync(
    info: Info[Context, None], channel: str, skus: list[str] | None = None
) -> MarketplaceResyncPayload:
    """Queue SKUs (all of the channel's when none is named) to be pushed again now, the dead
    letters included; only what differs from what the marketplace was last told is sent."""
    sync = _sync(info)
    found = await sync.channel(channel)  # type: ignore[attr-defined]
    if found is None:
        raise NotFound("marketplace channel", field="channel")
    if skus is not None:
        skus = sorted({s.strip() for s in skus if s.strip()})
        if len(skus) > 1000:
            raise DomainError("INVALID", "at most 1000 SKUs at once", field="skus")
        ids = dict(await m.Variant.filter(sku__in=skus).values_list("sku", "id"))
        unknown = [s for s in skus if s not in ids]
        if unknown:
            return MarketplaceResyncPayload(user_errors=[UserError(
                field=["skus"], code=MarketplaceErrorCode.UNKNOWN_SKU.value,
                message=f"unknown SKU {', '.join(unknown[:10])}")])  # fmt: skip
        await sync.mark([found], [int(v) for v in ids.values()])  # type: ignore[attr-defined]
    else:
        await sync.mark([found], None)  # type: ignore[attr-defined]
    return MarketplaceResyncPayload(queued=await status.requeue(found.id, skus))


async def marketplace_order_retry(
    info: Info[Context, None], channel: str, external_id: str
) -> MarketplaceOrderRetryPayload:
    """Pull a marketplace order again and place it if it was flagged (stock arrived, the SKU
    now exists); an order already placed is left as it is."""
    sync = _sync(info)
    found = await sync.channel(channel)  # type: ignore[attr-defined]
    if found is None:
        raise NotFound("marketplace channel", field="channel")
    try:
        done = await sync.retry_flagged(channel, external_id.strip())  # type: ignore[attr-defined]
    except MarketplaceFailure as failure:
        code = (
            MarketplaceErrorCode.UNAVAILABLE if failure.retryable else MarketplaceErrorCode.REJECTED
        )
        raise DomainError(code, str(failure)[:300], field="externalId") from None
    if done is None:
        raise NotFound("marketplace order", field="externalId")
    row = await m.MarketplaceOrder.get(channel_id=found.id, external_id=external_id.strip())
    return MarketplaceOrderRetryPayload(order=order_sync(row), outcome=done.outcome.value)
