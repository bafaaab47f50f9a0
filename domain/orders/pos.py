"""Sales at a store's till: one completed order of the store's channel, stock taken there,
the member's points and vouchers as online; placed through the same ``place_order``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.cart.model import PricedCart, PricedLine
from domain.channels.model import Channel
from domain.errors import CommonErrorCode, DomainError, NotFound
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.inventory.model import StockLevel
from domain.members.model import check_member_code
from domain.members.presence import require_presence
from domain.money import Money
from domain.orders.access import require_store_staff
from domain.orders.errors import OrderErrorCode
from domain.orders.model import (
    Buyer,
    Delivery,
    FulfilmentDraft,
    OrderDraft,
    Routing,
    totals,
)
from domain.orders.placing import Placement, applied_discounts, order_lines, place_order
from domain.orders.services import OrderResult
from domain.orders.states import (
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.pricing.model import price_for
from domain.promotions import services as promotions
from domain.promotions.services import Discounts

TENDERS = ("CASH", "CARD_TERMINAL")


@dataclass(frozen=True, slots=True)
class TillSale:
    """What the clerk rang up: lines (variant id, quantity), how it was paid, who bought."""

    location_id: int
    lines: Sequence[tuple[int, int]]
    buyer: Buyer
    tender: str
    member_code: str | None = None
    points_to_redeem: int = 0
    discount_codes: Sequence[str] = ()
    member_presence: str | None = None  # the one-time code of the member's app, to spend


async def pos_sale(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    sale: TillSale,
    idempotency_key: str | None,
    clock: Clock,
) -> OrderResult:
    """A sale at a store's till: a completed order of the store's channel, stock taken there;
    with a scanned member code the member earns (and may spend) points like online, and coupon
    codes and the member's vouchers apply as in the web shop."""
    require_store_staff(principal, sale.location_id)
    if sale.tender not in TENDERS:
        raise DomainError(
            CommonErrorCode.INVALID, "tender is CASH or CARD_TERMINAL", field="tender"
        )
    if not sale.lines:
        raise DomainError(OrderErrorCode.EMPTY_CART, "sell at least one line", field="lines")

    return await run_once(
        uow_factory,
        scope="pos",
        caller=principal.subject,
        key=idempotency_key,
        payload={
            "l": sale.location_id,
            "lines": list(sale.lines),
            "b": sale.buyer.as_json(),
            "t": sale.tender,
            "m": sale.member_code,
            "p": sale.points_to_redeem,
            "d": sorted(sale.discount_codes),
        },
        work=lambda uow: _sell(uow, principal, sale, clock),
        result=OrderResult,
    )


async def _sell(uow: UnitOfWork, principal: Principal, sale: TillSale, clock: Clock) -> OrderResult:
    """Price the sale at the store, check the shelf, place the completed order."""
    channel = await uow.locations.store_channel(sale.location_id)
    if channel is None:
        raise DomainError(
            OrderErrorCode.UNKNOWN_CHANNEL, "this store has no till channel", field="locationId"
        )
    member_id, tier = await _member(uow, sale)
    if member_id is not None and await _spends_member_value(uow, sale, member_id=member_id):
        await require_presence(uow, member_id, code=sale.member_presence, at=clock.now())
    wanted = _wanted(sale.lines)
    levels = await uow.inventory.lock([(v, sale.location_id) for v in wanted])
    priced = await _price(uow, channel, wanted, levels, sale=sale, tier=tier, at=clock.now())
    found = await promotions.discounts(
        uow,
        channel=channel,
        priced=priced,
        codes=[c.strip().upper() for c in sale.discount_codes if c.strip()],
        member_id=member_id,
        tier=tier,
        store_id=sale.location_id,
        at=clock.now(),
    )
    draft = _draft(sale, channel, priced, found, member_id=member_id, staff_id=principal.staff_id)
    how = Placement(
        levels=levels,
        reason=f"till sale ({sale.tender.lower()})",
        evaluation=found.evaluation,
        points_to_redeem=sale.points_to_redeem,
        tender=sale.tender,
    )
    order = await place_order(uow, draft, how, actor=principal.subject, at=clock.now())
    return OrderResult(order.id)


