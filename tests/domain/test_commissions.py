"""Attribution at placement and commissions on completion and returns, against the in-memory
fakes: each role with its rule in words, the issue's example (a member bound to a Bellecour
clerk picks up at Part-Dieu), rule specificity, idempotent accrual, and a property over random
orders and partial returns."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory.shop import PRICES, Shop, small_shop
from domain.attribution.model import (
    Attribution,
    AttributionRole,
    BeneficiaryKind,
    Binding,
    BindingSource,
    CodeKind,
    CodeRecord,
    ScanRecord,
)
from domain.cart import services as cart
from domain.cart.services import DeliveryChoice
from domain.channels.model import LocationDraft
from domain.commissions import services as svc
from domain.commissions.model import accrual, net_paid
from domain.commissions.rules import CommissionRule, EntryKind, Sale, pick
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.identity.ports import StaffDraft
from domain.orders.checkout import checkout_complete
from domain.orders.model import Address, Buyer, Order, OrderLine
from domain.orders.pos import TillSale, pos_sale
from domain.orders.returns import create_return
from domain.orders.services import FulfilmentStep, fulfil, mark_paid
from domain.orders.states import FulfilmentStatus, OrderSource, OrderStatus

R = AttributionRole


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def bellecour(shop: Shop) -> tuple[int, int]:
    """A second store and its clerk "Clerk C4"; (store id, clerk id)."""
    async with shop.uow() as uow:
        store = await uow.locations.save_location(
            None, LocationDraft(handle="bellecour", name="Bellecour", kind="STORE")
        )
        clerk = await uow.identity.add_staff(
            StaffDraft("c4@example.com", "Clerk C4", "-", "CLERK", (store.id,))
        )
    return store.id, clerk.id


async def bind(shop: Shop, member_id: int, store_id: int, clerk_id: int) -> None:
    since = shop.clock.now() - timedelta(days=3)
    async with shop.uow() as uow:
        await uow.attribution.save_binding(
            Binding(
                member_id,
                store_id,
                clerk_id,
                BindingSource.SIGNUP,
                since,
                since + timedelta(days=365),
                rule="signed up with REF-C4",
            )
        )


async def rules(shop: Shop, *pairs: tuple[AttributionRole, int]) -> None:
    for role, bp in pairs:
        await svc.save_rule(shop.uow, shop.owner, CommissionRule(0, role, percent_bp=bp))


async def pickup_order(shop: Shop, member_id: int | None, quantity: int = 2) -> int:
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], quantity)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method="PICKUP", location_id=shop.store_id),
        clock=shop.clock,
        member_id=member_id,
    )
    principal = shop.member(member_id) if member_id else Principal(PrincipalKind.ANONYMOUS)
    placed = await checkout_complete(
        shop.uow, principal, token=view.cart.token, idempotency_key=None, clock=shop.clock
    )
    return placed.result.order_id


async def hand_over(shop: Shop, order_id: int) -> None:
    (f,) = shop.state.orders[order_id].fulfilments
    for step in (
        FulfilmentStep(f.id, FulfilmentStatus.READY),
        FulfilmentStep(f.id, FulfilmentStatus.PICKED_UP, code=f.pickup_code),
    ):
        await fulfil(shop.uow, shop.clerk, step=step, idempotency_key=None, clock=shop.clock)


def credited(shop: Shop, order_id: int) -> dict[AttributionRole, Attribution]:
    return {a.role: a for a in shop.state.attributions.get(order_id, [])}


def earned(shop: Shop, order_id: int) -> dict[tuple[str, int], int]:
    sums: dict[tuple[str, int], int] = {}
    for e in shop.state.commission_entries:
        if e.order_id == order_id:
            key = (e.beneficiary_kind.value, e.beneficiary_id)
            sums[key] = sums.get(key, 0) + e.amount
    return sums


async def test_the_issue_example_bound_clerk_referring_and_fulfilling_store(shop: Shop) -> None:
    store_b, clerk_c4 = await bellecour(shop)
    member = await shop.add_member()
    await bind(shop, member, store_b, clerk_c4)
    await rules(shop, (R.BOUND_CLERK, 300), (R.REFERRING_STORE, 100), (R.FULFILLING_STORE, 200))

    order_id = await pickup_order(shop, member, quantity=2)

    roles = credited(shop, order_id)
    assert set(roles) == {R.BOUND_CLERK, R.REFERRING_STORE, R.FULFILLING_STORE}
    since = (shop.clock.now() - timedelta(days=3)).date().isoformat()
    assert roles[R.BOUND_CLERK].rule == (
        f"the buyer is bound to Clerk C4 since {since} (signed up with REF-C4)"
    )
    assert roles[R.REFERRING_STORE].location_id == store_b
    assert roles[R.REFERRING_STORE].rule.startswith("the buyer is bound to Bellecour since")
    assert roles[R.FULFILLING_STORE].location_id == shop.store_id
    assert roles[R.FULFILLING_STORE].rule == "picked up at Part-Dieu"
    assert earned(shop, order_id) == {}  # nothing before completion

    await hand_over(shop, order_id)
    net = 2 * PRICES[0]
    assert earned(shop, order_id) == {
        ("STAFF", clerk_c4): accrual_of(net, 300),
        ("LOCATION", store_b): accrual_of(net, 100),
        ("LOCATION", shop.store_id): accrual_of(net, 200),
    }
    assert {e.period for e in shop.state.commission_entries} == {"2025-06"}

    line = shop.state.orders[order_id].lines[0]
    await create_return(
        shop.uow,
        shop.clerk,
        order_id=order_id,
        location_id=shop.store_id,
        lines={line.id: 1},
        restock=True,
        idempotency_key=None,
        clock=shop.clock,
    )
    kept = earned(shop, order_id)
    assert kept[("STAFF", clerk_c4)] == accrual_of(net, 300) - (accrual_of(net, 300) + 1) // 2
    reversals = [e for e in shop.state.commission_entries if e.kind is EntryKind.REVERSAL]
    assert len(reversals) == 3 and all(e.amount < 0 and e.return_id for e in reversals)

    await create_return(
        shop.uow,
        shop.clerk,
        order_id=order_id,
        location_id=shop.store_id,
        lines={line.id: 1},
        restock=True,
        idempotency_key=None,
        clock=shop.clock,
    )
    assert set(earned(shop, order_id).values()) == {0}  # a full return: every role to 0


def accrual_of(net: int, bp: int) -> int:
    return (net * bp + 5_000) // 10_000


async def test_a_till_sale_credits_the_selling_clerk_and_store_and_accrues_at_once(
    shop: Shop,
) -> None:
    await rules(shop, (R.SELLING_CLERK, 100), (R.SELLING_STORE, 50))
    sale = TillSale(
        location_id=shop.store_id, lines=[(shop.variant_ids[0], 1)], buyer=Buyer(), tender="CASH"
    )
    done = await pos_sale(shop.uow, shop.clerk, sale=sale, idempotency_key=None, clock=shop.clock)

    roles = credited(shop, done.order_id)
    assert set(roles) == {R.SELLING_CLERK, R.SELLING_STORE}
    assert roles[R.SELLING_CLERK].rule == "Clerk rang up the sale at the till of Part-Dieu"
    assert roles[R.SELLING_STORE].rule == "sold at the till of Part-Dieu"
    clerk_id = shop.clerk.staff_id
    assert clerk_id is not None
    assert earned(shop, done.order_id) == {
        ("STAFF", clerk_id): accrual_of(PRICES[0], 100),
        ("LOCATION", shop.store_id): accrual_of(PRICES[0], 50),
    }
    entry = next(e for e in shop.state.commission_entries if e.role is R.SELLING_CLERK)
    assert entry.order_line_id == shop.state.orders[done.order_id].lines[0].id


async def test_a_franchised_store_is_paid_as_its_franchisee_and_credits_the_franchisee(
    shop: Shop,
) -> None:
    shop.state.franchised[shop.store_id] = (7, "Rhône Retail")
    await rules(shop, (R.FULFILLING_STORE, 200), (R.FRANCHISEE, 200))

    order_id = await pickup_order(shop, None)

    roles = credited(shop, order_id)
    assert roles[R.FULFILLING_STORE].franchisee_id == 7
    assert roles[R.FRANCHISEE].rule == (
        "Part-Dieu (fulfilling store) belongs to the franchisee Rhône Retail"
    )
    await hand_over(shop, order_id)
    assert earned(shop, order_id) == {("FRANCHISEE", 7): 2 * accrual_of(2 * PRICES[0], 200)}


async def test_campaign_and_venue_scans_count_within_the_last_touch_window(shop: Shop) -> None:
    member = await shop.add_member()
    now = shop.clock.now()
    for code_id, text, kind in (
        (1, "CAMP-SUMMER", CodeKind.CAMPAIGN),
        (2, "VEN-GYM", CodeKind.VENUE),
        (3, "VEN-OLD", CodeKind.VENUE),
    ):
        shop.state.attribution_codes[code_id] = CodeRecord(
            code_id, text, kind, text, None, None, "/", True, "test", now
        )
    for scan_id, code_id, days in ((1, 3, 45), (2, 2, 2), (3, 1, 1)):  # 45: outside 30 days
        shop.state.attribution_scans[scan_id] = ScanRecord(
            scan_id, code_id, member, None, now - timedelta(days=days)
        )
    await rules(shop, (R.VENUE_PARTNER, 500))

    order_id = await pickup_order(shop, member)

    roles = credited(shop, order_id)
    assert roles[R.CAMPAIGN].rule == (
        "the buyer last scanned the campaign code CAMP-SUMMER within 30 days before ordering "
        "(last touch)"
    )
    assert roles[R.VENUE_PARTNER].code_id == 2 and "VEN-GYM" in roles[R.VENUE_PARTNER].rule
    await hand_over(shop, order_id)
    assert earned(shop, order_id) == {("VENUE", 2): accrual_of(2 * PRICES[0], 500)}


async def test_an_expired_binding_credits_no_one(shop: Shop) -> None:
    store_b, clerk_c4 = await bellecour(shop)
    member = await shop.add_member()
    old = shop.clock.now() - timedelta(days=400)
    async with shop.uow() as uow:
        await uow.attribution.save_binding(
            Binding(member, store_b, clerk_c4, BindingSource.SCAN, old, old + timedelta(days=365))
        )
    order_id = await pickup_order(shop, member)
    assert set(credited(shop, order_id)) == {R.FULFILLING_STORE}


async def test_completion_accrues_once(shop: Shop) -> None:
    await rules(shop, (R.FULFILLING_STORE, 200))
    order_id = await pickup_order(shop, None)
    await hand_over(shop, order_id)
    completed = shop.state.orders[order_id]
    before = list(shop.state.commission_entries)

    async with shop.uow() as uow:  # the completion path run a second time
        assert await svc.accrue(uow, completed, at=shop.clock.now()) == []

    assert shop.state.commission_entries == before and len(before) == 1


def test_the_most_specific_rule_wins_channel_first_then_category() -> None:
    web = Sale("web", "WEB", "EUR")
    any_ = CommissionRule(1, R.BOUND_CLERK, percent_bp=100)
    by_kind = CommissionRule(2, R.BOUND_CLERK, channel_kind="WEB", percent_bp=200)
    by_category = CommissionRule(3, R.BOUND_CLERK, category_id=9, percent_bp=300)
    by_handle = CommissionRule(4, R.BOUND_CLERK, channel_handle="web", percent_bp=400)
    kind_and_category = replace(by_kind, id=5, category_id=9, percent_bp=500)
    every = [any_, by_kind, by_category, by_handle, kind_and_category]
    assert pick([any_], R.BOUND_CLERK, web) == any_
    assert pick([any_, by_category], R.BOUND_CLERK, web, [9]) == by_category
    assert pick([any_, by_category], R.BOUND_CLERK, web, [8]) == any_
    assert pick([by_kind, by_category], R.BOUND_CLERK, web, [9]) == by_kind
    assert pick(every, R.BOUND_CLERK, web, [9]) == by_handle
    assert pick([*every[:3], kind_and_category], R.BOUND_CLERK, web, [9]) == kind_and_category
    assert pick(every, R.BOUND_CLERK, Sale("app", "APP", "EUR"), [9]) == by_category
    assert pick(every, R.SELLING_CLERK, web) is None
    assert pick([replace(any_, active=False)], R.BOUND_CLERK, web) is None
    fixed_usd = CommissionRule(6, R.BOUND_CLERK, fixed_amount=100, currency="USD")
    assert pick([fixed_usd], R.BOUND_CLERK, web) is None


@pytest.mark.parametrize(
    ("rule", "code", "field"),
    [
        (CommissionRule(0, R.CAMPAIGN, percent_bp=100), "INVALID_ROLE", "role"),
        (CommissionRule(0, R.BOUND_CLERK), "INVALID_RATE", "percentBp"),
        (
            CommissionRule(0, R.BOUND_CLERK, percent_bp=100, fixed_amount=5, currency="EUR"),
            "INVALID_RATE",
            "percentBp",
        ),
        (CommissionRule(0, R.BOUND_CLERK, percent_bp=0), "INVALID_RATE", "percentBp"),
        (CommissionRule(0, R.BOUND_CLERK, percent_bp=10_001), "INVALID_RATE", "percentBp"),
        (CommissionRule(0, R.BOUND_CLERK, fixed_amount=5), "INVALID_CURRENCY", "currency"),
        (
            CommissionRule(0, R.BOUND_CLERK, fixed_amount=-5, currency="EUR"),
            "INVALID_RATE",
            "fixedAmount",
        ),
        (
            CommissionRule(0, R.BOUND_CLERK, percent_bp=5, channel_kind="TV"),
            "INVALID_CHANNEL",
            "channelKind",
        ),
        (
            CommissionRule(0, R.BOUND_CLERK, percent_bp=5, channel_handle="nope"),
            "INVALID_CHANNEL",
            "channelHandle",
        ),
        (
            CommissionRule(
                0, R.BOUND_CLERK, percent_bp=5, channel_kind="STORE", channel_handle="web"
            ),
            "INVALID_CHANNEL",
            "channelKind",
        ),
        (
            CommissionRule(0, R.BOUND_CLERK, percent_bp=5, category_id=999),
            "UNKNOWN_CATEGORY",
            "categoryId",
        ),
        (CommissionRule(99, R.BOUND_CLERK, percent_bp=5), "NOT_FOUND", "id"),
    ],
)
async def test_rules_that_cannot_apply_are_refused(
    shop: Shop, rule: CommissionRule, code: str, field: str
) -> None:
    with pytest.raises(DomainError) as refused:
        await svc.save_rule(shop.uow, shop.owner, rule)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert shop.state.commission_rules == {}


async def test_a_second_active_rule_for_the_same_place_is_refused_until_the_first_is_off(
    shop: Shop,
) -> None:
    first = await svc.save_rule(
        shop.uow, shop.owner, CommissionRule(0, R.BOUND_CLERK, percent_bp=300)
    )
    with pytest.raises(DomainError) as refused:
        await svc.save_rule(shop.uow, shop.owner, CommissionRule(0, R.BOUND_CLERK, percent_bp=400))
    assert refused.value.code == "DUPLICATE_RULE"
    await svc.save_rule(shop.uow, shop.owner, replace(first, active=False))
    second = await svc.save_rule(
        shop.uow, shop.owner, CommissionRule(0, R.BOUND_CLERK, percent_bp=400)
    )
    assert [r.active for r in await svc.list_rules(shop.uow, shop.owner)] == [False, True]
    assert second.id == 2
    with pytest.raises(DomainError) as denied:
        await svc.save_rule(shop.uow, shop.clerk, CommissionRule(0, R.SELLING_CLERK, percent_bp=1))
    assert denied.value.code == "PERMISSION_DENIED"


async def test_staff_read_commissions_by_role(shop: Shop) -> None:
    store_b, clerk_c4 = await bellecour(shop)
    member = await shop.add_member()
    await bind(shop, member, store_b, clerk_c4)
    await rules(shop, (R.BOUND_CLERK, 300), (R.REFERRING_STORE, 100), (R.FULFILLING_STORE, 200))
    order_id = await pickup_order(shop, member)
    await hand_over(shop, order_id)
    c4 = Principal(PrincipalKind.STAFF, f"staff:{clerk_c4}", Role.CLERK, frozenset({store_b}))
    manager_b = Principal(PrincipalKind.STAFF, "staff:99", Role.STORE_MANAGER, frozenset({store_b}))

    async def seen(who: Principal) -> set[tuple[str, int]]:
        _, totals = await svc.read_commissions(
            shop.uow, who, period="2025-06", beneficiary=None, limit=100
        )
        return {(t.beneficiary_kind.value, t.beneficiary_id) for t in totals}

    assert await seen(c4) == {("STAFF", clerk_c4)}
    assert await seen(shop.clerk) == set()  # the Part-Dieu clerk earned nothing here
    assert await seen(manager_b) == {("STAFF", clerk_c4), ("LOCATION", store_b)}
    assert await seen(shop.owner) == {
        ("STAFF", clerk_c4),
        ("LOCATION", store_b),
        ("LOCATION", shop.store_id),
    }
    with pytest.raises(DomainError) as denied:
        await svc.read_commissions(
            shop.uow, c4, period=None, beneficiary=(BeneficiaryKind.LOCATION, store_b), limit=10
        )
    assert denied.value.code == "PERMISSION_DENIED"
    with pytest.raises(DomainError) as bad:
        await svc.read_commissions(shop.uow, c4, period="2025-13", beneficiary=None, limit=10)
    assert bad.value.code == "INVALID_PERIOD"


def test_the_period_is_the_month_in_the_brand_timezone() -> None:
    late = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)  # already January in Paris
    assert svc.period_of(late, "Europe/Paris") == "2027-01"
    assert svc.period_of(late, "UTC") == "2026-12"


# --- the property: random orders, random partial returns ----------------------------------

lines_st = st.lists(
    st.tuples(st.integers(1, 5), st.integers(1, 50_000), st.integers(0, 100)),
    min_size=1,
    max_size=4,
)  # (quantity, unit price, discount percent)
rate_st = st.one_of(
    st.builds(lambda bp: CommissionRule(0, R.BOUND_CLERK, percent_bp=bp), st.integers(1, 10_000)),
    st.builds(
        lambda f: CommissionRule(0, R.BOUND_CLERK, fixed_amount=f, currency="EUR"),
        st.integers(1, 5_000),
    ),
)


@settings(max_examples=150, deadline=None)
@given(lines=lines_st, points_share=st.integers(0, 100), rule=rate_st, data=st.data())
async def test_accrued_less_reversed_is_the_commission_of_what_was_kept(
    lines: list[tuple[int, int, int]], points_share: int, rule: CommissionRule, data: st.DataObject
) -> None:
    shop = await small_shop()
    await svc.save_rule(shop.uow, shop.owner, rule)
    order_lines = tuple(
        OrderLine(
            i + 1,
            shop.variant_ids[0],
            "LS-S",
            "Shirt",
            q,
            p,
            None,
            q * p,
            discount=q * p * d // 100,
        )
        for i, (q, p, d) in enumerate(lines)
    )
    paid = sum(ln.paid for ln in order_lines)
    order = Order(
        1,
        "O2O-000001",
        shop.web.id,
        "web",
        OrderSource.WEB,
        None,
        OrderStatus.COMPLETED,
        shop.web_order().payment_status,
        "EUR",
        paid,
        0,
        0,
        paid,
        0,
        Buyer(),
        shop.web_order().delivery,
        shop.web_order().routing,
        (),
        None,
        None,
        "t",
        shop.clock.now(),
        order_lines,
        (),
        member_id=1,
        points_value=paid * points_share // 100,
    )
    shop.state.orders[1] = order
    shop.state.attributions[1] = [Attribution(R.BOUND_CLERK, None, 42, rule="bound")]
    async with shop.uow() as uow:
        await svc.accrue(uow, order, at=shop.clock.now())
    nets = net_paid(
        [ln.line_total for ln in order_lines],
        [ln.discount for ln in order_lines],
        order.points_value,
    )
    accrued = {e.order_line_id: e.amount for e in shop.state.commission_entries}
    for ln, net in zip(order_lines, nets, strict=True):
        assert accrued.get(ln.id, 0) == accrual(rule.rate, net=net, quantity=ln.quantity)

    # partial returns in random steps, the last one returning everything
    returned = dict.fromkeys(accrued, 0)
    for step, ln in enumerate(order_lines):
        while returned.get(ln.id, ln.quantity) < ln.quantity:
            now = data.draw(st.integers(1, ln.quantity - returned[ln.id]), label=f"return {ln.id}")
            async with shop.uow() as uow:
                await svc.reverse_for_return(
                    uow,
                    shop.state.orders[1],
                    return_id=step + 1,
                    returned={ln.id: now},
                    at=shop.clock.now(),
                )
            returned[ln.id] += now
            shop.state.orders[1].lines = tuple(
                replace(x, returned_quantity=returned.get(x.id, 0)) for x in order_lines
            )
            left = sum(e.amount for e in shop.state.commission_entries if e.order_line_id == ln.id)
            kept_net = net_of(ln, nets[ln.id - 1], returned[ln.id])
            expected = accrual(rule.rate, net=kept_net, quantity=ln.quantity - returned[ln.id])
            # exact at the ends; within the one cent that rounding both the accrual and the
            # proportional reversal half up may leave in between
            assert abs(left - expected) <= 1
            if returned[ln.id] == ln.quantity:
                assert left == 0
    assert sum(e.amount for e in shop.state.commission_entries) == 0


def net_of(line: OrderLine, net: int, returned: int) -> int:
    return net - net * returned // line.quantity


async def test_local_delivery_credits_the_store_and_completes_when_paid(shop: Shop) -> None:
    await rules(shop, (R.FULFILLING_STORE, 200))
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], 1)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(
            method="LOCAL_DELIVERY", address=Address(city="Lyon", latitude=45.76, longitude=4.85)
        ),
        clock=shop.clock,
    )
    placed = await checkout_complete(
        shop.uow,
        Principal(PrincipalKind.ANONYMOUS),
        token=view.cart.token,
        idempotency_key=None,
        clock=shop.clock,
    )
    order_id = placed.result.order_id
    assert credited(shop, order_id)[R.FULFILLING_STORE].rule == "delivered by Part-Dieu"
    (f,) = shop.state.orders[order_id].fulfilments
    for step in (
        FulfilmentStep(f.id, FulfilmentStatus.DISPATCHED),
        FulfilmentStep(f.id, FulfilmentStatus.DELIVERED),  # unpaid: not complete yet
    ):
        await fulfil(shop.uow, shop.owner, step=step, idempotency_key=None, clock=shop.clock)
    assert shop.state.orders[order_id].status is OrderStatus.DELIVERED
    assert earned(shop, order_id) == {}

    await mark_paid(shop.uow, shop.owner, order_id=order_id, reference="cash", clock=shop.clock)

    assert shop.state.orders[order_id].status is OrderStatus.COMPLETED
    assert earned(shop, order_id) == {("LOCATION", shop.store_id): accrual_of(PRICES[0], 200)}


async def test_units_left_at_the_counter_before_completion_earn_nothing(shop: Shop) -> None:
    await rules(shop, (R.FULFILLING_STORE, 1_000))
    order_id = await pickup_order(shop, None, quantity=3)
    (f,) = shop.state.orders[order_id].fulfilments
    line = shop.state.orders[order_id].lines[0]
    await fulfil(
        shop.uow,
        shop.clerk,
        step=FulfilmentStep(f.id, FulfilmentStatus.READY),
        idempotency_key=None,
        clock=shop.clock,
    )
    taken = FulfilmentStep(
        f.id, FulfilmentStatus.PICKED_UP, code=f.pickup_code, refused={line.id: 2}
    )
    await fulfil(shop.uow, shop.clerk, step=taken, idempotency_key=None, clock=shop.clock)

    assert shop.state.orders[order_id].status is OrderStatus.COMPLETED
    (entry,) = shop.state.commission_entries
    assert (entry.base_amount, entry.amount) == (PRICES[0], accrual_of(PRICES[0], 1_000))

    await create_return(
        shop.uow,
        shop.clerk,
        order_id=order_id,
        location_id=shop.store_id,
        lines={line.id: 1},
        restock=True,
        idempotency_key=None,
        clock=shop.clock,
    )
    assert earned(shop, order_id) == {("LOCATION", shop.store_id): 0}


async def test_a_return_in_a_later_month_lands_in_that_month(shop: Shop) -> None:
    await rules(shop, (R.FULFILLING_STORE, 200))
    order_id = await pickup_order(shop, None)
    await hand_over(shop, order_id)
    shop.clock.advance(days=40)
    line = shop.state.orders[order_id].lines[0]
    await create_return(
        shop.uow,
        shop.clerk,
        order_id=order_id,
        location_id=shop.store_id,
        lines={line.id: 2},
        restock=True,
        idempotency_key=None,
        clock=shop.clock,
    )
    assert [(e.kind.value, e.period) for e in shop.state.commission_entries] == [
        ("ACCRUAL", "2025-06"),
        ("REVERSAL", "2025-07"),
    ]
