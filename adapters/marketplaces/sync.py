"""The marketplace sync engine: the one truth of stock, prices and orders kept in step with
every marketplace account.

Out (listings). Committed stock and price changes leave through the outbox (``stock.changed``
with the variants, ``price.changed``); the worker reads them from the event stream (a Redis
consumer group; an in-process queue on the embedded default) and marks the SKUs dirty per
marketplace channel in ``marketplace_listing``, the durable, coalescing queue: a hundred sales of
one SKU are one mark. The pusher leases due rows (``SKIP LOCKED`` on PostgreSQL), computes what
the marketplace should show now (the channel's price, the quantity its allocation rule gives),
pushes only what differs from what was last pushed (the bulk feed above ``bulk_threshold``
SKUs), and clears a mark only if no newer change arrived meanwhile (``version``). Failures back
off (2^attempts s, at most 5 min) and end in DEAD after ``MAX_ATTEMPTS`` (the dead letters,
shown to staff and re-queued by ``marketplaceResync``). Pushes are absolute (set, never add):
a worker killed mid-push leaves the rows dirty and the next push repeats it harmlessly.

In (orders). On a schedule (``orders_since`` from the account's cursor) and on notifications
(``marketplace.notified`` events written by the notification endpoint), every pulled order goes
through ``domain.marketplaces.importing.import_order``, one transaction each.

Back (calls owed). Our order events of marketplace orders (shipped, cancelled, a part
cancelled) and refunds owed through the MARKETPLACE tender become ``marketplace_action`` rows,
once per cause; the worker makes the calls, marking a row SENDING before the call so that after
a crash it first asks the marketplace whether the call already took effect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from adapters.db import models as m
from adapters.db.catalog_reads import converter
from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import Buckets
from domain.channels.model import Channel, ChannelKind
from domain.marketplaces.importing import (
    Imported,
    Outcome,
    flag,
    import_order,
    settle_by_marketplace,
)
from domain.marketplaces.model import (
    ActionDraft,
    ActionKind,
    LinkState,
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrderStatus,
    PushResult,
    Shipment,
    ShippedLine,
    order_from_json,
)
from domain.marketplaces.ports import Marketplace
from domain.payments.model import RefundState, Tender
from domain.payments.refunds import _failed, _succeeded
from domain.ports import Clock, UnitOfWorkFactory
from domain.pricing.model import price_for

log = logging.getLogger("o2o.marketplaces")
MAX_ATTEMPTS = 8
MAX_BACKOFF = 300
LEASE = timedelta(seconds=120)
CALL_LEASE = timedelta(seconds=300)  # > attempts x (timeout + backoff) of any adapter
# a full push's round: its SKUs go in one bulk feed (the adapter splits at the marketplace's
# own maximum), so 100,000 SKUs are ten feeds, not two hundred: feeds are rate limited hard
FULL_BATCH = 10_000
SCHEDULE_CHECK = timedelta(seconds=30)  # how often price rules starting or ending are looked for
WORKER = "system:marketplaces"
ORDER_TOPICS = ("order.shipped", "order.cancelled", "order.fulfilment_cancelled")
_db_time = converter(m.MarketplaceListing, "changed_at")


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts, 0), MAX_BACKOFF))


def build_adapter(
    account: MarketplaceAccount, buckets: Buckets, *, transport: Any = None
) -> Marketplace:
    """The adapter of an account's API."""
    if account.kind is MarketplaceKind.AMAZON:
        from adapters.marketplaces.amazon import AmazonMarketplace

        return AmazonMarketplace(account, buckets=buckets, transport=transport)
    if account.kind is MarketplaceKind.WALMART:
        from adapters.marketplaces.walmart import WalmartMarketplace

        return WalmartMarketplace(account, buckets=buckets, transport=transport)
    from adapters.marketplaces.ebay import EbayMarketplace

    return EbayMarketplace(account, buckets=buckets, transport=transport)


@dataclass(frozen=True, slots=True)
class Event:
    """One published outbox event, as the engine reads it from the stream."""

    id: str
    topic: str
    payload: Mapping[str, Any]


@dataclass(slots=True)
class PushReport:
    """What one push round did on one channel."""

    claimed: int = 0
    pushed: int = 0
    unchanged: int = 0
    rejected: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Claim:
    id: int
    variant_id: int
    sku: str
    version: int
    attempts: int
    pushed_quantity: int | None
    pushed_price: int | None


