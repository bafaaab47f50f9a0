"""Member insight use cases against the in-memory fakes: tags from completed orders, a
member's profile, store retention and the search by tag, with who may see them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.memory.shop import PRICES, Shop, small_shop
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.insights import services as svc


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def bought(shop: Shop, member_id: int, *, days_ago: int, quantity: int = 1) -> int:
    """A completed web order of the member, ``days_ago`` days before the shop's now."""
    shop.clock.advance(days=-days_ago)
    async with shop.uow() as uow:
        order_id = await uow.orders.add(shop.web_order(quantity=quantity, member_id=member_id))
        order = await uow.orders.get(order_id)
        assert order is not None
        await svc.refresh_tags(uow, order, at=shop.clock.now())
    shop.clock.advance(days=days_ago)
    return order_id


async def test_a_completed_order_tags_the_member_with_what_they_like(shop: Shop) -> None:
    member = await shop.add_member()

    await bought(shop, member, days_ago=0)

    assert shop.state.members[member].tags == ("likes:shirts",)


async def test_a_members_profile_from_their_orders(shop: Shop) -> None:
    member = await shop.add_member()
    for days_ago in (200, 100, 10):
        await bought(shop, member, days_ago=days_ago, quantity=2)

    profile = await svc.insight(shop.uow, shop.owner, member_id=member, clock=shop.clock)

    assert (profile.orders, profile.days_since_last_purchase) == (3, 10)
    assert profile.spend_12_months == 3 * 2 * PRICES[0]
    assert (profile.channels, profile.top_category_ids) == (("web",), (shop.category_id,))
    assert profile.churn_risk == "LOW"


async def test_insight_is_for_staff_and_known_members(shop: Shop) -> None:
    member = await shop.add_member()
    for principal, member_id, code in (
        (shop.member(member), member, "PERMISSION_DENIED"),
        (shop.clerk, 999, "NOT_FOUND"),
    ):
        with pytest.raises(DomainError) as refused:
            await svc.insight(shop.uow, principal, member_id=member_id, clock=shop.clock)
        assert refused.value.code == code


async def test_store_retention_counts_the_members_it_brought(shop: Shop) -> None:
    returning = await shop.add_member(email="a@example.com", code="000000000000")
    once = await shop.add_member(email="b@example.com", code="000000000018")
    for member, days in ((returning, 60), (returning, 20), (once, 60)):
        await bought(shop, member, days_ago=days)
    for member in (returning, once):  # both signed up through the store
        signed_up = shop.state.members[member]
        shop.state.members[member] = replace(signed_up, referral_location_id=shop.store_id)

    cohorts = await svc.retention_report(
        shop.uow, shop.owner, location_id=shop.store_id, horizon_months=3
    )

    assert [(c.members, c.repeat_members) for c in cohorts] == [(2, 1)]
    manager = Principal(
        PrincipalKind.STAFF,
        subject="staff:9",
        role=Role.STORE_MANAGER,
        location_ids=frozenset({99}),
    )
    for location_id in (None, shop.store_id):
        with pytest.raises(DomainError) as refused:
            await svc.retention_report(shop.uow, manager, location_id=location_id)
        assert refused.value.code == "PERMISSION_DENIED"


async def test_staff_find_members_by_tag_page_by_page(shop: Shop) -> None:
    ids = [
        await shop.add_member(email=f"m{i}@example.com", code=code)
        for i, code in enumerate(("000000000000", "000000000018", "000000000026"))
    ]
    for member in ids:
        async with shop.uow() as uow:
            await uow.members.set_tags(member, [f"store:{shop.store_id}", "VIP"])

    first = await svc.members_by_tag(shop.uow, shop.clerk, tag="vip", limit=2, after_id=None)
    rest = await svc.members_by_tag(shop.uow, shop.clerk, tag="VIP", limit=2, after_id=ids[1])

    assert [m.id for m in first] == ids[:2] and [m.id for m in rest] == ids[2:]
