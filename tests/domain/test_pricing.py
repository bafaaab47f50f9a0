from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.money import Money
from domain.pricing.model import (
    PriceKind,
    PriceQuote,
    PriceRule,
    PricingErrorCode,
    price_for,
    validate_rule,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CHANNELS = ["web", "app", "store-1"]
TIERS = ["gold", "silver"]


def eur(amount: int) -> Money:
    return Money(amount, "EUR")


def hours(n: int) -> datetime:
    return NOW + timedelta(hours=n)


# -- strategies ---------------------------------------------------------------------------------

amounts = st.integers(min_value=0, max_value=10_000)
bounds = st.one_of(st.none(), st.integers(min_value=-48, max_value=48).map(hours))
channels = st.sampled_from([None, *CHANNELS])
tiers = st.sampled_from([None, *TIERS])


@st.composite
def windows(draw: st.DrawFn) -> tuple[datetime | None, datetime | None]:
    start, end = draw(bounds), draw(bounds)
    if start is not None and end is not None:
        if end == start:
            end = start + timedelta(hours=1)
        start, end = min(start, end), max(start, end)
    return start, end


@st.composite
def rules(draw: st.DrawFn, currency: str = "EUR") -> PriceRule:
    kind = draw(st.sampled_from(list(PriceKind)))
    start, end = draw(windows())
    channel = {
        PriceKind.BASE: None,
        PriceKind.CHANNEL: draw(st.sampled_from(CHANNELS)),
    }.get(kind, draw(channels))
    tier = draw(st.sampled_from(TIERS)) if kind is PriceKind.TIER else None
    rule = PriceRule(kind, Money(draw(amounts), currency), channel, tier, start, end)
    validate_rule(rule)
    return rule


rule_lists = st.lists(rules(), max_size=8)
contexts = st.tuples(st.sampled_from([None, *CHANNELS]), tiers)


def quote(
    rs: list[PriceRule], channel: str | None, tier: str | None, at: datetime = NOW
) -> PriceQuote | None:
    return price_for(rs, currency="EUR", channel=channel, tier=tier, at=at)


def regular(rs: list[PriceRule], channel: str | None) -> PriceQuote | None:
    """The regular price: only BASE and CHANNEL rules."""
    return quote([r for r in rs if r.kind in (PriceKind.BASE, PriceKind.CHANNEL)], channel, None)


# -- properties ---------------------------------------------------------------------------------


@given(rs=rule_lists, ctx=contexts)
def test_price_never_exceeds_regular(
    rs: list[PriceRule], ctx: tuple[str | None, str | None]
) -> None:
    got, reg = quote(rs, *ctx), regular(rs, ctx[0])
    assert (got is None) == (reg is None)
    if got is not None and reg is not None:
        assert reg.compare_at is None
        assert got.price <= reg.price


@given(rs=rule_lists, ctx=contexts)
def test_compare_at_iff_price_below_regular(
    rs: list[PriceRule], ctx: tuple[str | None, str | None]
) -> None:
    got, reg = quote(rs, *ctx), regular(rs, ctx[0])
    if got is None or reg is None:
        return
    if got.price < reg.price:
        assert got.compare_at == reg.price
        assert got.source in (PriceKind.SALE, PriceKind.TIER)
    else:
        assert got.compare_at is None
        assert got.ends_at is None
        assert got.source in (PriceKind.BASE, PriceKind.CHANNEL)


@given(
    rs=rule_lists,
    ctx=contexts,
    amount=amounts,
    channel=channels,
    offset=st.integers(min_value=1, max_value=48),
    before=st.booleans(),
)
def test_sale_outside_window_is_ignored(
    rs: list[PriceRule],
    ctx: tuple[str | None, str | None],
    amount: int,
    channel: str | None,
    offset: int,
    before: bool,
) -> None:
    if before:  # ended already (the end is exclusive, so ending exactly now counts)
        sale = PriceRule(PriceKind.SALE, eur(amount), channel, None, None, hours(1 - offset))
    else:  # not started yet
        sale = PriceRule(PriceKind.SALE, eur(amount), channel, None, hours(offset), None)
    assert quote([*rs, sale], *ctx) == quote(rs, *ctx)


@given(rs=rule_lists, extra=rules(), ctx=contexts)
def test_channel_scoped_rule_never_affects_another_channel(
    rs: list[PriceRule], extra: PriceRule, ctx: tuple[str | None, str | None]
) -> None:
    channel, tier = ctx
    if extra.channel is None or extra.channel == channel:
        return
    assert quote([*rs, extra], channel, tier) == quote(rs, channel, tier)


@given(
    bases=st.lists(rules().filter(lambda r: r.kind is PriceKind.BASE), min_size=1, max_size=4),
    amount=amounts,
    other=st.sampled_from(["app", "store-1", None]),
)
def test_channel_override_replaces_base_for_that_channel_only(
    bases: list[PriceRule], amount: int, other: str | None
) -> None:
    override = PriceRule(PriceKind.CHANNEL, eur(amount), channel="web")
    web = quote([*bases, override], "web", None)
    assert web == PriceQuote(eur(amount), None, PriceKind.CHANNEL, None)
    assert quote([*bases, override], other, None) == quote(bases, other, None)


@given(
    rs=rule_lists,
    ctx=contexts,
    discount=st.integers(min_value=1, max_value=10_000),
    end=st.one_of(st.none(), st.integers(min_value=1, max_value=48).map(hours)),
    scoped=st.booleans(),
)
def test_cheaper_active_sale_sets_the_price(
    rs: list[PriceRule],
    ctx: tuple[str | None, str | None],
    discount: int,
    end: datetime | None,
    scoped: bool,
) -> None:
    channel, tier = ctx
    before = quote(rs, channel, tier)
    if before is None or before.price.amount == 0:
        return
    amount = max(0, before.price.amount - discount)
    sale = PriceRule(PriceKind.SALE, eur(amount), channel if scoped else None, None, hours(-1), end)
    after = quote([*rs, sale], channel, tier)
    reg = regular(rs, channel)
    assert after is not None and reg is not None
    assert after.price == eur(amount)
    assert after.compare_at == reg.price
    assert after.source is PriceKind.SALE
    assert after.ends_at == end


@given(rs=rule_lists, foreign=st.lists(rules(currency="USD"), max_size=6), ctx=contexts)
def test_rules_in_other_currencies_are_ignored(
    rs: list[PriceRule], foreign: list[PriceRule], ctx: tuple[str | None, str | None]
) -> None:
    assert quote([*rs, *foreign], *ctx) == quote(rs, *ctx)
    assert price_for(rs, currency="USD", channel=ctx[0], tier=ctx[1], at=NOW) is None


@given(
    rs=rule_lists, amount=amounts, channel=channels, rule_tier=st.sampled_from(TIERS), ctx=contexts
)
def test_tier_price_applies_only_to_its_tier(
    rs: list[PriceRule],
    amount: int,
    channel: str | None,
    rule_tier: str,
    ctx: tuple[str | None, str | None],
) -> None:
    tier_rule = PriceRule(PriceKind.TIER, eur(amount), channel, rule_tier)
    buyer_channel, buyer_tier = ctx
    with_rule = quote([*rs, tier_rule], buyer_channel, buyer_tier)
    if buyer_tier != rule_tier:
        assert with_rule == quote(rs, buyer_channel, buyer_tier)
    elif with_rule is not None and channel in (None, buyer_channel):
        assert with_rule.price.amount <= amount


@given(rs=rule_lists, ctx=contexts)
def test_rule_order_does_not_matter(
    rs: list[PriceRule], ctx: tuple[str | None, str | None]
) -> None:
    assert quote(rs, *ctx) == quote(list(reversed(rs)), *ctx)


# -- examples -----------------------------------------------------------------------------------


def test_no_regular_price_means_not_sold() -> None:
    sale = PriceRule(PriceKind.SALE, eur(500))
    assert quote([sale], "web", None) is None
    assert quote([], "web", None) is None
    tomorrow = PriceRule(PriceKind.BASE, eur(1000), starts_at=hours(24))
    assert quote([tomorrow], "web", None) is None


def test_sale_quote_carries_compare_at_and_end() -> None:
    rs = [
        PriceRule(PriceKind.BASE, eur(1000)),
        PriceRule(PriceKind.SALE, eur(800), starts_at=hours(-1), ends_at=hours(5)),
    ]
    assert quote(rs, "web", None) == PriceQuote(eur(800), eur(1000), PriceKind.SALE, hours(5))


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    base = PriceRule(PriceKind.BASE, eur(1000))
    sale = PriceRule(PriceKind.SALE, eur(800), starts_at=hours(0), ends_at=hours(2))
    assert quote([base, sale], "web", None, at=hours(0)).price == eur(800)  # type: ignore[union-attr]
    assert quote([base, sale], "web", None, at=hours(2)).price == eur(1000)  # type: ignore[union-attr]


def test_regular_price_wins_ties() -> None:
    rs = [
        PriceRule(PriceKind.BASE, eur(1000)),
        PriceRule(PriceKind.SALE, eur(1000), ends_at=hours(1)),
    ]
    assert quote(rs, "web", None) == PriceQuote(eur(1000), None, PriceKind.BASE, None)


def test_most_recently_started_base_wins_then_lowest_amount() -> None:
    old = PriceRule(PriceKind.BASE, eur(900))
    newer = PriceRule(PriceKind.BASE, eur(1200), starts_at=hours(-2))
    twin = PriceRule(PriceKind.BASE, eur(1100), starts_at=hours(-2))
    assert quote([old, newer], "web", None).price == eur(1200)  # type: ignore[union-attr]
    assert quote([newer, twin, old], "web", None).price == eur(1100)  # type: ignore[union-attr]


def test_channel_override_may_be_higher_than_base() -> None:
    rs = [PriceRule(PriceKind.BASE, eur(1000)), PriceRule(PriceKind.CHANNEL, eur(1200), "amazon")]
    assert quote(rs, "amazon", None) == PriceQuote(eur(1200), None, PriceKind.CHANNEL, None)
    assert quote(rs, "web", None) == PriceQuote(eur(1000), None, PriceKind.BASE, None)
    assert quote(rs, None, None) == PriceQuote(eur(1000), None, PriceKind.BASE, None)


def test_tier_price_for_member_only() -> None:
    rs = [PriceRule(PriceKind.BASE, eur(1000)), PriceRule(PriceKind.TIER, eur(900), tier="gold")]
    assert quote(rs, "web", "gold") == PriceQuote(eur(900), eur(1000), PriceKind.TIER, None)
    assert quote(rs, "web", "silver") == PriceQuote(eur(1000), None, PriceKind.BASE, None)
    assert quote(rs, "web", None) == PriceQuote(eur(1000), None, PriceKind.BASE, None)


def test_tied_discounts_prefer_the_one_that_lasts() -> None:
    rs = [
        PriceRule(PriceKind.BASE, eur(1000)),
        PriceRule(PriceKind.SALE, eur(800), ends_at=hours(3)),
        PriceRule(PriceKind.TIER, eur(800), tier="gold"),
    ]
    assert quote(rs, "web", "gold") == PriceQuote(eur(800), eur(1000), PriceKind.TIER, None)
    assert quote(rs, "web", None) == PriceQuote(eur(800), eur(1000), PriceKind.SALE, hours(3))


def test_invalid_rules_are_ignored() -> None:
    base = PriceRule(PriceKind.BASE, eur(1000))
    bad = [
        PriceRule(PriceKind.SALE, eur(-1)),
        PriceRule(PriceKind.TIER, eur(1)),
        PriceRule(PriceKind.SALE, eur(1), tier="gold"),
        PriceRule(PriceKind.CHANNEL, eur(1)),
        PriceRule(PriceKind.SALE, eur(1), starts_at=hours(1), ends_at=hours(-1)),
    ]
    assert quote([base, *bad], "web", "gold") == PriceQuote(eur(1000), None, PriceKind.BASE, None)


def test_timezones_compare_as_instants() -> None:
    plus_two = timezone(timedelta(hours=2))
    base = PriceRule(PriceKind.BASE, eur(1000))
    sale = PriceRule(PriceKind.SALE, eur(800), ends_at=datetime(2025, 6, 1, 14, 0, tzinfo=plus_two))
    assert quote([base, sale], "web", None).price == eur(1000)  # type: ignore[union-attr]


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        price_for([], currency="EUR", channel="web", tier=None, at=datetime(2025, 6, 1))


@pytest.mark.parametrize(
    ("rule", "code", "field"),
    [
        (PriceRule(PriceKind.BASE, eur(-1)), PricingErrorCode.NEGATIVE_PRICE, "amount"),
        (
            PriceRule(PriceKind.SALE, eur(1), starts_at=hours(1), ends_at=hours(1)),
            PricingErrorCode.INVALID_WINDOW,
            "endsAt",
        ),
        (
            PriceRule(PriceKind.SALE, eur(1), starts_at=datetime(2025, 1, 1)),
            PricingErrorCode.INVALID_WINDOW,
            "startsAt",
        ),
        (PriceRule(PriceKind.TIER, eur(1)), PricingErrorCode.TIER_REQUIRED, "tier"),
        (PriceRule(PriceKind.CHANNEL, eur(1)), PricingErrorCode.CHANNEL_REQUIRED, "channel"),
        (PriceRule(PriceKind.SALE, eur(1), tier="gold"), PricingErrorCode.TIER_NOT_ALLOWED, "tier"),
        (PriceRule(PriceKind.BASE, eur(1), tier="gold"), PricingErrorCode.TIER_NOT_ALLOWED, "tier"),
        (
            PriceRule(PriceKind.BASE, eur(1), channel="web"),
            PricingErrorCode.CHANNEL_NOT_ALLOWED,
            "channel",
        ),
    ],
)
def test_validate_rule_codes(rule: PriceRule, code: PricingErrorCode, field: str) -> None:
    with pytest.raises(DomainError) as caught:
        validate_rule(rule)
    assert caught.value.code == code
    assert caught.value.field == field


def test_validate_rule_accepts_valid_rules() -> None:
    validate_rule(PriceRule(PriceKind.BASE, eur(0)))
    validate_rule(PriceRule(PriceKind.CHANNEL, eur(1), channel="web", ends_at=hours(1)))
    validate_rule(PriceRule(PriceKind.TIER, eur(1), channel="app", tier="gold"))
    validate_rule(PriceRule(PriceKind.SALE, eur(1), "web", None, hours(-1), hours(1)))
