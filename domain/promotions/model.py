"""Promotions: the one pure function, :func:`evaluate`, that decides every discount on a cart.

The caller loads the cart lines (already repriced by the pricing function), the promotions (usage
limits already checked: a promotion whose code is used up is simply not passed) and the context
(channel, store, member tier, entered codes, time, delivery fee). Nothing here touches storage.

Kinds (all amounts are integer minor units of the cart currency, ``context.delivery.currency``):

- PERCENTAGE: ``percent`` (1..100) off each scoped line.
- FIXED_AMOUNT: ``amount`` off the scoped lines together, capped at what remains of them.
- SPEND_THRESHOLD: "spend ``threshold``, save ``amount``". The threshold is measured on the scoped
  lines' value *before* any discount (so other promotions never make it fail); with ``repeat``
  the saving is granted once per full threshold (spend 250, "10 per 100" -> 20). The saving is
  capped at what remains of the scoped lines.
- BUY_X_GET_Y: for every ``buy_quantity + get_quantity`` units of the scoped lines (counted
  together), ``get_quantity`` units get ``get_percent`` off. The discounted units are the
  cheapest of the scoped lines by shelf price (``unit_price``; ties: lower line id first); each
  such unit is discounted on what remains of its value (a line's remaining value is shared
  equally between its units).
- FREE_DELIVERY: ``context.delivery`` is discounted fully (``delivery_discount``).

Eligibility: a promotion is eligible when it is valid (:func:`validate_promotion`; invalid ones
are ignored, so one bad row never changes a cart), active at ``context.at``
(``starts_at <= at < ends_at``, a ``None`` bound is open), its scope matches the context
(``channels``, ``store_ids``, ``tiers``; an empty tuple means any, a non-empty one never matches a
missing store or tier), at least one line matches its product scope (all of ``product_ids``,
``category_ids``, ``collection_ids`` empty, or the line's product is listed, or one of its
categories, or one of its collections), its money is in the cart currency, a SPEND_THRESHOLD's
threshold is reached, and a coded promotion's ``code`` is among ``context.codes`` (compared
case-insensitively, surrounding blanks ignored; blank codes are ignored).
Lines with quantity 0 are ignored.

Stacking and the best combination: the candidate options are each exclusive eligible promotion
alone, and the stack of all non-exclusive eligible ones. In a stack, promotions apply one after
the other, each on what remains of each line after the earlier ones, in this order: higher
``priority`` first; at equal priority BUY_X_GET_Y, PERCENTAGE, FIXED_AMOUNT, SPEND_THRESHOLD,
FREE_DELIVERY (item discounts before order discounts, so a percentage at the same priority is
taken off the shelf price, not off the price after a fixed amount); then lower id first. Order
matters: 20 % after 10 off 100 saves 10 + 18, while 20 % before 10 off saves 20 + 10. The option
with the largest total discount (lines + delivery) wins; ties go to the option with fewer applied
promotions, then to the lower ids. A promotion that saves nothing in the chosen option (e.g. a
second free delivery, or free delivery on a pick-up) is not applied.

Rounding, in integer minor units, per line: a percentage (and a BUY_X_GET_Y unit discount) is
rounded half up on each line (12.5 cents -> 13). A FIXED_AMOUNT or SPEND_THRESHOLD saving is
spread over its scoped lines in proportion to their remaining value by highest averages
(:mod:`domain.promotions.rounding` says how and why): the shares sum exactly to the saving and
never exceed a line, so no discount makes a line negative.

Rejected codes: every distinct entered code that did not apply is reported once, in the order
entered, with the spelling entered, and a ``PromotionErrorCode``:
INVALID_CODE (no valid promotion passed in has it), CODE_EXPIRED (all promotions with it are
outside their time window: ended or not started yet), CODE_NOT_APPLICABLE (active but its
channel/store/tier/product scope, currency or threshold is not met, or it was eligible but lost
in the best-combination choice or saved nothing; the customer gets the better deal and is told
that this code did not add to it). CODE_USAGE_LIMIT_REACHED is for the caller, which checks usage
counts and filters used-up promotions out before calling (we would report INVALID_CODE).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.errors import DomainError
from domain.money import Money
from domain.promotions.rounding import round_half_up, spread


class PromotionKind(StrEnum):
    """What a promotion gives."""

    PERCENTAGE = "PERCENTAGE"
    FIXED_AMOUNT = "FIXED_AMOUNT"
    SPEND_THRESHOLD = "SPEND_THRESHOLD"
    BUY_X_GET_Y = "BUY_X_GET_Y"
    FREE_DELIVERY = "FREE_DELIVERY"


class PromotionErrorCode(StrEnum):
    """Why a code did not apply, or why a promotion was refused."""

    INVALID_CODE = "INVALID_CODE"
    CODE_EXPIRED = "CODE_EXPIRED"
    CODE_NOT_APPLICABLE = "CODE_NOT_APPLICABLE"
    CODE_USAGE_LIMIT_REACHED = "CODE_USAGE_LIMIT_REACHED"
    INVALID_PROMOTION = "INVALID_PROMOTION"


class VoucherStatus(StrEnum):
    """Where a member's single-use voucher stands."""

    ACTIVE = "ACTIVE"
    USED = "USED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a promotion applies; an empty tuple means any."""

    product_ids: tuple[int, ...] = ()
    category_ids: tuple[int, ...] = ()
    collection_ids: tuple[int, ...] = ()
    channels: tuple[str, ...] = ()
    store_ids: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Promotion:
    """One promotion rule; the fields that matter depend on ``kind``."""

    id: int
    name: str
    kind: PromotionKind
    percent: int = 0  # PERCENTAGE: 1..100 off the scoped lines
    amount: Money | None = None  # FIXED_AMOUNT: off the scoped lines; SPEND_THRESHOLD: the saving
    threshold: Money | None = None  # SPEND_THRESHOLD: spend this in scoped lines
    repeat: bool = False  # SPEND_THRESHOLD: save per each full threshold
    buy_quantity: int = 0  # BUY_X_GET_Y
    get_quantity: int = 0  # BUY_X_GET_Y
    get_percent: int = 100  # BUY_X_GET_Y: off the cheapest `get` units of each group
    scope: Scope = field(default_factory=Scope)
    starts_at: datetime | None = None  # None = open
    ends_at: datetime | None = None  # exclusive; None = open
    code: str | None = None  # None = automatic
    exclusive: bool = False  # never combined with another promotion
    priority: int = 0  # higher applies first in a stack

    def is_active(self, at: datetime) -> bool:
        """Whether ``starts_at <= at < ends_at`` (open bounds always match)."""
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.ends_at is None or at < self.ends_at


