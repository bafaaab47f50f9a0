"""A small world of sales, bindings, commissions and tasks whose November 2026 figures are
known exactly (the brand's time zone is Europe/Paris: one hour ahead of UTC in November)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from adapters.db import models as m
from tests.factories import World, make_world, staff_token


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class ReportWorld:
    world: World
    till: m.Channel  # Bellecour's till
    secret: str
    tokens: dict[str, str] = field(default_factory=dict)
    staff: dict[str, int] = field(default_factory=dict)
    members: list[m.Member] = field(default_factory=list)
    orders: dict[int, m.Order] = field(default_factory=dict)
    codes: dict[str, m.AttributionCode] = field(default_factory=dict)


async def add_staff(rw: ReportWorld, name: str, role: str, locations: list[int]) -> None:
    email = f"{name}@example.com"
    rw.tokens[name] = await staff_token(rw.secret, role=role, location_ids=locations, email=email)
    rw.staff[name] = (await m.StaffUser.get(email=email)).id


async def add_member(rw: ReportWorld, i: int, **extra: Any) -> m.Member:
    member = await m.Member.create(
        email=f"member{i}@example.com",
        name=f"Member {i}",
        password_hash="x",
        member_code=f"M{i:04d}",
        **extra,
    )
    rw.members.append(member)
    return member


async def add_order(
    rw: ReportWorld,
    n: int,
    *,
    channel: m.Channel,
    at: datetime,
    total: int,
    member: m.Member | None = None,
    status: str = "COMPLETED",
    refunded: int = 0,
    location: int | None = None,
    staff: int | None = None,
    roles: tuple[tuple[str, int | None, int | None], ...] = (),
) -> m.Order:
    """An order written straight to the tables, with its attributions (role, store, clerk)."""
    order = await m.Order.create(
        number=f"T-{n}",
        channel_id=channel.id,
        channel_handle=channel.handle,
        source="STORE_TILL" if channel.kind == "STORE" else "WEB",
        status=status,
        payment_status="PAID",
        currency="EUR",
        subtotal=total,
        delivery_total=0,
        tax_total=0,
        total=total,
        refunded_total=refunded,
        member_id=member.id if member else None,
        attributed_location_id=location,
        attributed_staff_id=staff,
        access_token=f"tok{n}",
        created_at=at,
    )
    await m.Order.filter(id=order.id).update(created_at=at)
    for role, location_id, staff_id in roles:
        await m.OrderAttribution.create(
            order_id=order.id, role=role, location_id=location_id, staff_id=staff_id
        )
    rw.orders[n] = order
    return order


async def make_report_world(secret: str) -> ReportWorld:
    """Bellecour (clerk Alice, manager Bella), Part-Dieu (clerk Bob, manager Paul), an owner;
    members 1-5; orders 1-9; two codes; commission entries; clienteling tasks."""
    world = await make_world(products=1)
    bc, pd = world.bellecour.id, world.part_dieu.id
    till = await m.Channel.create(
        handle="store-bellecour", name="Bellecour", kind="STORE", currency="EUR", store_id=bc
    )
    rw = ReportWorld(world, till, secret)
    await add_staff(rw, "owner", "OWNER", [])
    await add_staff(rw, "bella", "STORE_MANAGER", [bc])
    await add_staff(rw, "paul", "STORE_MANAGER", [pd])
    await add_staff(rw, "alice", "CLERK", [bc])
    await add_staff(rw, "bob", "CLERK", [pd])
    alice, bob = rw.staff["alice"], rw.staff["bob"]
    m1, m2, m3, m4, m5 = [await add_member(rw, i) for i in range(1, 6)]

    # codes and bindings: m1 and m2 through Alice's code, m3 through the store's, in November;
    # m4 taken over at the till (no code), m5 in October
    c1 = await m.AttributionCode.create(code="REF-C1", kind="CLERK", location_id=bc, staff_id=alice)
    c2 = await m.AttributionCode.create(code="REF-S2", kind="STORE", location_id=bc)
    rw.codes = {"c1": c1, "c2": c2}
    for member, source, code, staff_id, at in (
        (m1, "SIGNUP", c1, alice, utc(2026, 11, 3, 10)),
        (m2, "SCAN", c1, alice, utc(2026, 11, 4, 10)),
        (m3, "SIGNUP", c2, None, utc(2026, 11, 6, 10)),
        (m4, "TILL", None, alice, utc(2026, 11, 7, 10)),
        (m5, "SIGNUP", c2, None, utc(2026, 10, 1, 10)),
    ):
        await m.MemberBinding.create(
            member_id=member.id,
            location_id=bc,
            staff_id=staff_id,
            source=source,
            code_id=code.id if code else None,
            bound_at=at,
        )

    bound = (("BOUND_CLERK", bc, alice), ("REFERRING_STORE", bc, None))
    web = world.web
    # Alice's till sales at Bellecour: 100.00 + (50.00 less 10.00 refunded) + 30.00 (a guest)
    await add_order(
        rw,
        1,
        channel=till,
        at=utc(2026, 11, 5, 9),
        total=10_000,
        member=m1,
        location=bc,
        staff=alice,
        roles=bound,
    )  # a till sale: not online-influenced
    await add_order(
        rw,
        2,
        channel=till,
        at=utc(2026, 11, 10, 9),
        total=5_000,
        member=m1,
        refunded=1_000,
        location=bc,
        staff=alice,
    )
    await add_order(
        rw, 3, channel=till, at=utc(2026, 11, 11, 9), total=3_000, location=bc, staff=alice
    )
    await add_order(
        rw,
        4,
        channel=till,
        at=utc(2026, 11, 12, 9),
        total=2_000,
        member=m2,
        status="PAID",
        location=bc,
        staff=alice,
    )  # not completed
    # online orders of Alice's members: a pick-up at Part-Dieu, a delivery, one placed on
    # 1 November in Paris (31 October in UTC), one placed on 1 December in Paris
    pickup = (*bound, ("FULFILLING_STORE", pd, None))
    await add_order(
        rw,
        5,
        channel=web,
        at=utc(2026, 11, 12, 9),
        total=8_000,
        member=m1,
        location=pd,
        roles=pickup,
    )
    await add_order(
        rw, 6, channel=web, at=utc(2026, 11, 20, 9), total=6_000, member=m2, roles=bound
    )
    await add_order(
        rw, 7, channel=web, at=utc(2026, 10, 31, 23, 30), total=2_500, member=m2, roles=bound
    )
    await add_order(
        rw, 8, channel=web, at=utc(2026, 11, 30, 23, 30), total=4_000, member=m2, roles=bound
    )
    # a web order of a member bound to no one
    await add_order(rw, 9, channel=web, at=utc(2026, 11, 21, 9), total=1_500, member=m5)

    # commissions: Alice 4.00 on order 5, 1.00 then 0.50 of it reversed, 9.99 in October;
    # Bellecour 3.00
    for order, kind, beneficiary, who, amount, period, at in (
        (5, "ACCRUAL", "STAFF", alice, 400, "2026-11", utc(2026, 11, 12, 12)),
        (5, "REVERSAL", "STAFF", alice, -100, "2026-11", utc(2026, 11, 25, 12)),
        (6, "ACCRUAL", "STAFF", alice, 999, "2026-10", utc(2026, 10, 30, 12)),
        (6, "ACCRUAL", "LOCATION", bc, 300, "2026-11", utc(2026, 11, 20, 12)),
        # dated 29 November, after November was closed: in December's statement
        (5, "REVERSAL", "STAFF", alice, -50, "2026-12", utc(2026, 11, 29, 12)),
    ):
        await m.CommissionEntry.create(
            order_id=rw.orders[order].id,
            role="BOUND_CLERK" if beneficiary == "STAFF" else "REFERRING_STORE",
            beneficiary_kind=beneficiary,
            beneficiary_id=who,
            kind=kind,
            base_amount=8_000,
            amount=amount,
            currency="EUR",
            period=period,
            at=at,
        )

    # clienteling: Alice did 2 tasks in November (one open, one done in October), Bob 1
    for staff_id, member, day, state in (
        (alice, m1, date(2026, 11, 2), "DONE"),
        (alice, m2, date(2026, 11, 9), "DONE"),
        (alice, m3, date(2026, 11, 9), "OPEN"),
        (alice, m1, date(2026, 10, 9), "DONE"),
        (bob, m4, date(2026, 11, 9), "DONE"),
    ):
        await m.ClientelingTask.create(
            staff_id=staff_id, member_id=member.id, kind="CHURN_RISK", day=day, state=state
        )
    return rw