@dataclass
class MarketplaceSync:
    """Every configured marketplace account, and the work between them and the one truth."""

    uow: UnitOfWorkFactory
    clock: Clock
    adapters: dict[str, Marketplace]  # by channel handle
    queries: Any  # CatalogQueries: prices and availability in batches
    bulk_threshold: int = 200
    batch: int = 500
    _channels: dict[str, Channel] = field(default_factory=dict)
    _checked_at: datetime | None = None  # scheduled prices are looked at from here

    # ------------------------------------------------------------------ channels

    async def channels(self, *, fresh: bool = False) -> dict[str, Channel]:
        """The marketplace channels that have an account (read once; ``fresh`` reads again)."""
        if fresh or not self._channels:
            every = await self.queries.channels()
            self._channels = {
                h: c
                for h, c in every.items()
                if h in self.adapters and c.kind is ChannelKind.MARKETPLACE
            }
        return self._channels

    async def channel(self, handle: str) -> Channel | None:
        return (await self.channels()).get(handle) or (await self.channels(fresh=True)).get(handle)

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()

    # ------------------------------------------------------------------ events in

    async def handle(self, events: Sequence[Event]) -> None:
        """Apply a batch of published events (idempotent: a batch seen twice changes nothing
        more than once)."""
        ids: set[int] = set()
        everything = False
        orders: list[Event] = []
        notified: list[tuple[str, list[str]]] = []
        for event in events:
            if event.topic == "stock.changed":
                if "variantIds" in event.payload:
                    ids.update(int(v) for v in event.payload["variantIds"])
                else:
                    everything = True
            elif event.topic == "price.changed":
                if "variantIds" in event.payload:
                    ids.update(int(v) for v in event.payload["variantIds"])
                else:
                    everything = True
            elif event.topic in ORDER_TOPICS:
                orders.append(event)
            elif event.topic == "marketplace.notified":
                notified.append((str(event.payload["channel"]), list(event.payload["orderIds"])))
        channels = list((await self.channels()).values())
        if everything:
            await self.mark(channels, None)
        elif ids:
            await self.mark(channels, sorted(ids))
        if orders:
            await self._owe_for(orders)
        for handle, order_ids in notified:
            await self.import_ids(handle, order_ids)

    async def mark(self, channels: Iterable[Channel], variant_ids: Sequence[int] | None) -> int:
        """Mark SKUs dirty on each channel (every live variant when ``variant_ids`` is None);
        a row refused or dead before is queued again. Returns the rows marked."""
        client = connections.get("default")
        postgres = client.capabilities.dialect == "postgres"
        now = _db_time(self.clock.now()) if not postgres else self.clock.now()
        marked = 0
        for channel in channels:
            params: list[Any] = [channel.id, now]
            # every live variant, and those listed before (an archived one goes to 0)
            where = (
                "(archived = FALSE OR id IN (SELECT variant_id FROM marketplace_listing"
                f" WHERE channel_id = {int(channel.id)}))"
            )
            if variant_ids is not None:  # named variants, archived or not
                if not variant_ids:
                    continue
                if postgres:
                    where = "id = ANY($3)"
                    params.append(list(variant_ids))
                else:
                    where = f"id IN ({','.join(str(int(v)) for v in variant_ids)})"
            sql = (
                "INSERT INTO marketplace_listing (channel_id, variant_id, sku, dirty, version,"
                " changed_at, state, attempts)"
                " SELECT {p1}, id, sku, TRUE, 1, {p2}, 'PENDING', 0 FROM variant WHERE "
                + where
                + " ON CONFLICT (channel_id, variant_id) DO UPDATE SET dirty = TRUE,"
                " version = marketplace_listing.version + 1,"
                " changed_at = COALESCE(marketplace_listing.changed_at, excluded.changed_at),"
                " attempts = CASE WHEN marketplace_listing.state IN ('DEAD', 'REJECTED')"
                " THEN 0 ELSE marketplace_listing.attempts END,"
                " next_attempt_at = CASE WHEN marketplace_listing.state IN ('DEAD', 'REJECTED')"
                " THEN NULL ELSE marketplace_listing.next_attempt_at END,"
                " state = CASE WHEN marketplace_listing.state IN ('DEAD', 'REJECTED')"
                " THEN 'PENDING' ELSE marketplace_listing.state END"
            )
            sql = sql.replace("{p1}", "$1" if postgres else "?").replace(
                "{p2}", "$2" if postgres else "?"
            )
            count, _ = await client.execute_query(sql, params)
            marked += int(count or 0)
        return marked

    async def mark_scheduled(self, since: datetime, until: datetime) -> int:
        """Mark the variants whose price rules started or ended in (since, until]: a sale
        that begins at midnight changes marketplace prices with no edit to announce it."""
        rows = await m.Price.filter(
            Q(starts_at__gt=since, starts_at__lte=until) | Q(ends_at__gt=since, ends_at__lte=until)
        ).values_list("variant_id", flat=True)
        ids = sorted({int(v) for v in rows})
        if not ids:
            return 0
        return await self.mark(list((await self.channels()).values()), ids)

    async def _owe_for(self, events: Sequence[Event]) -> None:
        async with self.uow() as uow:
            for event in events:
                order_id = int(event.payload["orderId"])
                link = await uow.marketplaces.link_of_order(order_id)
                if link is None or link.state is not LinkState.IMPORTED:
                    continue
                payload: dict[str, object] = {"orderId": order_id}
                if event.topic == "order.shipped":
                    kind = ActionKind.SHIP
                    payload |= {
                        "fulfilmentId": event.payload.get("fulfilmentId"),
                        "carrier": event.payload.get("carrier"),
                        "trackingNumber": event.payload.get("trackingNumber"),
                        "shippedAt": self.clock.now().isoformat(),
                    }
                else:
                    kind = ActionKind.CANCEL
                    payload["fulfilmentId"] = event.payload.get("fulfilmentId")
                    payload["reason"] = event.payload.get("reason") or "cancelled by the seller"
                await uow.marketplaces.owe(
                    ActionDraft(
                        link.channel_id,
                        f"{kind.value.lower()}:{event.id}",
                        kind,
                        link.external_id,
                        payload,
                    )
                )

    # ------------------------------------------------------------------ listings out

    async def push_due(
        self, handle: str, *, limit: int | None = None, force: bool = False
    ) -> PushReport:
        """One round on one channel: lease due dirty rows, push what changed, record answers."""
        report = PushReport()
        channel = await self.channel(handle)
        if channel is None:
            return report
        claims = await self._claim(channel, limit or self.batch)
        report.claimed = len(claims)
        if not claims:
            return report
        wanted = await self._wanted(channel, [c.variant_id for c in claims])
        to_push: list[tuple[_Claim, Listing]] = []
        done: list[tuple[_Claim, Listing | None, str | None]] = []
        for claim in claims:
            listing = wanted.get(claim.variant_id)
            if listing is None:
                done.append((claim, None, "no price in this channel's currency"))
            elif not force and (listing.quantity, listing.price) == (
                claim.pushed_quantity,
                claim.pushed_price,
            ):
                done.append((claim, listing, None))
            else:
                to_push.append((claim, listing))
        report.unchanged = sum(1 for _, listing, _ in done if listing is not None)
        report.rejected = len(done) - report.unchanged
        await self._record(channel, done, pushed=False)
        if not to_push:
            return report
        adapter = self.adapters[handle]
        listings = [listing for _, listing in to_push]
        try:
            # per-SKU calls until the bulk feed is the quicker way for this marketplace
            threshold = getattr(adapter, "bulk_threshold", self.bulk_threshold)
            if len(listings) > threshold:
                results = await adapter.push_bulk(listings)
            else:
                results = await adapter.push_listings(listings)
        except MarketplaceFailure as failure:
            await self._failed(channel, [c for c, _ in to_push], failure)
            report.failed = len(to_push)
            return report
        by_sku = {r.sku: r for r in results}
        answered: list[tuple[_Claim, Listing | None, str | None]] = []
        for claim, listing in to_push:
            result = by_sku.get(claim.sku) or PushResult(claim.sku, False, "no answer for SKU")
            if result.accepted:
                answered.append((claim, listing, None))
                report.pushed += 1
            else:
                answered.append((claim, None, result.error or "refused"))
                report.rejected += 1
        await self._record(channel, answered, pushed=True)
        return report

    async def _claim(self, channel: Channel, limit: int) -> list[_Claim]:
        now = self.clock.now()
        async with in_transaction("default") as conn:
            query = (
                m.MarketplaceListing.filter(channel_id=channel.id, dirty=True)
                .filter(next_attempt_at__isnull=True)
                .using_db(conn)
            )
            due = m.MarketplaceListing.filter(
                channel_id=channel.id, dirty=True, next_attempt_at__lte=now
            ).using_db(conn)
            rows: list[m.MarketplaceListing] = []
            for q in (query, due):
                q = (
                    q.filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
                    .order_by("id")
                    .limit(limit - len(rows))
                )
                if conn.capabilities.dialect == "postgres":
                    q = q.select_for_update(skip_locked=True)
                if len(rows) < limit:
                    rows.extend(await q)
            if rows:
                await (
                    m.MarketplaceListing.filter(id__in=[r.id for r in rows])
                    .using_db(conn)
                    .update(leased_until=now + LEASE)
                )
        return [
            _Claim(
                r.id, r.variant_id, r.sku, r.version, r.attempts, r.pushed_quantity, r.pushed_price
            )
            for r in rows
        ]

    async def _wanted(self, channel: Channel, variant_ids: Sequence[int]) -> dict[int, Listing]:
        """What the marketplace should show now for each variant (absent: no price)."""
        rules = await self.queries.prices_by_variant_ids(variant_ids, channel.currency)
        totals = await self.queries.available_totals(variant_ids, channel.location_ids)
        skus = await self._skus(variant_ids)
        at = self.clock.now()
        wanted = {}
        for variant_id in variant_ids:
            quote = price_for(
                rules.get(variant_id, []),
                currency=channel.currency,
                channel=channel.handle,
                tier=None,
                at=at,
            )
            if quote is None or variant_id not in skus:
                continue
            sku, on_sale = skus[variant_id]
            total = totals.get(variant_id, 0) if on_sale else 0  # archived: none to sell
            quantity = channel.rule.sellable(total)
            wanted[variant_id] = Listing(sku, quantity, quote.price.amount, channel.currency)
        return wanted

    async def _skus(self, variant_ids: Sequence[int]) -> dict[int, tuple[str, bool]]:
        """Each variant's SKU, and whether it is on sale (live, of an ACTIVE product)."""
        rows = await m.Variant.filter(id__in=list(variant_ids)).values_list(
            "id", "sku", "archived", "product__status"
        )
        return {int(i): (str(s), not a and st == "ACTIVE") for i, s, a, st in rows}

    async def _record(
        self,
        channel: Channel,
        outcomes: Sequence[tuple[_Claim, Listing | None, str | None]],
        *,
        pushed: bool,
    ) -> None:
        """Accepted (or already shown): the pushed values, the mark cleared unless a newer one
        came; refused: REJECTED with the marketplace's words until the SKU changes again."""
        if not outcomes:
            return
        now = self.clock.now()
        client = connections.get("default")
        postgres = client.capabilities.dialect == "postgres"
        at = now if postgres else _db_time(now)
        ok_sql = (
            "UPDATE marketplace_listing SET pushed_quantity = {p}, pushed_price = {p},"
            " currency = {p}, last_push_at = CASE WHEN {p} THEN {p} ELSE last_push_at END,"
            " state = 'OK', attempts = 0, next_attempt_at = NULL, last_error = NULL,"
            " leased_until = NULL, dirty = (version <> {p}),"
            " changed_at = CASE WHEN version = {p} THEN NULL ELSE changed_at END WHERE id = {p}"
        )
        bad_sql = (
            "UPDATE marketplace_listing SET state = 'REJECTED', last_error = {p},"
            " leased_until = NULL, dirty = (version <> {p}),"
            " changed_at = CASE WHEN version = {p} THEN NULL ELSE changed_at END WHERE id = {p}"
        )
        ok, bad = [], []
        for claim, listing, error in outcomes:
            if listing is not None:
                ok.append(
                    [
                        listing.quantity,
                        listing.price,
                        listing.currency,
                        pushed,
                        at,
                        claim.version,
                        claim.version,
                        claim.id,
                    ]
                )
            else:
                bad.append([(error or "refused")[:500], claim.version, claim.version, claim.id])
        for sql, values in ((ok_sql, ok), (bad_sql, bad)):
            if values:
                await client.execute_many(_numbered(sql, postgres), values)

    async def _failed(
        self, channel: Channel, claims: Sequence[_Claim], failure: MarketplaceFailure
    ) -> None:
        now = self.clock.now()
        message = str(failure)[:500]
        async with in_transaction("default") as conn:
            for claim in claims:
                attempts = claim.attempts + 1
                dead = attempts >= MAX_ATTEMPTS or not failure.retryable
                state = ("DEAD" if failure.retryable else "REJECTED") if dead else "RETRYING"
                await (
                    m.MarketplaceListing.filter(id=claim.id)
                    .using_db(conn)
                    .update(
                        state=state,
                        attempts=attempts,
                        next_attempt_at=None if dead else now + _backoff(attempts),
                        last_error=message,
                        leased_until=None,
                        dirty=not dead,
                    )
                )
        log.warning("%s: push of %d SKUs failed: %s", channel.handle, len(claims), message)

    async def full_push(
        self,
        handle: str,
        *,
        progress: Callable[[int], None] | None = None,
        force: bool = True,
        mark: bool = True,
    ) -> PushReport:
        """Mark every SKU of the channel and push them all in rounds of ``batch`` (bulk
        feeds); ``force`` pushes even what the marketplace was last told."""
        channel = await self.channel(handle)
        total = PushReport()
        if channel is None:
            return total
        if mark:
            await self.mark([channel], None)
        left = await self.dirty_count(handle) if progress is not None else 0
        while True:
            report = await self.push_due(handle, limit=FULL_BATCH, force=force)
            for name in ("claimed", "pushed", "unchanged", "rejected", "failed"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if progress is not None:  # also what other workers pushed meanwhile
                now_left = await self.dirty_count(handle)
                progress(max(0, left - now_left))
                left = now_left
            if report.claimed and report.failed == report.claimed:
                break  # the marketplace is down: the rows wait for their backoff
            if report.claimed == 0:
                leased = await m.MarketplaceListing.filter(
                    channel_id=channel.id, dirty=True, leased_until__gt=self.clock.now()
                ).count()
                if leased == 0:
                    break
                await asyncio.sleep(0.5)  # another worker is pushing rows: wait for it
        await m.MarketplaceAccountState.update_or_create(
            defaults={"last_full_push_at": self.clock.now()}, channel_id=channel.id
        )
        return total

    async def dirty_count(self, handle: str) -> int:
        channel = await self.channel(handle)
        if channel is None:
            return 0
        return await m.MarketplaceListing.filter(channel_id=channel.id, dirty=True).count()

    # ------------------------------------------------------------------ orders in

    async def import_orders(self, handle: str) -> dict[str, int]:
        """Pull the orders changed since the account's cursor and bring each in."""
        channel = await self.channel(handle)
        counts: dict[str, int] = {}
        if channel is None:
            return counts
        state, _ = await m.MarketplaceAccountState.get_or_create(channel_id=channel.id)
        since = state.orders_cursor  # each adapter overlaps its own pulls as its API needs
        try:
            page = await self.adapters[handle].orders_since(since)
        except MarketplaceFailure as failure:
            state.last_import_error = str(failure)[:500]
            await state.save()
            raise
        for pulled in page.orders:
            outcome = await self._import(channel, pulled)
            counts[outcome.outcome.value] = counts.get(outcome.outcome.value, 0) + 1
        if state.orders_cursor is None or page.cursor > state.orders_cursor:
            state.orders_cursor = page.cursor  # never backwards
        state.last_import_at = self.clock.now()
        state.last_import_error = None
        await state.save()
        return counts

    async def import_ids(self, handle: str, order_ids: Sequence[str]) -> list[Imported]:
        """Bring in the orders a notification named (fetched from the marketplace: the
        notification's own content is never trusted)."""
        channel = await self.channel(handle)
        if channel is None:
            return []
        done = []
        for order_id in dict.fromkeys(order_ids):
            pulled = await self.adapters[handle].order(order_id)
            if pulled is not None:
                done.append(await self._import(channel, pulled))
        return done

    async def _import(self, channel: Channel, pulled: Any) -> Imported:
        try:
            async with self.uow() as uow:
                return await import_order(uow, channel, pulled, at=self.clock.now())
        except Exception as error:  # one bad order must not stop the others: flagged, kept
            log.exception("%s: order %s could not be imported", channel.handle, pulled.order_id)
            reason = f"could not be imported: {type(error).__name__}: {error}"[:500]
            async with self.uow() as uow:
                await flag(uow, channel, pulled, reason=reason)
            return Imported(Outcome.FLAGGED, reason=reason)

    async def retry_flagged(self, handle: str, external_id: str) -> Imported | None:
        """Place a flagged marketplace order again (stock arrived, the SKU was created)."""
        found = await self.import_ids(handle, [external_id])
        return found[0] if found else None

    # ------------------------------------------------------------------ calls back

    async def owe_refunds(self) -> int:
        """Refunds owed through the MARKETPLACE tender for returned goods become REFUND calls
        (a cancellation's refund is the marketplace's part of the cancel call)."""
        pending = await m.PaymentRefund.filter(
            tender=Tender.MARKETPLACE.value,
            state=RefundState.PENDING.value,
            return_id__isnull=False,
        ).order_by("id")
        keys = [f"refund:{r.id}" for r in pending]
        asked = set(await m.MarketplaceAction.filter(key__in=keys).values_list("key", flat=True))
        owed = 0
        for refund in (r for r in pending if f"refund:{r.id}" not in asked):
            async with self.uow() as uow:
                link = await uow.marketplaces.link_of_order(refund.order_id)
                if link is None:
                    continue
                lines = await self._refund_lines(
                    refund.order_id, refund.return_id, refund.amount, link.order
                )
                payload = {
                    "orderId": refund.order_id,
                    "refundId": refund.id,
                    "lines": lines,
                    "reason": refund.reason or "returned",
                }
                draft = ActionDraft(
                    link.channel_id,
                    f"refund:{refund.id}",
                    ActionKind.REFUND,
                    link.external_id,
                    payload,
                )
                owed += int(await uow.marketplaces.owe(draft))
        return owed

    async def _refund_lines(
        self, order_id: int, return_id: int | None, amount: int, pulled: Any
    ) -> list[dict[str, object]]:
        """The returned lines with the refund's amount spread over them (exactly)."""
        returned = await m.OrderReturn.get_or_none(id=return_id) if return_id else None
        quantities: dict[int, int] = {}
        if returned is not None:
            quantities = {int(x["orderLineId"]): int(x["quantity"]) for x in returned.lines}
        order_lines = await m.OrderLine.filter(order_id=order_id).order_by("id")
        by_sku = {ln.sku: ln.line_id for ln in pulled.lines}
        chosen = [(ln, quantities.get(ln.id, 0)) for ln in order_lines if quantities.get(ln.id)]
        if not chosen:
            chosen = [(ln, ln.quantity) for ln in order_lines]
        weights = [ln.unit_price * q for ln, q in chosen]
        shares = _spread(amount, weights)
        return [
            {"lineId": by_sku.get(ln.sku, ""), "sku": ln.sku, "quantity": q, "amount": share}
            for (ln, q), share in zip(chosen, shares, strict=True)
        ]

    async def run_actions(self, *, limit: int = 50) -> int:
        """Make the calls owed that are due; returns how many finished (done or dead)."""
        now = self.clock.now()
        rows = (
            await m.MarketplaceAction.filter(state__in=["PENDING", "SENDING"])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .order_by("id")
            .limit(limit)
        )
        finished = 0
        for row in rows:
            finished += await self._act(row.id)
        return finished

    async def _act(self, action_id: int) -> int:
        now = self.clock.now()
        async with in_transaction("default") as conn:
            query = m.MarketplaceAction.filter(id=action_id).using_db(conn)
            if conn.capabilities.dialect == "postgres":
                query = query.select_for_update(skip_locked=True)
            row = await query.first()
            if row is None or row.state not in ("PENDING", "SENDING"):
                return 0
            if row.next_attempt_at is not None and row.next_attempt_at > now:
                return 0
            resent = row.state == "SENDING"
            row.state, row.attempts = "SENDING", row.attempts + 1
            # leased for longer than a call may take (every retry and timeout of the adapter):
            # no second worker makes it meanwhile; after a crash, it is looked at again then
            row.next_attempt_at = now + CALL_LEASE
            await row.save(using_db=conn)
        channel = next(
            (c for c in (await self.channels()).values() if c.id == row.channel_id), None
        )
        link = await m.MarketplaceOrder.get_or_none(
            channel_id=row.channel_id, external_id=row.external_id
        )
        if channel is None or link is None:
            await self._action_end(row, "DEAD", "no marketplace account or order for it")
            return 1
        adapter = self.adapters[channel.handle]
        pulled = order_from_json(dict(link.data))
        kind = ActionKind(row.kind)
        try:
            if resent and await self._took_effect(adapter, kind, pulled.order_id):
                await self._after(row, kind)
                return 1
            await self._call(adapter, kind, pulled, dict(row.payload))
        except MarketplaceFailure as failure:
            if kind is ActionKind.CANCEL and not failure.retryable:
                return await self._cancel_by_refund(adapter, row, pulled, failure)
            if failure.retryable and row.attempts < MAX_ATTEMPTS:
                await self._later(row, str(failure))
                return 0
            await self._action_end(row, "DEAD", str(failure))
            if kind is ActionKind.REFUND:
                await self._refund_failed(row, str(failure))
            return 1
        await self._after(row, kind)
        return 1

    async def _took_effect(self, adapter: Marketplace, kind: ActionKind, order_id: str) -> bool:
        """After a crash mid-call: whether the marketplace shows the call's effect already."""
        if kind is ActionKind.ACKNOWLEDGE:
            return False  # acknowledging twice is harmless
        current = await adapter.order(order_id)
        if current is None:
            return False
        effect = {
            ActionKind.SHIP: (MarketplaceOrderStatus.SHIPPED,),
            ActionKind.CANCEL: (MarketplaceOrderStatus.CANCELLED, MarketplaceOrderStatus.REFUNDED),
            ActionKind.REFUND: (MarketplaceOrderStatus.REFUNDED,),
        }[kind]
        return current.status in effect

    async def _call(
        self, adapter: Marketplace, kind: ActionKind, pulled: Any, payload: dict[str, Any]
    ) -> None:
        if kind is ActionKind.ACKNOWLEDGE:
            await adapter.acknowledge(pulled)
            return
        if kind is ActionKind.REFUND:
            lines = [
                ShippedLine(str(x["lineId"]), str(x["sku"]), int(x["quantity"]), int(x["amount"]))
                for x in payload["lines"]
            ]
            await adapter.refund(pulled, lines, reason=str(payload.get("reason", "returned")))
            return
        lines = await self._lines_of(payload, pulled)
        if kind is ActionKind.SHIP:
            shipment = Shipment(
                carrier=str(payload.get("carrier") or "Other"),
                tracking_number=str(payload.get("trackingNumber") or ""),
                shipped_at=datetime.fromisoformat(str(payload["shippedAt"])),
                lines=tuple(lines),
            )
            await adapter.confirm_shipment(pulled, shipment)
        else:
            await adapter.cancel(pulled, lines, reason=str(payload.get("reason") or "cancelled"))

    async def _lines_of(self, payload: Mapping[str, Any], pulled: Any) -> list[ShippedLine]:
        """The marketplace lines of a fulfilment of ours (every line when none is named)."""
        left: dict[int, int] | None = None
        fulfilment_id = payload.get("fulfilmentId")
        if fulfilment_id:
            row = await m.Fulfilment.get_or_none(id=int(fulfilment_id))
            if row is not None:
                left = {int(x["variantId"]): int(x["quantity"]) for x in row.lines}
        skus = [ln.sku for ln in pulled.lines]
        variant_of = dict(await m.Variant.filter(sku__in=skus).values_list("sku", "id"))
        lines = []
        for ln in pulled.lines:
            quantity = ln.quantity - ln.cancelled
            if left is not None:
                variant_id = variant_of.get(ln.sku)
                quantity = min(quantity, left.get(variant_id, 0)) if variant_id else 0
                if variant_id:
                    left[variant_id] = left.get(variant_id, 0) - quantity
            if quantity > 0:
                lines.append(ShippedLine(ln.line_id, ln.sku, quantity))
        return lines

    async def _cancel_by_refund(
        self,
        adapter: Marketplace,
        row: m.MarketplaceAction,
        pulled: Any,
        failure: MarketplaceFailure,
    ) -> int:
        """A marketplace whose API lets no seller cancel (eBay here): the buyer gets the
        money of the cancelled lines back through a refund instead."""
        lines = await self._lines_of(dict(row.payload), pulled)
        refund_lines = [
            ShippedLine(
                ln.line_id,
                ln.sku,
                ln.quantity,
                next(x.unit_price for x in pulled.lines if x.line_id == ln.line_id) * ln.quantity,
            )
            for ln in lines
        ]
        try:
            await adapter.refund(pulled, refund_lines, reason="cancelled by the seller")
        except MarketplaceFailure as second:
            if second.retryable and row.attempts < MAX_ATTEMPTS:
                await self._later(row, str(second))
                return 0
            await self._action_end(row, "DEAD", f"{failure}; refund instead: {second}")
            return 1
        await self._after(row, ActionKind.CANCEL)
        return 1

    async def _after(self, row: m.MarketplaceAction, kind: ActionKind) -> None:
        """The call took effect: the row DONE, and what it settles here."""
        async with self.uow() as uow:
            payload = dict(row.payload)
            if kind is ActionKind.CANCEL and payload.get("orderId"):
                await settle_by_marketplace(
                    uow, int(payload["orderId"]), reference=f"marketplace cancel {row.external_id}"
                )
            if kind is ActionKind.REFUND and payload.get("refundId"):
                order = await uow.orders.get(int(payload["orderId"]), for_update=True)
                refund = await uow.payments.get_refund(int(payload["refundId"]), for_update=True)
                if order and refund and refund.state is RefundState.PENDING:
                    await _succeeded(
                        uow, order, refund, reference=f"marketplace {row.external_id}", who=WORKER
                    )
        await self._action_end(row, "DONE", None)

    async def _refund_failed(self, row: m.MarketplaceAction, error: str) -> None:
        payload = dict(row.payload)
        async with self.uow() as uow:
            order = await uow.orders.get(int(payload["orderId"]), for_update=True)
            refund = await uow.payments.get_refund(int(payload["refundId"]), for_update=True)
            if order and refund and refund.state is RefundState.PENDING:
                await _failed(uow, order, refund, error=error, who=WORKER)

    async def _later(self, row: m.MarketplaceAction, error: str) -> None:
        """The marketplace was unavailable: try again after the backoff of this attempt."""
        row.state, row.last_error = "PENDING", error[:500]
        row.next_attempt_at = self.clock.now() + _backoff(row.attempts)
        await row.save()

    async def _action_end(self, row: m.MarketplaceAction, state: str, error: str | None) -> None:
        row.state, row.last_error, row.next_attempt_at = state, (error or None), None
        if error:
            row.last_error = error[:500]
        await row.save()

    # ------------------------------------------------------------------ the worker's loops

    async def tick(self, *, import_orders: bool) -> None:
        """One round of everything: prices that started or ended since the last round,
        pushes, owed calls, and (when due) the order import."""
        now = self.clock.now()
        if self._checked_at is None:
            self._checked_at = now
        elif now - self._checked_at >= SCHEDULE_CHECK:
            await self.mark_scheduled(self._checked_at, now)
            self._checked_at = now
        await asyncio.gather(*(self._round(h, import_orders) for h in list(self.adapters)))
        await self.owe_refunds()
        await self.run_actions()

    async def _round(self, handle: str, import_orders: bool) -> None:
        """One channel's round; the channels' rounds run side by side (a slow marketplace,
        or one waiting for its bulk feed, holds up no other)."""
        try:
            while (await self.push_due(handle)).claimed >= self.batch:
                pass
            if import_orders:
                await self.import_orders(handle)
        except MarketplaceFailure as failure:
            log.warning("%s: %s", handle, failure)


def _numbered(sql: str, postgres: bool) -> str:
    if not postgres:
        return sql.replace("{p}", "?")
    n = 0
    while "{p}" in sql:
        n += 1
        sql = sql.replace("{p}", f"${n}", 1)
    return sql


def _spread(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` in integer parts proportional to ``weights``, summing to it exactly."""
    total = sum(weights)
    if not weights:
        return []
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    parts = [amount * w // total for w in weights]
    for i in range(amount - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


async def sleep_until(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds`` or until ``event`` is set (then clear it)."""
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        return
    event.clear()