@dataclass(frozen=True, slots=True)
class CartLineInput:
    """A cart line as repriced by the pricing function."""

    line_id: int
    variant_id: int
    product_id: int
    category_ids: tuple[int, ...]
    collection_ids: tuple[int, ...]
    quantity: int
    unit_price: Money


@dataclass(frozen=True, slots=True)
class CartContext:
    """Who buys where and when, with the entered codes and the delivery fee."""

    channel: str
    store_id: int | None
    tier: str | None
    codes: tuple[str, ...]
    at: datetime
    delivery: Money


@dataclass(frozen=True, slots=True)
class LineDiscount:
    """What one promotion took off one cart line, and why."""

    line_id: int
    promotion_id: int
    amount: Money
    explanation: str  # e.g. "Summer sale: 20 % off"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The promotions applied to a cart and every discount they give."""

    applied: tuple[int, ...]  # promotion ids, in order of application
    line_discounts: tuple[LineDiscount, ...]  # per cart line (in cart order), then application
    delivery_discount: Money
    total_discount: Money  # lines + delivery
    rejected_codes: tuple[tuple[str, str], ...]  # (code as entered, PromotionErrorCode)


# -- validation ---------------------------------------------------------------------------------


def _is_aware(value: datetime) -> bool:
    return value.tzinfo is not None and value.utcoffset() is not None


def _invalid(message: str, field_name: str) -> DomainError:
    return DomainError(PromotionErrorCode.INVALID_PROMOTION, message, field=field_name)


