"""Marketplace orders into the one order truth.

A pulled marketplace order is placed through ``place_order`` like every channel's: channel =
the marketplace account, ``external_reference`` = the marketplace's order id, routed to a
location by the channel's rules, its stock reserved until the location ships it, paid (the
marketplace collected the money: one MARKETPLACE tender). The import is idempotent by the
marketplace order id (a link row, unique per channel). An order that cannot be placed (an
unknown SKU, stock sold elsewhere meanwhile) is flagged with the reason, never dropped; staff
see it and retry it. Later pulls of the same order bring the marketplace's cancellations in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.channels.model import Channel
from domain.contact import canonical_email, canonical_phone
from domain.errors import DomainError
from domain.inventory.model import available_to_sell
from domain.marketplaces.model import (
    ActionDraft,
    ActionKind,
    LinkState,
    MarketplaceErrorCode,
    MarketplaceOrder,
    MarketplaceOrderStatus,
    OrderLink,
)
from domain.money import Money
from domain.orders.checkout import serving_sites
from domain.orders.model import (
    Address,
    Buyer,
    Delivery,
    FulfilmentDraft,
    OrderDraft,
    OrderLine,
    Routing,
    totals,
)
from domain.orders.placing import Placement, place_order
from domain.orders.reversal import Reversal, reverse
from domain.orders.routing import DeliveryMethod, RoutingDecision, route
from domain.orders.states import (
    LEFT,
    Actor,
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)
from domain.payments.model import Payment, PaymentState, RefundState, Tender
from domain.payments.refunds import _succeeded
from domain.ports import UnitOfWork

IMPORTER = "system:marketplaces"
HOLD = timedelta(days=60)  # a paid order's stock stays reserved until the location ships it


class Outcome(StrEnum):
    """What one pull of a marketplace order did here."""

    PLACED = "PLACED"
    FLAGGED = "FLAGGED"
    CANCELLED = "CANCELLED"  # our order cancelled because the marketplace cancelled it
    UNCHANGED = "UNCHANGED"
    WAITING = "WAITING"  # not to be fulfilled yet (payment pending at the marketplace)


@dataclass(frozen=True, slots=True)
class Imported:
    """The outcome for one marketplace order, and our order when there is one."""

    outcome: Outcome
    order_id: int | None = None
    reason: str | None = None


class _Flag(Exception):
    def __init__(self, code: MarketplaceErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def import_order(
    uow: UnitOfWork, channel: Channel, pulled: MarketplaceOrder, *, at: datetime
) -> Imported:
    """Bring one pulled marketplace order in, in the caller's transaction (see the module)."""
    link = await uow.marketplaces.link(channel.id, pulled.order_id, for_update=True)
    if link is not None and link.state is not LinkState.FLAGGED:
        return await _follow(uow, link, pulled, at=at)
    if pulled.status is MarketplaceOrderStatus.PENDING:
        return Imported(Outcome.WAITING)
    if pulled.status is not MarketplaceOrderStatus.UNSHIPPED:
        state = LinkState.CANCELLED if _cancelled(pulled) else LinkState.FLAGGED
        reason = None if state is LinkState.CANCELLED else f"first seen {pulled.status.value}"
        await _keep(uow, link, channel, pulled, state=state, reason=reason)
        return Imported(Outcome.UNCHANGED if state is LinkState.CANCELLED else Outcome.FLAGGED)
    try:
        order_id = await _place(uow, channel, pulled, at=at)
    except _Flag as flag:
        await _keep(uow, link, channel, pulled, state=LinkState.FLAGGED, reason=flag.reason,
                    code=flag.code)  # fmt: skip
        return Imported(Outcome.FLAGGED, reason=flag.reason)
    await _keep(uow, link, channel, pulled, state=LinkState.IMPORTED, order_id=order_id)
    await uow.marketplaces.owe(
        ActionDraft(
            channel.id,
            f"ack:{channel.id}:{pulled.order_id}",
            ActionKind.ACKNOWLEDGE,
            pulled.order_id,
        )
    )
    return Imported(Outcome.PLACED, order_id)


def _cancelled(pulled: MarketplaceOrder) -> bool:
    return pulled.status in (MarketplaceOrderStatus.CANCELLED, MarketplaceOrderStatus.REFUNDED)


