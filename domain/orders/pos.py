"""Sales at a store's till: one completed order of the store's channel, stock taken there,
the member's points and vouchers as online; placed through the same ``place_order``.

How a sale is paid (its tenders): the member's points and vouchers first (``points_to_redeem``,
``discount_codes``), then money — cash into the clerk's open till session and cards at the
store's terminal — paying exactly the rest (the total less the points' value; vouchers are
discounts inside the total). Cash handed over above its share is change. Each tender becomes a
CAPTURED payment row in the sale's transaction; the terminal is charged last, inside it, so a
refusal or a decline leaves nothing behind (cards charged before a decline are voided).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from domain.attribution.services import bind_at_till
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
    Order,
    OrderDraft,
    Routing,
    totals,
)
from domain.orders.placing import Placement, applied_discounts, order_lines, place_order
from domain.orders.states import (
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)
from domain.payments.model import Payment, PaymentError, PaymentState, Tender, TillSession
from domain.payments.services import record_in_kind
from domain.payments.terminal import PROVIDER, CardTerminal, TerminalApproval, terminal_key
from domain.payments.till import MAX_CASH, TillErrorCode
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.pricing.model import price_for
from domain.promotions import services as promotions
from domain.promotions.services import Discounts

TENDERS = ("CASH", "CARD_TERMINAL")  # the single ``tender`` of older clients: pays the rest
TILL_TENDERS = frozenset({Tender.CASH, Tender.CARD_TERMINAL, Tender.POINTS, Tender.VOUCHER})
MAX_TENDERS = 10


@dataclass(frozen=True, slots=True)
class TillTender:
    """One way the sale is paid: ``amount`` in minor units; for cash ``given`` is what was
    handed over (the change is ``given - amount``). Points and vouchers come from
    ``points_to_redeem`` and ``discount_codes``: their amount, when not 0, must be what they pay."""

    kind: str
    amount: int = 0
    given: int | None = None


@dataclass(frozen=True, slots=True)
class TillSale:
    """What the clerk rang up: lines (variant id, quantity), how it was paid, who bought."""

    location_id: int
    lines: Sequence[tuple[int, int]]
    buyer: Buyer
    tender: str | None = None  # older clients: CASH or CARD_TERMINAL paying the rest
    member_code: str | None = None
    points_to_redeem: int = 0
    discount_codes: Sequence[str] = ()
    member_presence: str | None = None  # the one-time code of the member's app, to spend
    tenders: Sequence[TillTender] = ()


@dataclass(frozen=True, slots=True)
class PosResult:
    """The order a till sale placed and the change given back (what a replay answers)."""

    order_id: int
    change: int = 0
    currency: str = ""


async def pos_sale(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    sale: TillSale,
    idempotency_key: str | None,
    clock: Clock,
    terminal: CardTerminal | None = None,
) -> PosResult:
    """A sale at a store's till: a completed order of the store's channel, stock taken there;
    with a scanned member code the member earns (and may spend) points like online, and coupon
    codes and the member's vouchers apply as in the web shop. ``terminal`` charges the cards;
    None records them as taken on a standalone terminal (no approval code)."""
    require_store_staff(principal, sale.location_id)
    _check_tenders(sale)
    if not sale.lines:
        raise DomainError(OrderErrorCode.EMPTY_CART, "sell at least one line", field="lines")
    # a retried sale charges its cards under the same keys; a sale without a key is one-off
    base = f"{principal.subject}|{idempotency_key}" if idempotency_key else uuid.uuid4().hex
    till = _Till(terminal, base)

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
            "ts": [[t.kind, t.amount, t.given] for t in sale.tenders],
            "m": sale.member_code,
            "p": sale.points_to_redeem,
            "d": sorted(sale.discount_codes),
        },
        work=lambda uow: _sell(uow, principal, sale, clock, till=till),
        result=PosResult,
    )


@dataclass(frozen=True, slots=True)
class _Till:
    """The terminal of the sale and the base of its terminal keys (the sale's own key)."""

    terminal: CardTerminal | None
    key_base: str


def _check_tenders(sale: TillSale) -> None:
    """The tenders' shape: a known kind, positive money, cash given at least its amount."""
    if sale.tender is not None and sale.tenders:
        raise DomainError(CommonErrorCode.INVALID, "tender or tenders, not both", field="tenders")
    if sale.tender is not None:
        if sale.tender not in TENDERS:
            raise DomainError(
                CommonErrorCode.INVALID, "tender is CASH or CARD_TERMINAL", field="tender"
            )
        return
    if not sale.tenders:
        raise DomainError(CommonErrorCode.REQUIRED, "how is the sale paid?", field="tenders")
    if len(sale.tenders) > MAX_TENDERS:
        raise DomainError(CommonErrorCode.INVALID, f"at most {MAX_TENDERS}", field="tenders")
    kinds = [t.kind for t in sale.tenders]
    for i, t in enumerate(sale.tenders):
        _check_tender(sale, t, field=f"tenders.{i}")
        if t.kind != Tender.CARD_TERMINAL and kinds.count(t.kind) > 1:
            raise DomainError(
                CommonErrorCode.INVALID, f"one {t.kind} tender", field=f"tenders.{i}.kind"
            )


def _check_tender(sale: TillSale, t: TillTender, *, field: str) -> None:
    if t.kind not in TILL_TENDERS:
        raise DomainError(
            CommonErrorCode.INVALID,
            "kind is CASH, CARD_TERMINAL, POINTS or VOUCHER",
            field=f"{field}.kind",
        )
    money = t.kind in (Tender.CASH, Tender.CARD_TERMINAL)
    if not (0 < t.amount if money else 0 <= t.amount) or t.amount > MAX_CASH:
        raise DomainError(CommonErrorCode.INVALID, "out of range", field=f"{field}.amount")
    if t.given is not None and (t.kind != Tender.CASH or not t.amount <= t.given <= MAX_CASH):
        raise DomainError(
            CommonErrorCode.INVALID,
            "cash given is at least the cash tender's amount",
            field=f"{field}.given",
        )
    if t.kind == Tender.POINTS and sale.points_to_redeem <= 0:
        raise DomainError(
            CommonErrorCode.INVALID, "say how many points (pointsToRedeem)", field=f"{field}.kind"
        )
    if t.kind == Tender.VOUCHER and not sale.discount_codes:
        raise DomainError(
            CommonErrorCode.INVALID,
            "give the voucher's code (discountCodes)",
            field=f"{field}.kind",
        )


async def _sell(
    uow: UnitOfWork, principal: Principal, sale: TillSale, clock: Clock, *, till: _Till
) -> PosResult:
    """Price the sale at the store, check the shelf, place the completed order, take its
    tenders."""
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
    label = sale.tender or "+".join(dict.fromkeys(t.kind for t in sale.tenders))
    how = Placement(
        levels=levels,
        reason=f"till sale ({label.lower()})",
        evaluation=found.evaluation,
        points_to_redeem=sale.points_to_redeem,
        tender=label,
    )
    order = await place_order(uow, draft, how, actor=principal.subject, at=clock.now())
    if member_id is not None:
        # after placing: this sale is credited under the binding it was made under
        await bind_at_till(
            uow,
            member_id,
            location_id=sale.location_id,
            staff_id=principal.staff_id,
            at=clock.now(),
        )
    change = await _settle(uow, principal, sale, order, till=till)
    return PosResult(order.id, change, order.currency)


async def _settle(
    uow: UnitOfWork, principal: Principal, sale: TillSale, order: Order, *, till: _Till
) -> int:
    """Record every tender of the placed sale, one CAPTURED payment each; the change given."""
    in_kind = await record_in_kind(uow, order, location_id=sale.location_id)
    _check_in_kind(sale, in_kind)
    rest = order.total - order.points_value
    money = _money(sale, rest)
    paid = sum(t.amount for _, t in money)
    if paid < rest:
        raise DomainError(
            TillErrorCode.TENDER_SHORT, f"the tenders pay {paid} of {rest}", field="tenders"
        )
    if paid > rest:
        raise DomainError(
            TillErrorCode.TENDER_OVER, f"the tenders pay {paid} of {rest}", field="tenders"
        )
    session = await _drawer(uow, principal, sale, money)
    cards = [(i, t) for i, t in money if t.kind == Tender.CARD_TERMINAL]
    approvals = await _charge(till, cards, order=order, location_id=sale.location_id)
    change = 0
    for i, t in money:
        row = Payment(
            id=0,
            order_id=order.id,
            tender=Tender(t.kind),
            amount=t.amount,
            currency=order.currency,
            state=PaymentState.CAPTURED,
            captured=t.amount,
            location_id=sale.location_id,
        )
        if t.kind == Tender.CASH:
            given = t.given if t.given is not None else t.amount
            change += given - t.amount
            session_id = session.id if session is not None else None
            row = replace(row, till_session_id=session_id, cash_given=given)
        else:
            approval = approvals.get(i)
            ref = approval.approval_code if approval is not None else None
            row = replace(row, provider=PROVIDER, provider_ref=ref)
        await uow.payments.add(row)
    return change


def _check_in_kind(sale: TillSale, recorded: list[Payment]) -> None:
    """A POINTS or VOUCHER tender with an amount must match what the points or voucher paid."""
    paid = {p.tender: p.amount for p in recorded}
    for i, t in enumerate(sale.tenders):
        if t.kind not in (Tender.POINTS, Tender.VOUCHER):
            continue
        value = paid.get(Tender(t.kind), 0)
        if value == 0 or (t.amount and t.amount != value):
            raise DomainError(
                CommonErrorCode.INVALID,
                f"the {t.kind.lower()} pay {value}",
                field=f"tenders.{i}.amount",
            )


def _money(sale: TillSale, rest: int) -> list[tuple[int, TillTender]]:
    """The cash and card tenders (an older client's single tender pays the rest)."""
    if sale.tender is not None:
        return [(0, TillTender(sale.tender, rest))] if rest > 0 else []
    return [
        (i, t) for i, t in enumerate(sale.tenders) if t.kind in (Tender.CASH, Tender.CARD_TERMINAL)
    ]


async def _drawer(
    uow: UnitOfWork, principal: Principal, sale: TillSale, money: list[tuple[int, TillTender]]
) -> TillSession | None:
    """The clerk's open till session, locked so it cannot close under the sale; cash needs it
    (an older client's single CASH tender goes into it when there is one)."""
    cash = next((i for i, t in money if t.kind == Tender.CASH), None)
    if cash is None:
        return None
    found = await uow.payments.open_session_of(principal.subject, sale.location_id)
    if found is not None:
        found = await uow.payments.session(found.id, for_update=True)
    if found is not None and found.closed_at is None:
        return found
    if sale.tender is not None:
        return None
    raise DomainError(
        TillErrorCode.TILL_SESSION_REQUIRED,
        "open your till session to take cash",
        field=f"tenders.{cash}.kind",
    )


async def _charge(
    till: _Till, cards: list[tuple[int, TillTender]], *, order: Order, location_id: int
) -> dict[int, TerminalApproval]:
    """Charge each card at the terminal; on a decline the cards charged before it are voided
    and the sale is refused (its transaction rolls back)."""
    if till.terminal is None or not cards:
        return {}
    done: dict[int, tuple[str, TillTender, TerminalApproval]] = {}
    reference = f"till:{location_id}:order:{order.id}"
    for i, t in cards:
        key = terminal_key(till.key_base, tender=i, amount=t.amount)
        try:
            done[i] = (
                key,
                t,
                await till.terminal.charge(
                    location_id=location_id,
                    amount=t.amount,
                    currency=order.currency,
                    reference=reference,
                    idempotency_key=key,
                ),
            )
        except PaymentError as error:
            for void_key, charged, approval in done.values():
                await till.terminal.refund(
                    location_id=location_id,
                    amount=charged.amount,
                    currency=order.currency,
                    reference=approval.approval_code,
                    idempotency_key=f"{void_key}:void",
                )
            error.field = f"tenders.{i}"
            raise
    return {i: approval for i, (_, _, approval) in done.items()}


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