def _kind_problem(p: Promotion, kind: PromotionKind) -> DomainError | None:
    """The first field that does not fit the promotion's kind, or None."""
    if kind is PromotionKind.PERCENTAGE:
        if not 1 <= p.percent <= 100:
            return _invalid("percent must be between 1 and 100", "percent")
    elif p.percent != 0:
        return _invalid(f"a {kind} promotion has no percent", "percent")
    if kind in (PromotionKind.FIXED_AMOUNT, PromotionKind.SPEND_THRESHOLD):
        if p.amount is None or p.amount.amount <= 0:
            return _invalid(f"a {kind} promotion needs a positive amount", "amount")
    elif p.amount is not None:
        return _invalid(f"a {kind} promotion has no amount", "amount")
    if kind is PromotionKind.SPEND_THRESHOLD:
        if p.threshold is None or p.threshold.amount <= 0:
            return _invalid("a spend threshold must be positive", "threshold")
        if p.amount is not None and p.threshold.currency != p.amount.currency:
            return _invalid("threshold and amount must share a currency", "threshold")
    else:
        if p.threshold is not None:
            return _invalid(f"a {kind} promotion has no threshold", "threshold")
        if p.repeat:
            return _invalid("only a spend threshold can repeat", "repeat")
    if kind is PromotionKind.BUY_X_GET_Y:
        if p.buy_quantity < 1:
            return _invalid("buy quantity must be at least 1", "buyQuantity")
        if p.get_quantity < 1:
            return _invalid("get quantity must be at least 1", "getQuantity")
        if not 1 <= p.get_percent <= 100:
            return _invalid("get percent must be between 1 and 100", "getPercent")
    elif p.buy_quantity != 0 or p.get_quantity != 0 or p.get_percent != 100:
        return _invalid(f"a {kind} promotion has no buy/get quantities", "buyQuantity")
    return None


def _problem(p: Promotion) -> DomainError | None:
    """The first reason the promotion is invalid, or None when it is valid."""
    try:
        kind = PromotionKind(p.kind)
    except ValueError:
        return _invalid(f"unknown promotion kind {p.kind!r}", "kind")
    if not p.name.strip():
        return _invalid("a promotion needs a name", "name")
    for name, money in (("amount", p.amount), ("threshold", p.threshold)):
        if money is not None and money.amount < 0:
            return _invalid(f"{name} cannot be negative", name)
    for name, bound in (("startsAt", p.starts_at), ("endsAt", p.ends_at)):
        if bound is not None and not _is_aware(bound):
            return _invalid("dates must carry a time zone", name)
    if p.starts_at is not None and p.ends_at is not None and p.ends_at <= p.starts_at:
        return _invalid("the end must be after the start", "endsAt")
    if p.code is not None and not p.code.strip():
        return _invalid("a code cannot be blank", "code")
    return _kind_problem(p, kind)


def validate_promotion(p: Promotion) -> None:
    """Raise ``DomainError`` INVALID_PROMOTION when the promotion makes no sense."""
    problem = _problem(p)
    if problem is not None:
        raise problem


# -- eligibility --------------------------------------------------------------------------------


def _normalize(code: str) -> str:
    return code.strip().casefold()


def _line_matches(scope: Scope, line: CartLineInput) -> bool:
    if not (scope.product_ids or scope.category_ids or scope.collection_ids):
        return True
    return (
        line.product_id in scope.product_ids
        or any(c in scope.category_ids for c in line.category_ids)
        or any(c in scope.collection_ids for c in line.collection_ids)
    )


def _context_matches(scope: Scope, context: CartContext) -> bool:
    return (
        (not scope.channels or context.channel in scope.channels)
        and (not scope.store_ids or context.store_id in scope.store_ids)
        and (not scope.tiers or context.tier in scope.tiers)
    )


def _scoped(p: Promotion, lines: Sequence[CartLineInput]) -> list[CartLineInput]:
    return [line for line in lines if _line_matches(p.scope, line)]