async def _keep(
    uow: UnitOfWork,
    link: OrderLink | None,
    channel: Channel,
    pulled: MarketplaceOrder,
    *,
    state: LinkState,
    order_id: int | None = None,
    reason: str | None = None,
    code: MarketplaceErrorCode | None = None,
) -> None:
    kept = OrderLink(
        id=link.id if link else 0,
        channel_id=channel.id,
        external_id=pulled.order_id,
        state=state,
        marketplace_status=pulled.status,
        order=pulled,
        order_id=order_id,
        flag_code=(code or MarketplaceErrorCode.UNFULFILLABLE).value if reason else None,
        flag_reason=reason[:500] if reason else None,
    )
    await uow.marketplaces.save_link(kept)


async def _follow(
    uow: UnitOfWork, link: OrderLink, pulled: MarketplaceOrder, *, at: datetime
) -> Imported:
    """A marketplace order seen before: its cancellation at the marketplace cancels ours
    (its stock back on sale) unless goods have left; anything else only updates the link."""
    if pulled.updated_at <= link.order.updated_at and pulled.status is link.marketplace_status:
        return Imported(Outcome.UNCHANGED, link.order_id)
    outcome = Outcome.UNCHANGED
    if _cancelled(pulled) and link.state is LinkState.IMPORTED and link.order_id is not None:
        order = await uow.orders.get(link.order_id, for_update=True)
        if order is not None and order.status not in (OrderStatus.CANCELLED,):
            if any(f.status in LEFT for f in order.fulfilments):
                link.flag_code = MarketplaceErrorCode.REJECTED.value
                link.flag_reason = "cancelled at the marketplace after the goods left"
            else:
                undo = Reversal(reason="cancelled at the marketplace")
                await reverse(uow, order, undo, actor=Actor.SYSTEM, who=IMPORTER, at=at)
                await settle_by_marketplace(uow, order.id, reference="marketplace cancellation")
                outcome = Outcome.CANCELLED
    link.order = pulled
    link.marketplace_status = pulled.status
    await uow.marketplaces.save_link(link)
    return Imported(outcome, link.order_id)


async def flag(uow: UnitOfWork, channel: Channel, pulled: MarketplaceOrder, *, reason: str) -> None:
    """Keep a marketplace order that failed to import as FLAGGED (unless already placed)."""
    link = await uow.marketplaces.link(channel.id, pulled.order_id, for_update=True)
    if link is None or link.state is LinkState.FLAGGED:
        await _keep(uow, link, channel, pulled, state=LinkState.FLAGGED, reason=reason,
                    code=MarketplaceErrorCode.REJECTED)  # fmt: skip


async def settle_by_marketplace(uow: UnitOfWork, order_id: int, *, reference: str) -> None:
    """Refunds a cancellation owes through the MARKETPLACE tender are the marketplace's to pay
    (it refunds its buyer when an order is cancelled): record them as made."""
    order = await uow.orders.get(order_id, for_update=True)
    if order is None:
        return
    for refund in await uow.payments.refunds_for_order(order_id):
        if (
            refund.tender is Tender.MARKETPLACE
            and refund.state is RefundState.PENDING
            and refund.return_id is None
        ):
            await _succeeded(uow, order, refund, reference=reference, who=IMPORTER)


