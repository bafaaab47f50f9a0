"""The reports' rollup gives exactly the figures of the order queries: on a random small
world, for every scope and whole-month period, after a rebuild and after the order events
are applied (twice, late, out of order)."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from adapters.db import models as m
from adapters.db.report_queries import TortoisePerformanceQueries
from adapters.db.report_rollup import apply_orders, forget_ready, rebuild
from adapters.settings import Settings
from domain.reports.model import Period, Sales, Scope, ScopeKind, period_of
from tests.api.report_world import ReportWorld, add_member, add_order, add_staff, utc
from tests.factories import make_world

TZ = "Europe/Paris"
PERIODS = [
    ("2026-10", None, None),
    ("2026-11", None, None),
    ("2026-12", None, None),
    (None, date(2026, 10, 1), date(2026, 12, 31)),
    (None, date(2026, 11, 1), date(2026, 12, 31)),
    (None, date(2026, 10, 15), date(2026, 11, 30)),  # not whole months: the order queries
]


async def _world(secret: str, seed: int) -> tuple[ReportWorld, list[Scope]]:
    rnd = random.Random(seed)
    world = await make_world(products=1)
    bc, pd = world.bellecour.id, world.part_dieu.id
    till = await m.Channel.create(
        handle="store-bellecour", name="Bellecour", kind="STORE", currency="EUR", store_id=bc
    )
    rw = ReportWorld(world, till, secret)
    await add_staff(rw, "alice", "CLERK", [bc])
    await add_staff(rw, "bob", "CLERK", [pd])
    clerks = [rw.staff["alice"], rw.staff["bob"]]
    members = [await add_member(rw, i) for i in range(1, 9)]
    for n in range(1, 121):
        channel = rnd.choice([till, world.web, world.web])
        at = utc(2026, rnd.choice([9, 10, 11, 12]), rnd.randint(1, 30), rnd.randint(0, 23), 30)
        if rnd.random() < 0.15:  # around the months' edges in Paris
            edge = rnd.choice([(9, 30, 21), (10, 31, 23), (11, 30, 23)])  # midnight in Paris
            at = utc(2026, *edge, rnd.choice([0, 30, 59]))
        total = rnd.randint(1, 50) * 100
        roles: list[tuple[str, int | None, int | None]] = []
        if rnd.random() < 0.6:
            roles.append(("REFERRING_STORE", rnd.choice([bc, pd]), None))
        if rnd.random() < 0.5:
            roles.append(("BOUND_CLERK", rnd.choice([bc, pd]), rnd.choice(clerks)))
        if rnd.random() < 0.2:
            roles.append(("FULFILLING_STORE", pd, None))
        await add_order(
            rw,
            n,
            channel=channel,
            at=at,
            total=total,
            member=rnd.choice([*members, None]),
            status=rnd.choice(["COMPLETED"] * 4 + ["PAID", "CANCELLED"]),
            refunded=rnd.choice([0, 0, 0, total // 4, total]),
            location=rnd.choice([bc, pd, None]),
            staff=rnd.choice([*clerks, None]) if channel is till else None,
            roles=tuple(roles),
        )
    scopes = [Scope(ScopeKind.BRAND), Scope(ScopeKind.CHANNEL, till.id),
              Scope(ScopeKind.CHANNEL, world.web.id), Scope(ScopeKind.STORE, bc),
              Scope(ScopeKind.STORE, pd), *(Scope(ScopeKind.CLERK, c) for c in clerks)]  # fmt: skip
    return rw, scopes


def _periods() -> list[Period]:
    return [period_of(month=mo, first=a, last=b, tz=TZ) for mo, a, b in PERIODS]


async def _figures(scopes: list[Scope]) -> dict[tuple[Scope, str, str], tuple[Sales, Sales]]:
    q = TortoisePerformanceQueries()
    found = {}
    for scope in scopes:
        for period in _periods():
            for currency in ("EUR", "USD"):
                key = (scope, f"{period.first_day}..{period.last_day}", currency)
                found[key] = (
                    await q.sales(scope, period, currency=currency),
                    await q.online_influenced(scope, period, currency=currency),
                )
    return found


async def _by_queries(scopes: list[Scope]) -> dict[tuple[Scope, str, str], tuple[Sales, Sales]]:
    state = await m.ReportRollupState.all().values_list("timezone", flat=True)
    await m.ReportRollupState.all().delete()
    forget_ready()
    try:
        return await _figures(scopes)
    finally:
        if state:
            await rebuild(tz=TZ, first_month="2099-01")  # marks it ready again, rebuilds nothing


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    yield
    forget_ready()  # the tables are emptied for the next test


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_rollup_gives_the_queries_figures(db: str, settings: Settings, seed: int) -> None:
    rw, scopes = await _world(settings.secret_key, seed)
    expected = await _by_queries(scopes)
    assert any(s.orders for s, _ in expected.values())
    assert any(i.repeat_buyers for _, i in expected.values())

    # a rebuild of every month
    await rebuild(tz=TZ)
    assert await m.ReportMemberMonth.all().count() > 0
    assert await _figures(scopes) == expected
    row = await m.ReportMemberMonth.filter(
        scope_kind="BRAND", month="2026-11", orders__gt=0
    ).first()
    assert row is not None  # the whole months are read from the rollup:
    await m.ReportMemberMonth.filter(id=row.id).update(net=row.net + 1)
    assert await _figures(scopes) != expected
    await m.ReportMemberMonth.filter(id=row.id).update(net=row.net)

    # the events: refunds, a completion, a cancellation, applied twice and out of order
    orders = list(rw.orders.values())
    rnd = random.Random(seed)
    changed = rnd.sample(orders, 30)
    for order in changed:
        await m.Order.filter(id=order.id).update(
            status=rnd.choice(["COMPLETED", "COMPLETED", "RETURNED", "CANCELLED"]),
            refunded_total=rnd.randint(0, order.total),
        )
    await apply_orders([o.id for o in changed[15:]], tz=TZ)
    await apply_orders([o.id for o in changed], tz=TZ)
    await apply_orders([o.id for o in changed[:10]], tz=TZ)
    after = await _by_queries(scopes)
    assert after != expected
    assert await _figures(scopes) == after

    # the rollup built by events alone (every order applied, some twice), then a rebuild
    # from November on: the same rows
    await m.ReportMemberMonth.all().delete()
    await m.ReportOrder.all().delete()
    await apply_orders([o.id for o in orders[60:]], tz=TZ)
    await apply_orders([o.id for o in orders], tz=TZ)
    assert await _figures(scopes) == after
    rows = sorted(await m.ReportMemberMonth.filter(orders__gt=0).values_list(
        "scope_kind", "scope_id", "month", "member_id", "orders", "net"))  # fmt: skip
    await rebuild(tz=TZ, first_month="2026-11")
    again = sorted(await m.ReportMemberMonth.filter(orders__gt=0).values_list(
        "scope_kind", "scope_id", "month", "member_id", "orders", "net"))  # fmt: skip
    assert again == rows
    assert await _figures(scopes) == after


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: consumer groups")
async def test_the_worker_applies_the_events_once_a_killed_worker_left_them(
    db: str, settings: Settings
) -> None:
    import asyncio

    import redis.asyncio as aioredis

    from adapters.events import STREAM, RedisStreamPublisher
    from adapters.marketplaces.worker import StreamEvents
    from adapters.report_events import DEAD_STREAM, GROUP, apply_batch
    from domain.ports import OutboxMessage

    rw, scopes = await _world(settings.secret_key, 3)
    await rebuild(tz=TZ)
    client = aioredis.from_url(os.environ["REDIS_URL"])
    await client.delete(STREAM, DEAD_STREAM)
    try:
        first = StreamEvents(client, consumer="w1", idle_ms=50, group=GROUP)
        second = StreamEvents(client, consumer="w2", idle_ms=50, group=GROUP)
        await first.read(0.01)  # the group exists before the events
        publisher = RedisStreamPublisher(client)
        orders = list(rw.orders.values())[:20]
        for i, order in enumerate(orders):
            await m.Order.filter(id=order.id).update(status="COMPLETED", refunded_total=100)
            topic = "order.returned" if i % 2 else "order.completed"
            await publisher.publish(OutboxMessage(
                i + 1, topic, "order", {"orderId": order.id}, datetime.now(UTC)))  # fmt: skip
        assert len(await first.read(0.1)) == 20  # w1 is killed before it applies them
        await asyncio.sleep(0.1)
        assert await apply_batch(second, tz=TZ, wait_seconds=0.01) == 20
        expected = await _by_queries(scopes)
        assert await _figures(scopes) == expected
        # delivered again (acknowledged after a commit that a kill cut short): no change
        await apply_orders([o.id for o in orders], tz=TZ)
        assert await _figures(scopes) == expected
        assert (await client.xpending(STREAM, GROUP))["pending"] == 0
    finally:
        await client.delete(STREAM, DEAD_STREAM)
        await client.aclose()
