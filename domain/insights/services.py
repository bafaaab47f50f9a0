"""Member tags and insight for staff: who a member was brought by, what they like, how they buy,
and how a store's or the brand's members come back month after month."""

from __future__ import annotations

from datetime import datetime

from domain.errors import NotFound, PermissionDenied
from domain.identity.model import Principal, Role
from domain.insights.model import Cohort, Insight, member_insight, preference_tags, retention
from domain.members.model import MemberRecord, member_stores
from domain.members.services import MemberView, member_view
from domain.orders.model import Order
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

STAFF = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)
SCAN_PAGES = 10  # pages of members read per tag search by store staff


async def refresh_tags(uow: UnitOfWork, order: Order, *, at: datetime) -> None:
    """After a completed order: tag the member with the store and clerk it went through, and
    with their preferred categories from their whole history."""
    if order.member_id is None:
        return
    member = await uow.members.by_id(order.member_id)
    if member is None:
        return
    kept = [t for t in member.tags if not t.startswith("likes:")]
    if order.attributed_location_id is not None:
        kept.append(f"store:{order.attributed_location_id}")
    if order.attributed_staff_id is not None:
        kept.append(f"clerk:{order.attributed_staff_id}")
    history = await uow.members.order_summaries(member_ids=[order.member_id], location_ids=None)
    likes = preference_tags(member_insight(history, now=at), await uow.members.category_handles())
    tags = list(dict.fromkeys([*kept, *likes]))
    if tags != list(member.tags):
        await uow.members.set_tags(order.member_id, tags)


async def insight(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, member_id: int, clock: Clock
) -> Insight:
    """Staff: RFM segment, frequency, last purchase, channels and churn risk of a member."""
    principal.require_staff(*STAFF)
    async with uow_factory() as uow:
        member = await uow.members.by_id(member_id)
        if member is None:
            raise NotFound("member", field="memberId")
        if member_view(principal, member) not in (MemberView.BRAND, MemberView.STORE):
            raise PermissionDenied("this member belongs to another store", field="memberId")
        history = await uow.members.order_summaries(member_ids=[member_id], location_ids=None)
    return member_insight(history, now=clock.now())


async def retention_report(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int | None,
    horizon_months: int = 6,
) -> tuple[Cohort, ...]:
    """Monthly cohorts and repeat rate for one store's members, or the brand's (owners)."""
    principal.require_staff(*STAFF)
    if location_id is None and not principal.brand_wide:
        raise PermissionDenied("name one of your stores", field="locationId")
    if location_id is not None and not principal.brand_wide:
        if location_id not in principal.location_ids:
            raise PermissionDenied("not one of your stores", field="locationId")
    async with uow_factory() as uow:
        orders = await uow.members.order_summaries(
            member_ids=None, location_ids=[location_id] if location_id is not None else None
        )
    return retention(orders, horizon_months=min(max(horizon_months, 1), 24))


async def members_by_tag(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    tag: str,
    limit: int,
    after_id: int | None,
) -> list[MemberRecord]:
    """Staff: members carrying a tag (store:3, clerk:12, likes:dresses …); store staff get
    only the members of their own stores."""
    principal.require_staff(*STAFF)
    found: list[MemberRecord] = []
    async with uow_factory() as uow:
        for _ in range(SCAN_PAGES):  # bounded: a store's staff never scan the whole brand
            page = await uow.members.by_tag(tag, limit=max(limit, 200), after_id=after_id)
            found.extend(
                m for m in page if principal.brand_wide or principal.location_ids & member_stores(m)
            )
            if len(found) >= limit or len(page) < max(limit, 200):
                break
            after_id = page[-1].id
    return found[:limit]