def _applicable(p: Promotion, lines: Sequence[CartLineInput], context: CartContext) -> bool:
    """Whether an active promotion's scope, currency and threshold are met by this cart."""
    currency = context.delivery.currency
    if not _context_matches(p.scope, context):
        return False
    scoped = _scoped(p, lines)
    if not scoped:
        return False
    if any(m is not None and m.currency != currency for m in (p.amount, p.threshold)):
        return False
    if p.kind == PromotionKind.SPEND_THRESHOLD:
        assert p.threshold is not None  # validated
        return _subtotal(scoped) >= p.threshold.amount
    return True


def _subtotal(lines: Sequence[CartLineInput]) -> int:
    return sum(line.unit_price.amount * line.quantity for line in lines)


_KIND_ORDER = {
    PromotionKind.BUY_X_GET_Y: 0,
    PromotionKind.PERCENTAGE: 1,
    PromotionKind.FIXED_AMOUNT: 2,
    PromotionKind.SPEND_THRESHOLD: 3,
    PromotionKind.FREE_DELIVERY: 4,
}


def _application_order(p: Promotion) -> tuple[int, int, int]:
    return (-p.priority, _KIND_ORDER[PromotionKind(p.kind)], p.id)


# -- applying a stack ---------------------------------------------------------------------------


def _spread(saving: int, scoped: Sequence[CartLineInput], remaining: dict[int, int]) -> list[int]:
    """Shares of ``saving`` over the scoped lines in proportion to what remains of them."""
    return spread(saving, [remaining[ln.line_id] for ln in scoped], [ln.line_id for ln in scoped])


def _money(amount: int, currency: str) -> str:
    return f"{Money(amount, currency).to_decimal_string()} {currency}"


def _cuts(
    p: Promotion, scoped: Sequence[CartLineInput], remaining: dict[int, int], currency: str
) -> tuple[list[int], str]:
    """What ``p`` takes off each scoped line given what remains, and the explanation."""
    if p.kind == PromotionKind.PERCENTAGE:
        cuts = [round_half_up(remaining[line.line_id] * p.percent, 100) for line in scoped]
        return cuts, f"{p.name}: {p.percent} % off"
    if p.kind == PromotionKind.BUY_X_GET_Y:
        group = p.buy_quantity + p.get_quantity
        free = sum(line.quantity for line in scoped) // group * p.get_quantity
        units: dict[int, int] = {}
        for line in sorted(scoped, key=lambda ln: (ln.unit_price.amount, ln.line_id)):
            units[line.line_id] = min(line.quantity, free)
            free -= units[line.line_id]
        cuts = [
            round_half_up(
                remaining[line.line_id] * units[line.line_id] * p.get_percent, line.quantity * 100
            )
            for line in scoped
        ]
        what = "free" if p.get_percent == 100 else f"at {p.get_percent} % off"
        return cuts, f"{p.name}: buy {p.buy_quantity} get {p.get_quantity} {what}"
    assert p.amount is not None  # FIXED_AMOUNT and SPEND_THRESHOLD, validated
    cap = sum(remaining[line.line_id] for line in scoped)
    if p.kind == PromotionKind.FIXED_AMOUNT:
        text = f"{p.name}: {_money(p.amount.amount, currency)} off"
        return _spread(min(p.amount.amount, cap), scoped, remaining), text
    assert p.threshold is not None
    times = _subtotal(scoped) // p.threshold.amount if p.repeat else 1
    saving = p.amount.amount * times
    amount, threshold = _money(p.amount.amount, currency), _money(p.threshold.amount, currency)
    text = (
        f"{p.name}: save {amount} per {threshold} spent"
        if p.repeat
        else f"{p.name}: spend {threshold}, save {amount}"
    )
    return _spread(min(saving, cap), scoped, remaining), text


@dataclass(frozen=True, slots=True)
class _Outcome:
    applied: tuple[int, ...]
    line_discounts: tuple[LineDiscount, ...]
    delivery_discount: int
    total: int

    def rank(self) -> tuple[int, int, tuple[int, ...]]:
        return (-self.total, len(self.applied), tuple(sorted(self.applied)))


