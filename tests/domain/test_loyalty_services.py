"""Points use cases against the in-memory fakes: earning on a completed order, spending,
giving back on cancel and returns, staff adjustments, expiry, tiers and the program's rules.
Assertions are on balances, ledger entries, events and error codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.shop import Shop, small_shop
from domain.errors import DomainError
from domain.loyalty import services as points
from domain.loyalty.model import EntryKind, PointsEntry
from domain.loyalty.program import Tier
from domain.money import Money
from domain.orders.model import Order

AT_TIER = (Tier("BRONZE", 0, 100), Tier("SILVER", 10_000, 150), Tier("GOLD", 50_000, 200))


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def new_member(shop: Shop, tier: str = "BRONZE") -> int:
    return await shop.add_member(tier=tier)


async def placed(shop: Shop, *, quantity: int = 1, member_id: int | None = None) -> Order:
    async with shop.uow() as uow:
        order_id = await uow.orders.add(shop.web_order(quantity=quantity, member_id=member_id))
        order = await uow.orders.get(order_id)
    assert order is not None
    return order


async def balance(shop: Shop, member_id: int) -> int:
    return await points.member_balance(shop.uow, member_id, clock=shop.clock)


def ledger(shop: Shop, member_id: int) -> list[tuple[EntryKind, int, int]]:
    return [
        (e.kind, e.points, e.balance_after) for e in shop.state.entries if e.member_id == member_id
    ]


def events(shop: Shop, topic: str) -> list[dict[str, object]]:
    return [m.payload for m in shop.state.outbox.values() if m.topic == topic]


async def adjust(shop: Shop, member_id: int, amount: int, reason: str = "goodwill") -> int:
    return await points.adjust(
        shop.uow, shop.owner, member_id=member_id, points=amount, reason=reason, clock=shop.clock
    )


async def earn(shop: Shop, order: Order) -> int:
    async with shop.uow() as uow:
        return await points.earn_for_order(uow, order, at=shop.clock.now(), actor="system")


async def test_staff_adjustments_add_and_take_points_with_a_reason(shop: Shop) -> None:
    member = await new_member(shop)

    assert await adjust(shop, member, 500) == 500
    assert await adjust(shop, member, -120, reason="mistake") == 380

    assert ledger(shop, member) == [(EntryKind.ADJUST, 500, 500), (EntryKind.ADJUST, -120, 380)]
    (lot,) = shop.state.lots.values()
    assert (lot.lot.points, lot.lot.remaining) == (500, 380)
    assert lot.lot.expires_at == shop.clock.now() + timedelta(days=365)


@pytest.mark.parametrize(
    ("amount", "reason", "code"),
    [(0, "x", "INVALID_POINTS"), (10, "  ", "REASON_REQUIRED"), (-1, "x", "INSUFFICIENT_POINTS")],
)
async def test_refused_adjustments_change_nothing(
    shop: Shop, amount: int, reason: str, code: str
) -> None:
    member = await new_member(shop)

    with pytest.raises(DomainError) as refused:
        await adjust(shop, member, amount, reason=reason)

    assert refused.value.code == code
    assert shop.state.entries == [] and shop.state.lots == {}


async def test_only_managers_adjust_and_only_members_that_exist(shop: Shop) -> None:
    member = await new_member(shop)
    with pytest.raises(DomainError) as clerk:
        await points.adjust(
            shop.uow, shop.clerk, member_id=member, points=5, reason="x", clock=shop.clock
        )
    with pytest.raises(DomainError) as unknown:
        await adjust(shop, 999, 5)

    assert (clerk.value.code, unknown.value.code) == ("PERMISSION_DENIED", "NOT_FOUND")


async def test_a_completed_order_earns_once_with_the_tier_multiplier(shop: Shop) -> None:
    shop.state.tiers = list(AT_TIER)
    member = await new_member(shop, tier="SILVER")
    order = await placed(shop, quantity=2, member_id=member)  # 59.80 EUR: 59 units

    assert await earn(shop, order) == 88  # 59 * 150 %
    assert await earn(shop, order) == 0

    assert ledger(shop, member) == [(EntryKind.EARN, 88, 88)]
    assert shop.state.orders[order.id].points_earned == 88
    assert events(shop, "points.earned") == [
        {"memberId": member, "orderId": order.id, "points": 88}
    ]
    assert await balance(shop, member) == 88


async def test_spend_over_a_threshold_moves_the_member_up_a_tier(shop: Shop) -> None:
    shop.state.tiers = list(AT_TIER)
    member = await new_member(shop)
    order = await placed(shop, quantity=4, member_id=member)  # 119.60 EUR, over 100.00

    await earn(shop, order)

    assert shop.state.members[member].tier == "SILVER"
    (change,) = shop.state.tier_changes
    assert (change.from_tier, change.to_tier, change.spend_12m) == ("BRONZE", "SILVER", 11_960)
    assert events(shop, "member.tier_changed") == [
        {"memberId": member, "from": "BRONZE", "to": "SILVER"}
    ]


async def test_a_guest_order_earns_nothing(shop: Shop) -> None:
    assert await earn(shop, await placed(shop)) == 0
    assert shop.state.entries == []


async def test_paying_with_points_burns_the_oldest_expiring_first(shop: Shop) -> None:
    member = await new_member(shop)
    await adjust(shop, member, 300)
    shop.clock.advance(days=30)
    await adjust(shop, member, 300)
    order = await placed(shop, quantity=2, member_id=member)

    async with shop.uow() as uow:
        paid = await points.redeem(
            uow,
            member_id=member,
            order_id=order.id,
            points=400,
            order_total=Money(5980, "EUR"),
            at=shop.clock.now(),
            actor="checkout",
        )

    assert paid == Money(400, "EUR")
    assert [s.lot.remaining for _, s in sorted(shop.state.lots.items())] == [0, 200]
    assert ledger(shop, member)[-1] == (EntryKind.BURN, -400, 200)
    assert events(shop, "points.burned") == [
        {"memberId": member, "orderId": order.id, "points": 400}
    ]


@pytest.mark.parametrize(
    ("held", "wanted", "code"),
    [(5000, 3000, "POINTS_CAP_EXCEEDED"), (500, 600, "INSUFFICIENT_POINTS")],
)
async def test_refused_redemptions_burn_nothing(
    shop: Shop, held: int, wanted: int, code: str
) -> None:
    member = await new_member(shop)
    await adjust(shop, member, held)
    order = await placed(shop, quantity=2, member_id=member)  # at most 50 %: 2990 points

    with pytest.raises(DomainError) as refused:
        async with shop.uow() as uow:
            await points.redeem(
                uow,
                member_id=member,
                order_id=order.id,
                points=wanted,
                order_total=Money(5980, "EUR"),
                at=shop.clock.now(),
                actor="checkout",
            )

    assert refused.value.code == code
    assert await balance(shop, member) == held and len(shop.state.entries) == 1


async def test_a_cancel_gives_back_what_the_order_burned(shop: Shop) -> None:
    member = await new_member(shop)
    order = replace(await placed(shop, member_id=member), points_redeemed=250)

    async with shop.uow() as uow:
        await points.give_back_for_cancel(uow, order, at=shop.clock.now(), actor="staff:1")

    assert ledger(shop, member) == [(EntryKind.BURN_REVERSAL, 250, 250)]
    assert shop.state.entries[0].dedupe_key == f"burn-back:{order.id}:cancel"


async def test_partial_returns_reverse_their_share_and_add_up_exactly(shop: Shop) -> None:
    member = await new_member(shop)
    order = await placed(shop, quantity=3, member_id=member)  # 89.70 EUR
    assert await earn(shop, order) == 89
    order = replace(order, points_earned=89, points_redeemed=30)

    first = await return_value(shop, order, 2990, return_id=1)
    second = await return_value(shop, order, 5980, return_id=2)

    assert first == (29, 10, Money(10, "EUR"))  # a third of 89 earned, of 30 burned
    assert second == (60, 20, Money(20, "EUR"))  # the rest: 89 and 30 in all
    assert await balance(shop, member) == 30  # 89 earned, 89 reversed, 30 given back
    reversals = [e for e in shop.state.entries if e.kind == EntryKind.EARN_REVERSAL]
    assert [(e.points, e.reversed_points, e.returned_value) for e in reversals] == [
        (-29, 29, 2990),
        (-60, 60, 5980),
    ]


async def test_a_return_takes_back_only_the_earned_points_left(shop: Shop) -> None:
    member = await new_member(shop)
    order = await placed(shop, quantity=3, member_id=member)
    await earn(shop, order)
    await adjust(shop, member, -80, reason="spent elsewhere")

    reversed_, back, _ = await return_value(
        shop, replace(order, points_earned=89), 8970, return_id=1
    )

    assert (reversed_, back) == (89, 0)
    entry = shop.state.entries[-1]
    assert (entry.points, entry.balance_after) == (-9, 0)
    assert "(80 already spent, not taken back)" in entry.reason


async def test_a_return_of_an_order_that_earned_nothing_leaves_the_balance(shop: Shop) -> None:
    member = await new_member(shop)
    await adjust(shop, member, 50)
    order = replace(await placed(shop, member_id=member), points_redeemed=20)

    assert await return_value(shop, order, 2990, return_id=7) == (0, 20, Money(20, "EUR"))

    entries = shop.state.entries
    assert [(e.kind, e.points) for e in entries[1:]] == [
        (EntryKind.BURN_REVERSAL, 20),
        (EntryKind.EARN_REVERSAL, 0),  # remembers the returned value for the next return
    ]
    assert (entries[-1].reason, entries[-1].returned_value, entries[-1].balance_after) == (
        "return 7",
        2990,
        70,
    )


async def return_value(
    shop: Shop, order: Order, value: int, *, return_id: int
) -> tuple[int, int, Money]:
    async with shop.uow() as uow:
        return await points.reverse_for_order_return(
            uow,
            order,
            returned_value=value,
            return_id=return_id,
            at=shop.clock.now(),
            actor="staff:1",
        )


async def test_expiry_records_what_lapsed(shop: Shop) -> None:
    member = await new_member(shop)
    await adjust(shop, member, 100)
    shop.clock.advance(days=200)
    await adjust(shop, member, 40)
    shop.clock.advance(days=200)  # the first lot lapsed 35 days ago

    assert await balance(shop, member) == 40
    assert await points.expire_due(shop.uow, clock=shop.clock) == 1
    assert await points.expire_due(shop.uow, clock=shop.clock) == 0

    assert ledger(shop, member)[-1] == (EntryKind.EXPIRE, -100, 40)
    assert await balance(shop, member) == 40


async def test_the_program_defaults_and_tier_multipliers(shop: Shop) -> None:
    shop.state.tiers = list(AT_TIER)
    async with shop.uow() as uow:
        rules = await points.program(uow)

    assert rules.earn.points_per_unit == 1 and rules.redeem.points_per_currency_unit == 100
    assert dict(rules.earn.tier_multipliers) == {"BRONZE": 100, "SILVER": 150, "GOLD": 200}


async def test_owners_change_the_rules_and_nonsense_is_refused(shop: Shop) -> None:
    shop.state.tiers = list(AT_TIER)

    changed = await points.update_program(
        shop.uow,
        shop.owner,
        earn={"pointsPerUnit": 2, "tierMultipliers": {"GOLD": 300}},
        redeem={"maxSharePercent": 20},
    )

    assert changed.earn.points_per_unit == 2 and changed.redeem.max_share_percent == 20
    assert dict(changed.earn.tier_multipliers) == {"BRONZE": 100, "SILVER": 150, "GOLD": 300}
    stored = shop.state.program
    assert stored is not None and dict(stored.earn.tier_multipliers) == {"GOLD": 300}
    for earn_settings, redeem_settings in (
        ({"pointsPerUnit": "many"}, {}),
        ({"channelMultipliers": "app"}, {}),
        ({"channelMultipliers": {"app": 20_000}}, {}),
        ({}, {"maxSharePercent": 150}),
    ):
        with pytest.raises(DomainError) as refused:
            await points.update_program(
                shop.uow, shop.owner, earn=earn_settings, redeem=redeem_settings
            )
        assert refused.value.code == "INVALID"
    assert shop.state.program == stored
    with pytest.raises(DomainError) as clerk:
        await points.update_program(shop.uow, shop.clerk, earn={}, redeem={})
    assert clerk.value.code == "PERMISSION_DENIED"


async def test_a_stored_ledger_entry_is_written_once(shop: Shop) -> None:
    member = await new_member(shop)
    entry = PointsEntry(member, EntryKind.EARN, 5, 5, None, "x", "y", dedupe_key="earn:1")
    async with shop.uow() as uow:
        await uow.points.add_entry(entry)

    with pytest.raises(ValueError):
        async with shop.uow() as uow:
            await uow.points.add_entry(entry)
    assert shop.state.entries == [entry]  # the failed unit of work was rolled back