def _draft(
    sale: TillSale,
    channel: Channel,
    priced: PricedCart,
    found: Discounts,
    *,
    member_id: int | None,
    staff_id: int | None,
) -> OrderDraft:
    """The completed order a till sale becomes, served on the spot at the store."""
    wanted = {ln.variant_id: ln.quantity for ln in priced.lines}
    return OrderDraft(
        channel_id=channel.id,
        channel_handle=channel.handle,
        source=OrderSource.STORE_TILL,
        status=OrderStatus.COMPLETED,
        payment_status=PaymentStatus.PAID,
        currency=channel.currency,
        totals=found.totals,
        buyer=sale.buyer,
        delivery=Delivery(method=FulfilmentMethod.IN_STORE, location_id=sale.location_id),
        routing=Routing("sold at the till", False, (sale.location_id,)),
        lines=order_lines(priced, found.by_line),
        fulfilments=(
            FulfilmentDraft(
                location_id=sale.location_id,
                method=FulfilmentMethod.IN_STORE,
                status=FulfilmentStatus.HANDED_OVER,
                lines=tuple(wanted.items()),
            ),
        ),
        discounts=applied_discounts(found.evaluation),
        discount_total=found.evaluation.total_discount.amount,
        member_id=member_id,
        attributed_location_id=sale.location_id,
        attributed_staff_id=staff_id,
    )


def _wanted(lines: Sequence[tuple[int, int]]) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for i, (variant_id, qty) in enumerate(lines):
        if not 0 < qty <= 999:
            raise DomainError(
                OrderErrorCode.INVALID_QUANTITY, "1 to 999", field=f"lines.{i}.quantity"
            )
        wanted[variant_id] = wanted.get(variant_id, 0) + qty
    return wanted


async def _member(uow: UnitOfWork, sale: TillSale) -> tuple[int | None, str | None]:
    """The member whose code was scanned (id, tier), if any."""
    if not sale.member_code:
        if sale.points_to_redeem:
            raise DomainError(
                CommonErrorCode.INVALID, "scan the member's code to use points", field="memberCode"
            )
        return None, None
    member = await uow.members.by_code(check_member_code(sale.member_code))
    if member is None:
        raise NotFound("member", field="memberCode")
    return member.id, member.tier


async def _spends_member_value(uow: UnitOfWork, sale: TillSale, *, member_id: int) -> bool:
    """Does the sale spend the member's points or one of their vouchers?"""
    if sale.points_to_redeem > 0:
        return True
    for code in sale.discount_codes:
        voucher = await uow.promotions.voucher(code.strip().upper()) if code.strip() else None
        if voucher is not None and voucher.member_id == member_id:
            return True
    return False


async def _price(
    uow: UnitOfWork,
    channel: Channel,
    wanted: dict[int, int],
    levels: dict[tuple[int, int], StockLevel],
    *,
    sale: TillSale,
    tier: str | None,
    at: datetime,
) -> PricedCart:
    """The till's lines priced for the store's channel, with what is on the shelf checked."""
    titles = await uow.catalog.variants_with_titles(list(wanted))
    rules = await uow.prices.rules_for(list(wanted))
    lines, subtotal = [], Money(0, channel.currency)
    for i, (variant_id, qty) in enumerate(wanted.items()):
        if variant_id not in titles:
            raise NotFound("variant", field=f"lines.{i}.variantId")
        quote = price_for(
            rules.get(variant_id, []),
            currency=channel.currency,
            channel=channel.handle,
            tier=tier,
            at=at,
        )
        if quote is None:
            raise DomainError(
                OrderErrorCode.NOT_SOLD_IN_CHANNEL, "no price here", field=f"lines.{i}.variantId"
            )
        level = levels[(variant_id, sale.location_id)]
        if level.on_hand - level.reserved < qty:
            raise DomainError(
                OrderErrorCode.OUT_OF_STOCK, "not enough on the shelf", field=f"lines.{i}.quantity"
            )
        variant, title = titles[variant_id]
        lines.append(
            PricedLine(
                variant_id=variant_id,
                title=title,
                sku=variant.sku,
                quantity=qty,
                unit_price=quote.price,
                compare_at=quote.compare_at,
                line_total=quote.price.times(qty),
                available_in_channel=qty,
                available_at_store=None,
                nearest_stores_with_stock=(),
            )
        )
        subtotal = subtotal + quote.price.times(qty)
    t = totals(
        subtotal=subtotal,
        delivery=Money(0, channel.currency),
        tax_rate_bp=channel.tax_rate_bp,
        prices_include_tax=channel.prices_include_tax,
    )
    return PricedCart(tuple(lines), t)