def _apply(
    stack: Sequence[Promotion], lines: Sequence[CartLineInput], context: CartContext
) -> _Outcome:
    """Apply ``stack`` in order, each promotion on what remains after the earlier ones."""
    currency = context.delivery.currency
    remaining = {line.line_id: line.unit_price.amount * line.quantity for line in lines}
    delivery_left = context.delivery.amount
    applied: list[int] = []
    found: list[tuple[int, int, LineDiscount]] = []  # (line position, step, discount)
    position = {line.line_id: i for i, line in enumerate(lines)}
    for step, p in enumerate(stack):
        if p.kind == PromotionKind.FREE_DELIVERY:
            if delivery_left > 0:
                delivery_left = 0
                applied.append(p.id)
            continue
        scoped = _scoped(p, lines)
        cuts, explanation = _cuts(p, scoped, remaining, currency)
        for line, cut in zip(scoped, cuts, strict=True):
            if cut > 0:
                remaining[line.line_id] -= cut
                discount = LineDiscount(line.line_id, p.id, Money(cut, currency), explanation)
                found.append((position[line.line_id], step, discount))
        if any(cut > 0 for cut in cuts):
            applied.append(p.id)
    delivery_discount = context.delivery.amount - delivery_left
    line_total = sum(d.amount.amount for _, _, d in found)
    return _Outcome(
        applied=tuple(applied),
        line_discounts=tuple(d for _, _, d in sorted(found, key=lambda f: (f[0], f[1]))),
        delivery_discount=delivery_discount,
        total=line_total + delivery_discount,
    )


# -- the one function ---------------------------------------------------------------------------


def _check_input(
    lines: Sequence[CartLineInput], promotions: Sequence[Promotion], context: CartContext
) -> None:
    """Programming errors (not business refusals) raise ``ValueError``."""
    if not _is_aware(context.at):
        raise ValueError("evaluate needs a timezone-aware 'at'")
    if context.delivery.amount < 0:
        raise ValueError("the delivery fee cannot be negative")
    currency = context.delivery.currency
    for line in lines:
        if line.unit_price.currency != currency:
            raise ValueError(f"line {line.line_id} is not in the cart currency {currency}")
        if line.quantity < 0 or line.unit_price.amount < 0:
            raise ValueError(f"line {line.line_id} has a negative quantity or price")
    if len({line.line_id for line in lines}) != len(lines):
        raise ValueError("line ids must be unique")
    if len({p.id for p in promotions}) != len(promotions):
        raise ValueError("promotion ids must be unique")


def evaluate(
    lines: Sequence[CartLineInput], *, promotions: Sequence[Promotion], context: CartContext
) -> Evaluation:
    """The best discounts for the customer on this cart, explained per line, with rejected codes."""
    _check_input(lines, promotions, context)
    currency = context.delivery.currency
    lines = [line for line in lines if line.quantity > 0]
    entered = {_normalize(code) for code in context.codes if code.strip()}
    valid = [p for p in promotions if _problem(p) is None]
    considered = [p for p in valid if p.code is None or _normalize(p.code) in entered]
    active = [p for p in considered if p.is_active(context.at)]
    eligible = sorted((p for p in active if _applicable(p, lines, context)), key=_application_order)
    options: list[list[Promotion]] = [[p] for p in eligible if p.exclusive]
    options.append([p for p in eligible if not p.exclusive])
    best = min((_apply(option, lines, context) for option in options), key=_Outcome.rank)

    active_ids = {p.id for p in active}
    rejected: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code in context.codes:
        key = _normalize(code)
        if not key or key in seen:
            continue
        seen.add(key)
        matching = [p for p in valid if p.code is not None and _normalize(p.code) == key]
        if not matching:
            rejected.append((code, PromotionErrorCode.INVALID_CODE))
        elif any(p.id in best.applied for p in matching):
            continue
        elif any(p.id in active_ids for p in matching):
            rejected.append((code, PromotionErrorCode.CODE_NOT_APPLICABLE))
        else:
            rejected.append((code, PromotionErrorCode.CODE_EXPIRED))
    return Evaluation(
        applied=best.applied,
        line_discounts=best.line_discounts,
        delivery_discount=Money(best.delivery_discount, currency),
        total_discount=Money(best.total, currency),
        rejected_codes=tuple(rejected),
    )