async def _place(
    uow: UnitOfWork, channel: Channel, pulled: MarketplaceOrder, *, at: datetime
) -> int:
    ids = await uow.marketplaces.variant_ids(sorted({ln.sku for ln in pulled.lines}))
    unknown = sorted({ln.sku for ln in pulled.lines} - ids.keys())
    if unknown:
        raise _Flag(MarketplaceErrorCode.UNKNOWN_SKU, f"unknown SKU {', '.join(unknown)}")
    wanted: dict[int, int] = {}
    for ln in pulled.lines:
        if ln.quantity - ln.cancelled > 0:
            wanted[ids[ln.sku]] = wanted.get(ids[ln.sku], 0) + ln.quantity - ln.cancelled
    if not wanted:
        raise _Flag(MarketplaceErrorCode.UNFULFILLABLE, "every line was cancelled")
    keys = [(v, loc) for v in wanted for loc in channel.location_ids]
    levels = await uow.inventory.lock(keys)  # row locks in primary-key order
    for variant_id, quantity in wanted.items():
        held = [lv for (v, _), lv in levels.items() if v == variant_id]
        sellable = available_to_sell(held, rule=channel.rule, serving=channel.location_ids)
        if sellable < quantity:
            sku = next(s for s, v in ids.items() if v == variant_id)
            raise _Flag(
                MarketplaceErrorCode.UNFULFILLABLE,
                f"{sku}: {quantity} ordered, {sellable} left for this channel (sold elsewhere)",
            )
    locations = await uow.locations.all_locations()
    try:
        sites = serving_sites(channel, levels, locations)
        decision = route(wanted, method=DeliveryMethod.SHIP, sites=sites,
                         pickup_location_id=None, destination=None)  # fmt: skip
    except DomainError as error:
        raise _Flag(MarketplaceErrorCode.UNFULFILLABLE, error.message) from None
    titles = await uow.catalog.variants_with_titles(list(wanted))
    draft = replace(
        _draft(channel, pulled, ids, titles, decision), member_id=await _member(uow, pulled)
    )
    how = Placement(levels=levels, reason="marketplace", hold_until=at + HOLD)
    order = await place_order(uow, draft, how, actor=IMPORTER, at=at)
    await uow.payments.add(
        Payment(
            id=0,
            order_id=order.id,
            tender=Tender.MARKETPLACE,
            amount=order.total,
            currency=order.currency,
            state=PaymentState.CAPTURED,
            provider="marketplace",  # the order's channel names which one
            provider_ref=pulled.order_id,
            captured=order.total,
        )
    )
    return order.id


async def _member(uow: UnitOfWork, pulled: MarketplaceOrder) -> int | None:
    """The member with the buyer's verified email or phone (canonical forms), if any: their
    marketplace orders count in their history like every channel's."""
    email = canonical_email(pulled.buyer.email)
    if email is not None:
        found = await uow.members.by_email(email)
        if found is not None and found.email_verified:
            return found.id
    phone = canonical_phone(pulled.buyer.phone)
    if phone is not None:
        found = await uow.members.by_phone(phone)
        if found is not None and found.phone_verified:
            return found.id
    return None


def _draft(
    channel: Channel,
    pulled: MarketplaceOrder,
    ids: dict[str, int],
    titles: Mapping[int, tuple[object, str]],
    decision: RoutingDecision,
) -> OrderDraft:
    lines = []
    subtotal = 0
    for ln in pulled.lines:
        quantity = ln.quantity - ln.cancelled
        if quantity <= 0:
            continue
        variant_id = ids[ln.sku]
        line_total = ln.unit_price * quantity
        subtotal += line_total
        lines.append(
            OrderLine(
                id=0,
                variant_id=variant_id,
                sku=ln.sku,
                title=titles[variant_id][1] if variant_id in titles else ln.sku,
                quantity=quantity,
                unit_price=ln.unit_price,
                compare_at_price=None,
                line_total=line_total,
            )
        )
    money = totals(
        subtotal=Money(subtotal, pulled.currency),
        delivery=Money(pulled.shipping_total, pulled.currency),
        tax_rate_bp=channel.tax_rate_bp,
        prices_include_tax=True,  # marketplaces charge their buyers tax included
    )
    to = pulled.ship_to
    address = Address(
        name=to.get("name"),
        line1=to.get("line1"),
        line2=to.get("line2"),
        city=to.get("city"),
        postal_code=to.get("postal_code"),
        country_code=to.get("country_code"),
    )
    buyer = pulled.buyer
    return OrderDraft(
        channel_id=channel.id,
        channel_handle=channel.handle,
        source=OrderSource.MARKETPLACE,
        status=OrderStatus.PAID,
        payment_status=PaymentStatus.PAID,
        currency=pulled.currency,
        totals=money,
        buyer=Buyer(email=buyer.email, phone=buyer.phone, name=buyer.name or to.get("name")),
        delivery=Delivery(method=FulfilmentMethod.SHIP, address=address),
        routing=Routing(decision.reason, decision.split, tuple(decision.location_ids)),
        lines=tuple(lines),
        fulfilments=tuple(
            FulfilmentDraft(
                location_id=location_id,
                method=FulfilmentMethod.SHIP,
                status=FulfilmentStatus.OPEN,
                lines=tuple(
                    (a.variant_id, a.quantity)
                    for a in decision.allocations
                    if a.location_id == location_id
                ),
            )
            for location_id in decision.location_ids
        ),
        external_reference=pulled.order_id,
        payment_tender=None,
    )
