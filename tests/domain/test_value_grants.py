"""Value grants against the in-memory fakes: a store manager's daily caps, what counts against
them, an owner's approval; and the pure rules (a member's stores, the audit summary)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.memory.shop import Shop, small_shop
from domain.audit import services as trust
from domain.audit.grants import ApprovalRequired
from domain.audit.model import REDACTED, GrantLimits, GrantStatus, summarise
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.loyalty import services as loyalty
from domain.members.model import member_stores


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


def manager(shop: Shop) -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        subject="staff:7",
        role=Role.STORE_MANAGER,
        location_ids=frozenset({shop.store_id}),
    )


async def store_member(shop: Shop) -> int:
    member_id = await shop.add_member()
    async with shop.uow() as uow:
        await uow.members.set_tags(member_id, [f"store:{shop.store_id}"])
    return member_id


async def give(shop: Shop, who: Principal, member_id: int, points: int) -> int:
    return await loyalty.adjust(
        shop.uow,
        who,
        member_id=member_id,
        points=points,
        reason="goodwill",
        clock=shop.clock,
        limits=GrantLimits(points_per_day=1000),
    )


async def test_the_cap_counts_what_was_given_today_and_resets_tomorrow(shop: Shop) -> None:
    member_id = await store_member(shop)
    assert await give(shop, manager(shop), member_id, 600) == 600
    with pytest.raises(ApprovalRequired) as waiting:
        await give(shop, manager(shop), member_id, 401)
    assert await give(shop, manager(shop), member_id, -100) == 500  # taking back is not capped
    shop.clock.advance(days=1)
    assert await give(shop, manager(shop), member_id, 1000) == 1500

    grant = shop.state.grants[waiting.value.grant_id]
    assert (grant.status, grant.value) == (GrantStatus.PENDING, 401)
    decided = await trust.decide(
        shop.uow, shop.owner, grant_id=grant.id, approve=True, clock=shop.clock
    )
    assert decided.status is GrantStatus.APPROVED and decided.decided_by == shop.owner.subject
    assert await loyalty.member_balance(shop.uow, member_id, clock=shop.clock) == 1901


async def test_only_owners_decide_and_only_once(shop: Shop) -> None:
    member_id = await store_member(shop)
    with pytest.raises(ApprovalRequired) as waiting:
        await give(shop, manager(shop), member_id, 5000)
    grant_id = waiting.value.grant_id
    with pytest.raises(DomainError) as refused:
        await trust.decide(
            shop.uow, manager(shop), grant_id=grant_id, approve=True, clock=shop.clock
        )
    assert refused.value.code == "PERMISSION_DENIED"
    await trust.decide(shop.uow, shop.owner, grant_id=grant_id, approve=False, clock=shop.clock)
    with pytest.raises(DomainError) as again:
        await trust.decide(shop.uow, shop.owner, grant_id=grant_id, approve=True, clock=shop.clock)
    assert again.value.code == "NOT_PENDING"
    assert await loyalty.member_balance(shop.uow, member_id, clock=shop.clock) == 0


async def test_a_members_stores_and_the_audit_summary(shop: Shop) -> None:
    member_id = await shop.add_member()
    member = shop.state.members[member_id]
    tagged = replace(member, tags=("store:3", "clerk:9", "vip"), referral_location_id=5)
    assert member_stores(member) == frozenset() and member_stores(tagged) == {3, 5}

    summary = summarise(
        {
            "input": {
                "password": "s3cret",
                "email": "a@b.c",
                "memberPresence": "P1",
                "lines": [1] * 30,
            }
        }
    )
    assert (
        summary["input"]["password"] == REDACTED and summary["input"]["memberPresence"] == REDACTED
    )
    assert summary["input"]["email"] == "a@b.c" and len(summary["input"]["lines"]) == 20
