"""One way to place an order, whatever the channel: web and app checkout, the till, and
marketplace imports all build an ``OrderDraft`` and call ``place_order``.

draft -> order row, lines, fulfilments -> stock (reserved for later, or sold on the spot) ->
promotion uses and vouchers claimed -> points spent -> history and outbox events; and, for an
order completed on the spot, what completion brings (points earned, member tags).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from domain.cart.model import PricedCart
from domain.commissions import services as commissions
from domain.insights.services import refresh_tags
from domain.inventory.model import MovementKind, StockLevel
from domain.loyalty import services as points
from domain.orders.events import OrderCompleted, OrderEvent, OrderPlaced
from domain.orders.model import AppliedDiscount, Order, OrderDraft, OrderLine
from domain.orders.states import OrderStatus
from domain.orders.stock import Key, StockMove, apply
from domain.ports import UnitOfWork
from domain.promotions.model import Evaluation
from domain.promotions.services import claim


@dataclass(frozen=True, slots=True)
class Placement:
    """How the order's stock is taken and what else it spends."""

    levels: dict[Key, StockLevel]  # the stock rows, already locked by the caller
    reason: str  # the ledger's reason ("checkout", "till sale (cash)", "marketplace")
    hold_until: datetime | None = None  # reserve until then; None: sold on the spot
    evaluation: Evaluation | None = None  # promotions to claim
    points_to_redeem: int = 0
    tender: str | None = None  # how a till sale was paid
    # promotions applied without any usage limit (their rows are not locked); None: unknown,
    # every applied promotion is read under lock
    unlimited: frozenset[int] | None = None


async def record(uow: UnitOfWork, event: OrderEvent, *, actor: str) -> None:
    """An order event goes to the order's history and to the outbox, in the same transaction."""
    await uow.orders.add_history(event, actor=actor)
    await uow.outbox.add(event)


async def place_order(
    uow: UnitOfWork, draft: OrderDraft, how: Placement, *, actor: str, at: datetime
) -> Order:
    """Write the order, take its stock, claim its promotions and points, record its events."""
    order = draft.placed(order_id=await uow.orders.add(draft), at=at)
    await commissions.attribute(uow, order, at=at)
    await apply(uow, _moves(draft, how), order_id=order.id, reason=how.reason, actor=actor,
                levels=how.levels)  # fmt: skip
    await _hold(uow, order, draft, how)
    if how.evaluation is not None:
        await claim(uow, how.evaluation, order_id=order.id, member_id=order.member_id,
                    unlimited=how.unlimited)  # fmt: skip
    await _spend_points(uow, order, how, actor=actor, at=at)
    await record(uow, _placed(order), actor=actor)
    if order.status is OrderStatus.COMPLETED:
        event = OrderCompleted(
            order_id=order.id, status=order.status, total=order.total, tender=how.tender
        )
        await complete(uow, order, event, actor=actor, at=at)
    return order


async def write_order(
    uow: UnitOfWork, draft: OrderDraft, how: Placement, *, actor: str, at: datetime
) -> Order:
    """The part of placing an order that needs no lock: the order, its reservations, the uses
    of promotions without limits, its history. ``take_stock`` finishes it under the stock
    locks (an order reserved for later; never one completed on the spot, nor points spent)."""
    assert how.hold_until is not None and how.points_to_redeem == 0
    order = await uow.orders.add_order(draft)
    await commissions.attribute(uow, order, at=at)
    await _hold(uow, order, draft, how)
    if how.evaluation is not None:
        await claim(uow, how.evaluation, order_id=order.id, member_id=order.member_id,
                    unlimited=how.unlimited, phase="unlimited")  # fmt: skip
    await record(uow, _placed(order), actor=actor)
    return order


async def take_stock(
    uow: UnitOfWork, order: Order, draft: OrderDraft, how: Placement, *, actor: str
) -> None:
    """The stock moves of an order written by ``write_order`` (rows locked in ``how.levels``),
    then the promotions with a limit and the vouchers, whose rows are locked after the stock
    rows, as in ``place_order``."""
    await apply(uow, _moves(draft, how), order_id=order.id, reason=how.reason, actor=actor,
                levels=how.levels)  # fmt: skip
    if how.evaluation is not None:
        await claim(uow, how.evaluation, order_id=order.id, member_id=order.member_id,
                    unlimited=how.unlimited, phase="limited")  # fmt: skip


def _moves(draft: OrderDraft, how: Placement) -> list[StockMove]:
    kind = MovementKind.SALE if how.hold_until is None else MovementKind.RESERVATION
    return [
        StockMove(kind, variant_id, f.location_id, quantity)
        for f in draft.fulfilments
        for variant_id, quantity in f.lines
    ]


async def _hold(uow: UnitOfWork, order: Order, draft: OrderDraft, how: Placement) -> None:
    if how.hold_until is not None:
        held = [(m.variant_id, m.location_id, m.quantity) for m in _moves(draft, how)]
        await uow.orders.add_reservations(order.id, held, expires_at=how.hold_until)


async def _spend_points(
    uow: UnitOfWork, order: Order, how: Placement, *, actor: str, at: datetime
) -> None:
    if how.points_to_redeem > 0 and order.member_id is not None:
        value = await points.redeem(
            uow,
            member_id=order.member_id,
            order_id=order.id,
            points=how.points_to_redeem,
            order_total=order.money(order.total),
            at=at,
            actor=actor,
        )
        order.points_redeemed, order.points_value = how.points_to_redeem, value.amount
        await uow.orders.save(order)


def order_lines(priced: PricedCart, discounts: Mapping[int, int]) -> tuple[OrderLine, ...]:
    """The price snapshot of each priced line, with its share of the discounts."""
    return tuple(
        OrderLine(
            id=0,
            variant_id=ln.variant_id,
            sku=ln.sku,
            title=ln.title,
            quantity=ln.quantity,
            unit_price=ln.unit_price.amount if ln.unit_price else 0,
            compare_at_price=ln.compare_at.amount if ln.compare_at else None,
            line_total=ln.line_total.amount if ln.line_total else 0,
            discount=discounts.get(ln.variant_id, 0),
        )
        for ln in priced.lines
    )


def applied_discounts(evaluation: Evaluation) -> tuple[AppliedDiscount, ...]:
    """Each line discount of a promotion evaluation, with its explanation."""
    return tuple(
        AppliedDiscount(d.promotion_id, d.line_id, d.amount.amount, d.explanation)
        for d in evaluation.line_discounts
    )


def _placed(order: Order) -> OrderPlaced:
    return OrderPlaced(
        order_id=order.id,
        channel=order.channel_handle,
        source=order.source,
        total=order.total,
        currency=order.currency,
        routing=order.routing.reason,
    )


async def complete(
    uow: UnitOfWork, order: Order, event: OrderCompleted, *, actor: str, at: datetime
) -> None:
    """The order is completed: recorded, points earned, the member's tags refreshed, the
    commissions of whoever it is attributed to accrued (once)."""
    await record(uow, event, actor=actor)
    await commissions.accrue(uow, order, at=at)
    earned = await points.earn_for_order(uow, order, at=at, actor=actor)
    order.points_earned = earned or order.points_earned  # 0: earned before, or nothing to earn
    await refresh_tags(uow, order, at=at)
