from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.money import Money
from domain.promotions.model import (
    CartContext,
    CartLineInput,
    Evaluation,
    LineDiscount,
    Promotion,
    PromotionErrorCode,
    PromotionKind,
    Scope,
    evaluate,
    validate_promotion,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
K = PromotionKind
E = PromotionErrorCode


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def hours(n: int) -> datetime:
    return NOW + timedelta(hours=n)


def line(
    line_id: int,
    price: int,
    quantity: int = 1,
    *,
    product: int | None = None,
    categories: tuple[int, ...] = (),
    collections: tuple[int, ...] = (),
) -> CartLineInput:
    product_id = line_id if product is None else product
    return CartLineInput(
        line_id, 100 + line_id, product_id, categories, collections, quantity, eur(price)
    )


def context(
    *,
    codes: tuple[str, ...] = (),
    channel: str = "web",
    store_id: int | None = None,
    tier: str | None = None,
    at: datetime = NOW,
    delivery: int = 0,
) -> CartContext:
    return CartContext(channel, store_id, tier, codes, at, eur(delivery))


def promo(id: int, kind: PromotionKind, **fields: Any) -> Promotion:
    fields.setdefault("name", f"Promo {id}")
    return Promotion(id=id, kind=kind, **fields)


def percent(id: int, value: int, **fields: Any) -> Promotion:
    return promo(id, K.PERCENTAGE, percent=value, **fields)


def fixed(id: int, amount: int, **fields: Any) -> Promotion:
    return promo(id, K.FIXED_AMOUNT, amount=eur(amount), **fields)


def spend(id: int, threshold: int, saving: int, **fields: Any) -> Promotion:
    return promo(id, K.SPEND_THRESHOLD, threshold=eur(threshold), amount=eur(saving), **fields)


def bxgy(id: int, buy: int, get: int, off: int = 100, **fields: Any) -> Promotion:
    return promo(id, K.BUY_X_GET_Y, buy_quantity=buy, get_quantity=get, get_percent=off, **fields)


def free_delivery(id: int, **fields: Any) -> Promotion:
    return promo(id, K.FREE_DELIVERY, **fields)


def run(lines: list[CartLineInput], *promotions: Promotion, **ctx: Any) -> Evaluation:
    return evaluate(lines, promotions=promotions, context=context(**ctx))


def per_line(ev: Evaluation) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in ev.line_discounts:
        out[d.line_id] = out.get(d.line_id, 0) + d.amount.amount
    return out


def per_promotion(ev: Evaluation) -> dict[int, int]:
    out: dict[int, int] = {}
    for d in ev.line_discounts:
        out[d.promotion_id] = out.get(d.promotion_id, 0) + d.amount.amount
    return out


# -- each kind ----------------------------------------------------------------------------------


def test_percentage_off_every_line_rounded_half_up_per_line() -> None:
    ev = run([line(1, 1000), line(2, 333), line(3, 25)], percent(7, 20, name="Summer sale"))
    assert ev.applied == (7,)
    assert per_line(ev) == {1: 200, 2: 67, 3: 5}  # 66.6 -> 67, 5.0 -> 5
    assert ev.line_discounts[0] == LineDiscount(1, 7, eur(200), "Summer sale: 20 % off")
    assert ev.total_discount == eur(272)
    assert run([line(1, 25)], percent(1, 10)).total_discount == eur(3)  # 2.5 -> 3
    assert run([line(1, 24)], percent(1, 10)).total_discount == eur(2)  # 2.4 -> 2


def test_percentage_only_on_scoped_lines() -> None:
    lines = [line(1, 1000, categories=(5,)), line(2, 1000, categories=(6,))]
    ev = run(lines, percent(1, 50, scope=Scope(category_ids=(5,))))
    assert per_line(ev) == {1: 500}


def test_fixed_amount_spread_proportionally_and_exactly() -> None:
    ev = run([line(1, 3000), line(2, 1000)], fixed(1, 1000, name="Welcome"))
    assert per_line(ev) == {1: 750, 2: 250}
    assert {d.explanation for d in ev.line_discounts} == {"Welcome: 10.00 EUR off"}
    thirds = run([line(1, 100), line(2, 100), line(3, 100)], fixed(1, 100))
    assert per_line(thirds) == {1: 34, 2: 33, 3: 33}  # the odd cent: a tie, lowest line id
    odd = run([line(1, 100), line(2, 99), line(3, 1)], fixed(1, 2))
    assert per_line(odd) == {1: 1, 2: 1}  # proportional: 1.0, 0.99, 0.01
    assert sum(per_line(odd).values()) == 2


def test_fixed_amount_capped_at_the_scoped_lines() -> None:
    lines = [line(1, 300, product=1), line(2, 5000, product=2)]
    ev = run(lines, fixed(1, 1000, scope=Scope(product_ids=(1,))))
    assert per_line(ev) == {1: 300}
    assert ev.total_discount == eur(300)


def test_spend_threshold_once_and_repeating() -> None:
    lines = [line(1, 15000), line(2, 10000)]  # 250.00 spent
    once = run(lines, spend(1, 10000, 1000, name="Spend & save"))
    assert once.total_discount == eur(1000)
    assert sum(per_line(once).values()) == 1000
    assert once.line_discounts[0].explanation == "Spend & save: spend 100.00 EUR, save 10.00 EUR"
    repeating = run(lines, spend(1, 10000, 1000, repeat=True, name="Per 100"))
    assert repeating.total_discount == eur(2000)
    assert repeating.line_discounts[0].explanation == "Per 100: save 10.00 EUR per 100.00 EUR spent"
    assert run([line(1, 9999)], spend(1, 10000, 1000)).total_discount == eur(0)
    assert run([line(1, 10000)], spend(1, 10000, 1000)).total_discount == eur(1000)


def test_spend_threshold_counts_only_scoped_lines_before_other_discounts() -> None:
    lines = [line(1, 8000, categories=(1,)), line(2, 8000, categories=(2,))]
    scoped = spend(1, 10000, 1000, scope=Scope(category_ids=(1,)))
    assert run(lines, scoped).applied == ()
    # a 50 % discount applied first does not make a met threshold fail
    ev = run([line(1, 10000)], spend(1, 10000, 1000), percent(2, 50, priority=1))
    assert ev.applied == (2, 1)
    assert ev.total_discount == eur(5000 + 1000)


def test_buy_two_get_one_free_picks_the_cheapest_unit() -> None:
    lines = [line(1, 500), line(2, 300), line(3, 200)]
    ev = run(lines, bxgy(1, 2, 1, name="3 for 2"))
    assert per_line(ev) == {3: 200}
    assert ev.line_discounts[0].explanation == "3 for 2: buy 2 get 1 free"


def test_buy_x_get_y_counts_units_across_lines_and_groups() -> None:
    lines = [line(1, 1000, 4), line(2, 400, 2)]  # 6 units: 2 groups of 3, the 2 cheapest free
    assert per_line(run(lines, bxgy(1, 2, 1))) == {2: 800}
    lines = [line(1, 1000, 5), line(2, 400, 1)]  # cheapest unit at 400, then one at 1000
    assert per_line(run(lines, bxgy(1, 2, 1))) == {1: 1000, 2: 400}
    assert per_line(run([line(1, 400, 3)], bxgy(1, 2, 1))) == {1: 400}
    assert run([line(1, 400, 2)], bxgy(1, 2, 1)).applied == ()  # not a full group


def test_buy_one_get_one_half_price() -> None:
    ev = run([line(1, 1000), line(2, 600)], bxgy(1, 1, 1, 50, name="BOGO"))
    assert per_line(ev) == {2: 300}
    assert ev.line_discounts[0].explanation == "BOGO: buy 1 get 1 at 50 % off"


def test_free_delivery() -> None:
    ev = run([line(1, 1000)], free_delivery(1), delivery=495)
    assert ev.applied == (1,)
    assert ev.delivery_discount == eur(495)
    assert ev.total_discount == eur(495)
    assert ev.line_discounts == ()
    pickup = run([line(1, 1000)], free_delivery(1), delivery=0)
    assert pickup.applied == ()
    two = run([line(1, 1000)], free_delivery(1), free_delivery(2), delivery=495)
    assert two.applied == (1,)
    assert two.total_discount == eur(495)


# -- stacking and the best combination ----------------------------------------------------------


def test_non_exclusive_promotions_stack_in_priority_order() -> None:
    lines = [line(1, 10000)]
    same_priority = run(lines, fixed(1, 1000), percent(2, 20))
    assert same_priority.applied == (2, 1)  # percentage first at equal priority
    assert same_priority.total_discount == eur(2000 + 1000)
    fixed_first = run(lines, fixed(1, 1000, priority=5), percent(2, 20))
    assert fixed_first.applied == (1, 2)
    assert per_promotion(fixed_first) == {1: 1000, 2: 1800}  # 20 % of what remains
    with_delivery = run(lines, fixed(1, 1000), free_delivery(3), delivery=500)
    assert with_delivery.applied == (1, 3)
    assert with_delivery.total_discount == eur(1500)


def test_exclusive_beats_the_stack_when_it_saves_more() -> None:
    lines = [line(1, 10000)]
    ev = run(lines, percent(1, 10), fixed(2, 500), percent(3, 30, exclusive=True))
    assert ev.applied == (3,)
    assert ev.total_discount == eur(3000)


def test_stack_beats_the_exclusive_when_it_saves_more() -> None:
    lines = [line(1, 10000)]
    ev = run(lines, percent(1, 20), fixed(2, 1500), percent(3, 30, exclusive=True), delivery=500)
    ev_with_delivery = run(
        lines,
        percent(1, 20),
        fixed(2, 600),
        free_delivery(4),
        percent(3, 30, exclusive=True),
        delivery=500,
    )
    assert ev.applied == (1, 2)
    assert ev.total_discount == eur(3500)
    assert ev_with_delivery.applied == (1, 2, 4)
    assert ev_with_delivery.total_discount == eur(2000 + 600 + 500)


def test_exclusives_never_combine() -> None:
    lines = [line(1, 10000)]
    ev = run(lines, percent(1, 20, exclusive=True), percent(2, 25, exclusive=True))
    assert ev.applied == (2,)
    assert ev.total_discount == eur(2500)


def test_ties_go_to_fewer_promotions_then_lower_ids() -> None:
    lines = [line(1, 10000)]
    ev = run(lines, fixed(1, 1000), fixed(2, 1000), fixed(3, 2000, exclusive=True))
    assert ev.applied == (3,)  # 20.00 either way: one promotion beats two
    ev = run(lines, fixed(5, 2000, exclusive=True), fixed(4, 2000, exclusive=True))
    assert ev.applied == (4,)


def test_a_later_narrow_promotion_cannot_make_an_extra_one_cost_a_cent() -> None:
    # With "floor, then remainder cents to the largest lines" the total would drop from 4 to 3.
    lines = [line(1, 1), line(2, 1), line(3, 2)]
    everything = fixed(2, 2, priority=1)
    first_two = percent(3, 100, scope=Scope(product_ids=(1, 2)))
    extra = fixed(1, 1, scope=Scope(product_ids=(3,)), priority=2)
    without = run(lines, everything, first_two)
    # "everything" takes a cent each off lines 3 and 1, then "first_two" empties line 2
    assert per_line(without) == {1: 1, 2: 1, 3: 1}
    assert run(lines, extra, everything, first_two).total_discount == without.total_discount


# -- eligibility: time, context, products -------------------------------------------------------


@pytest.mark.parametrize(
    ("starts", "ends", "applies"),
    [
        (None, None, True),
        (hours(-1), hours(1), True),
        (NOW, None, True),  # the start is inclusive
        (None, NOW, False),  # the end is exclusive
        (hours(1), None, False),
        (None, hours(-1), False),
    ],
)
def test_time_window(starts: datetime | None, ends: datetime | None, applies: bool) -> None:
    ev = run([line(1, 1000)], percent(1, 10, starts_at=starts, ends_at=ends))
    assert (ev.applied == (1,)) is applies


@pytest.mark.parametrize(
    ("scope", "ctx", "applies"),
    [
        (Scope(channels=("web",)), {"channel": "web"}, True),
        (Scope(channels=("app", "web")), {"channel": "app"}, True),
        (Scope(channels=("web",)), {"channel": "store-1"}, False),
        (Scope(store_ids=(3,)), {"store_id": 3}, True),
        (Scope(store_ids=(3,)), {"store_id": 4}, False),
        (Scope(store_ids=(3,)), {"store_id": None}, False),
        (Scope(tiers=("gold",)), {"tier": "gold"}, True),
        (Scope(tiers=("gold",)), {"tier": "silver"}, False),
        (Scope(tiers=("gold",)), {"tier": None}, False),
        (Scope(), {"channel": "x", "store_id": None, "tier": None}, True),
        (Scope(channels=("web",), tiers=("gold",)), {"channel": "web", "tier": "gold"}, True),
        (Scope(channels=("web",), tiers=("gold",)), {"channel": "app", "tier": "gold"}, False),
    ],
)
def test_context_scope(scope: Scope, ctx: dict[str, Any], applies: bool) -> None:
    ev = run([line(1, 1000)], percent(1, 10, scope=scope), **ctx)
    assert (ev.applied == (1,)) is applies


@pytest.mark.parametrize(
    ("scope", "discounted"),
    [
        (Scope(), {1, 2, 3}),
        (Scope(product_ids=(11,)), {1}),
        (Scope(category_ids=(20,)), {2}),
        (Scope(collection_ids=(30,)), {3}),
        (Scope(product_ids=(11,), collection_ids=(30,)), {1, 3}),
        (Scope(product_ids=(99,)), set()),
    ],
)
def test_product_scope(scope: Scope, discounted: set[int]) -> None:
    lines = [
        line(1, 1000, product=11, categories=(21,)),
        line(2, 1000, product=12, categories=(20, 21)),
        line(3, 1000, product=13, collections=(30,)),
    ]
    assert set(per_line(run(lines, percent(1, 10, scope=scope)))) == discounted


def test_money_in_another_currency_does_not_apply() -> None:
    usd = promo(1, K.FIXED_AMOUNT, amount=Money(500, "USD"), code="USD5")
    ev = run([line(1, 1000)], usd, codes=("USD5",))
    assert ev.applied == ()
    assert ev.rejected_codes == (("USD5", E.CODE_NOT_APPLICABLE),)


def test_zero_quantity_lines_are_ignored() -> None:
    lines = [line(1, 1000, 0, categories=(5,)), line(2, 1000)]
    assert run(lines, free_delivery(1, scope=Scope(category_ids=(5,))), delivery=500).applied == ()


def test_empty_cart() -> None:
    ev = run([], percent(1, 10), free_delivery(2), delivery=500)
    assert ev == Evaluation((), (), eur(0), eur(0), ())


# -- codes --------------------------------------------------------------------------------------


def test_coded_promotion_applies_only_with_its_code_case_insensitively() -> None:
    coded = percent(1, 10, code="Summer10")
    assert run([line(1, 1000)], coded).applied == ()
    ev = run([line(1, 1000)], coded, codes=(" summer10 ",))
    assert ev.applied == (1,)
    assert ev.rejected_codes == ()


def test_rejection_reasons() -> None:
    promotions = [
        percent(1, 10, code="OLD", ends_at=hours(-1)),
        percent(2, 10, code="SOON", starts_at=hours(1)),
        percent(3, 10, code="APP", scope=Scope(channels=("app",))),
        spend(4, 100000, 1000, code="BIG"),
        percent(5, 50, code="HALF", exclusive=True),
        percent(6, 10, code="TEN"),
        percent(7, 10, code="GOLD", scope=Scope(tiers=("gold",))),
        bxgy(8, 2, 1, code="THREE"),
        free_delivery(9, code="SHIP"),
    ]
    codes = ("nope", "OLD", "SOON", "APP", "BIG", "TEN", "HALF", "GOLD", "THREE", "SHIP", "Nope")
    ev = evaluate([line(1, 1000)], promotions=promotions, context=context(codes=codes))
    assert ev.applied == (5,)
    assert ev.rejected_codes == (
        ("nope", E.INVALID_CODE),  # reported once, as first entered
        ("OLD", E.CODE_EXPIRED),
        ("SOON", E.CODE_EXPIRED),
        ("APP", E.CODE_NOT_APPLICABLE),
        ("BIG", E.CODE_NOT_APPLICABLE),  # threshold not met
        ("TEN", E.CODE_NOT_APPLICABLE),  # eligible, lost to the better exclusive HALF
        ("GOLD", E.CODE_NOT_APPLICABLE),
        ("THREE", E.CODE_NOT_APPLICABLE),  # one unit: no full group, saves nothing
        ("SHIP", E.CODE_NOT_APPLICABLE),  # no delivery fee to take off
    )


def test_a_code_shared_by_several_promotions() -> None:
    promotions = [percent(1, 10, code="DUO", ends_at=hours(-1)), free_delivery(2, code="duo")]
    ev = run([line(1, 1000)], *promotions, codes=("Duo",), delivery=300)
    assert ev.applied == (2,)
    assert ev.rejected_codes == ()
    pickup = run([line(1, 1000)], *promotions, codes=("Duo",), delivery=0)
    assert pickup.rejected_codes == (("Duo", E.CODE_NOT_APPLICABLE),)


def test_blank_codes_are_ignored_and_invalid_promotions_are_not_matched() -> None:
    broken = percent(1, 0, code="BROKEN")
    ev = run([line(1, 1000)], broken, codes=("", "  ", "BROKEN"))
    assert ev.applied == ()
    assert ev.rejected_codes == (("BROKEN", E.INVALID_CODE),)


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (percent(1, 0), "percent"),
        (percent(1, 101), "percent"),
        (promo(1, K.PERCENTAGE, percent=10, amount=eur(5)), "amount"),
        (promo(1, K.FIXED_AMOUNT), "amount"),
        (fixed(1, 0), "amount"),
        (fixed(1, -5), "amount"),
        (fixed(1, 5, percent=10), "percent"),
        (fixed(1, 5, repeat=True), "repeat"),
        (promo(1, K.SPEND_THRESHOLD, amount=eur(10)), "threshold"),
        (promo(1, K.SPEND_THRESHOLD, threshold=eur(10)), "amount"),
        (spend(1, -100, 10), "threshold"),
        (promo(1, K.SPEND_THRESHOLD, threshold=Money(100, "USD"), amount=eur(1)), "threshold"),
        (bxgy(1, 0, 1), "buyQuantity"),
        (bxgy(1, 2, 0), "getQuantity"),
        (bxgy(1, 2, 1, 0), "getPercent"),
        (bxgy(1, 2, 1, 101), "getPercent"),
        (free_delivery(1, buy_quantity=1), "buyQuantity"),
        (free_delivery(1, threshold=eur(100)), "threshold"),
        (percent(1, 10, starts_at=hours(1), ends_at=hours(1)), "endsAt"),
        (percent(1, 10, starts_at=hours(2), ends_at=hours(1)), "endsAt"),
        (percent(1, 10, starts_at=datetime(2025, 1, 1)), "startsAt"),
        (percent(1, 10, code="  "), "code"),
        (percent(1, 10, name=""), "name"),
        (promo(1, "NOPE", percent=10), "kind"),  # type: ignore[arg-type]
    ],
)
def test_validate_promotion_refuses_nonsense(bad: Promotion, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_promotion(bad)
    assert caught.value.code == E.INVALID_PROMOTION
    assert caught.value.field == field
    assert run([line(1, 1000)], bad).applied == ()  # and evaluate ignores it


@pytest.mark.parametrize(
    "good",
    [
        percent(1, 100),
        fixed(1, 1),
        spend(1, 10000, 1000, repeat=True),
        bxgy(1, 1, 1, 1),
        free_delivery(1, code="SHIP", exclusive=True, priority=-3),
        percent(1, 10, starts_at=hours(-1), ends_at=hours(1)),
    ],
)
def test_validate_promotion_accepts_sensible_ones(good: Promotion) -> None:
    validate_promotion(good)


def test_programming_errors_raise_value_error() -> None:
    with pytest.raises(ValueError, match="timezone"):
        run([line(1, 100)], at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="currency"):
        evaluate(
            [CartLineInput(1, 1, 1, (), (), 1, Money(100, "USD"))],
            promotions=(),
            context=context(),
        )
    with pytest.raises(ValueError, match="line ids"):
        run([line(1, 100), line(1, 200)])
    with pytest.raises(ValueError, match="promotion ids"):
        run([line(1, 100)], percent(1, 10), fixed(1, 10))
    with pytest.raises(ValueError, match="negative"):
        run([line(1, -100)])


# -- properties ---------------------------------------------------------------------------------

CODES = ["A", "B"]
small_money = st.one_of(st.integers(0, 20), st.integers(0, 20_000))


@st.composite
def cart_lines(draw: st.DrawFn) -> list[CartLineInput]:
    count = draw(st.integers(0, 5))
    return [
        line(
            i,
            draw(small_money),
            draw(st.integers(0, 5)),
            product=draw(st.integers(1, 4)),
            categories=tuple(draw(st.sets(st.integers(1, 3), max_size=2))),
            collections=tuple(draw(st.sets(st.integers(1, 2), max_size=1))),
        )
        for i in range(1, count + 1)
    ]


@st.composite
def scopes(draw: st.DrawFn, *, context_free: bool = False) -> Scope:
    ids = st.sets(st.integers(1, 4), max_size=2).map(lambda s: tuple(sorted(s)))
    scope = Scope(
        product_ids=draw(ids),
        category_ids=draw(st.sets(st.integers(1, 3), max_size=1).map(tuple)),
        collection_ids=draw(st.sets(st.integers(1, 2), max_size=1).map(tuple)),
    )
    if context_free or draw(st.booleans()):
        return scope
    return Scope(
        scope.product_ids,
        scope.category_ids,
        scope.collection_ids,
        channels=draw(st.sampled_from([(), ("web",), ("app",)])),
        store_ids=draw(st.sampled_from([(), (1,), (1, 2)])),
        tiers=draw(st.sampled_from([(), ("gold",)])),
    )


@st.composite
def promotions_(
    draw: st.DrawFn, id: int, *, plain: bool = False, kinds: list[PromotionKind] | None = None
) -> Promotion:
    """A valid promotion; ``plain`` ones are automatic, non-exclusive, always active, any context."""
    kind = draw(st.sampled_from(kinds or list(PromotionKind)))
    fields: dict[str, Any] = {
        "scope": draw(scopes(context_free=plain)),
        "priority": draw(st.integers(0, 2)),
    }
    if not plain:
        fields["exclusive"] = draw(st.booleans())
        fields["code"] = draw(st.sampled_from([None, None, *CODES]))
        fields["starts_at"] = draw(st.sampled_from([None, hours(-1), hours(1)]))
    if kind is K.PERCENTAGE:
        fields["percent"] = draw(st.integers(1, 100))
    elif kind is K.FIXED_AMOUNT:
        fields["amount"] = eur(draw(st.integers(1, 20_000)))
    elif kind is K.SPEND_THRESHOLD:
        fields["amount"] = eur(draw(st.integers(1, 5_000)))
        fields["threshold"] = eur(draw(st.integers(1, 20_000)))
        fields["repeat"] = draw(st.booleans())
    elif kind is K.BUY_X_GET_Y:
        fields["buy_quantity"] = draw(st.integers(1, 3))
        fields["get_quantity"] = draw(st.integers(1, 2))
        fields["get_percent"] = draw(st.integers(1, 100))
    result = promo(id, kind, **fields)
    validate_promotion(result)
    return result


@st.composite
def promotion_lists(draw: st.DrawFn, *, plain: bool = False) -> list[Promotion]:
    count = draw(st.integers(0, 5))
    return [draw(promotions_(i, plain=plain)) for i in range(1, count + 1)]


@st.composite
def contexts(draw: st.DrawFn) -> CartContext:
    return context(
        codes=tuple(draw(st.lists(st.sampled_from([*CODES, "a", "ZZZ"]), max_size=3))),
        channel=draw(st.sampled_from(["web", "app"])),
        store_id=draw(st.sampled_from([None, 1, 2])),
        tier=draw(st.sampled_from([None, "gold"])),
        delivery=draw(st.sampled_from([0, 1, 495])),
    )


def _subtotal(lines: list[CartLineInput]) -> int:
    return sum(ln.unit_price.amount * ln.quantity for ln in lines)


@given(lines=cart_lines(), promotions=promotion_lists(), ctx=contexts())
def test_discounts_stay_within_the_cart(
    lines: list[CartLineInput], promotions: list[Promotion], ctx: CartContext
) -> None:
    ev = evaluate(lines, promotions=promotions, context=ctx)
    assert 0 <= ev.total_discount.amount <= _subtotal(lines) + ctx.delivery.amount
    assert ev.delivery_discount.amount in (0, ctx.delivery.amount)
    line_sum = sum(d.amount.amount for d in ev.line_discounts)
    assert ev.total_discount.amount == line_sum + ev.delivery_discount.amount
    totals = {ln.line_id: ln.unit_price.amount * ln.quantity for ln in lines}
    for d in ev.line_discounts:
        assert d.amount.amount > 0
        assert d.promotion_id in ev.applied
    for line_id, discounted in per_line(ev).items():
        assert discounted <= totals[line_id]
    exclusive = {p.id for p in promotions if p.exclusive}
    assert len(ev.applied) == len(set(ev.applied))
    assert not exclusive & set(ev.applied) or len(ev.applied) == 1
    rejected = [code for code, _ in ev.rejected_codes]
    assert len({c.casefold() for c in rejected}) == len(rejected)


@given(lines=cart_lines(), promotions=promotion_lists(), ctx=contexts())
def test_amount_promotions_give_exactly_their_saving(
    lines: list[CartLineInput], promotions: list[Promotion], ctx: CartContext
) -> None:
    ev = evaluate(lines, promotions=promotions, context=ctx)
    left = {ln.line_id: ln.unit_price.amount * ln.quantity for ln in lines}
    for d in ev.line_discounts:
        left[d.line_id] -= d.amount.amount
    given_by = per_promotion(ev)
    for p in promotions:
        if p.id not in ev.applied or p.kind not in (K.FIXED_AMOUNT, K.SPEND_THRESHOLD):
            continue
        assert p.amount is not None
        scoped = [ln for ln in lines if ln.quantity and _in_scope(p.scope, ln)]
        nominal = p.amount.amount
        if p.kind is K.SPEND_THRESHOLD and p.repeat:
            assert p.threshold is not None
            nominal *= _subtotal(scoped) // p.threshold.amount
        # either the full saving, or it was capped by emptying its lines (which stay empty)
        assert given_by[p.id] == nominal or all(left[ln.line_id] == 0 for ln in scoped)
        assert given_by[p.id] <= nominal


def _in_scope(scope: Scope, ln: CartLineInput) -> bool:
    if not (scope.product_ids or scope.category_ids or scope.collection_ids):
        return True
    return (
        ln.product_id in scope.product_ids
        or bool(set(ln.category_ids) & set(scope.category_ids))
        or bool(set(ln.collection_ids) & set(scope.collection_ids))
    )


@given(
    lines=cart_lines(),
    p=promotions_(10, plain=True, kinds=[K.FIXED_AMOUNT, K.SPEND_THRESHOLD]),
)
def test_alone_an_amount_promotion_gives_its_saving_capped_at_its_lines(
    lines: list[CartLineInput], p: Promotion
) -> None:
    ev = evaluate(lines, promotions=[p], context=context())
    scoped = _subtotal([ln for ln in lines if _in_scope(p.scope, ln)])
    assert p.amount is not None
    if p.kind is K.SPEND_THRESHOLD:
        assert p.threshold is not None
        times = scoped // p.threshold.amount
        nominal = p.amount.amount * (times if p.repeat else min(times, 1))
    else:
        nominal = p.amount.amount
    assert sum(per_promotion(ev).values()) == min(nominal, scoped)


@settings(max_examples=300)
@given(
    lines=cart_lines(),
    promotions=promotion_lists(),
    extra=promotions_(99, plain=True),
    ctx=contexts(),
)
def test_adding_an_eligible_non_exclusive_promotion_never_lowers_the_discount(
    lines: list[CartLineInput], promotions: list[Promotion], extra: Promotion, ctx: CartContext
) -> None:
    before = evaluate(lines, promotions=promotions, context=ctx).total_discount
    after = evaluate(lines, promotions=[*promotions, extra], context=ctx).total_discount
    assert after.amount >= before.amount


@settings(max_examples=300)
@given(lines=cart_lines(), promotions=promotion_lists(plain=True))
def test_adding_to_a_plain_stack_never_lowers_the_discount(
    lines: list[CartLineInput], promotions: list[Promotion]
) -> None:
    totals = [
        evaluate(lines, promotions=promotions[:n], context=context(delivery=495)).total_discount
        for n in range(len(promotions) + 1)
    ]
    assert totals == sorted(totals)


@given(data=st.data(), lines=cart_lines(), promotions=promotion_lists(), ctx=contexts())
def test_result_is_independent_of_the_order_of_promotions(
    data: st.DataObject, lines: list[CartLineInput], promotions: list[Promotion], ctx: CartContext
) -> None:
    shuffled = data.draw(st.permutations(promotions))
    assert evaluate(lines, promotions=shuffled, context=ctx) == evaluate(
        lines, promotions=promotions, context=ctx
    )


@given(lines=cart_lines(), promotions=promotion_lists(), ctx=contexts())
def test_the_best_option_wins(
    lines: list[CartLineInput], promotions: list[Promotion], ctx: CartContext
) -> None:
    ev = evaluate(lines, promotions=promotions, context=ctx)

    def total(option: list[Promotion]) -> int:
        return evaluate(lines, promotions=option, context=ctx).total_discount.amount

    stack = total([p for p in promotions if not p.exclusive])
    alone = [total([p]) for p in promotions if p.exclusive]
    assert ev.total_discount.amount == max([stack, *alone])
