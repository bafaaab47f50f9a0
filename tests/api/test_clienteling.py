"""Clienteling over GraphQL: the daily lists built once, seen by each role, completed with a
voucher (once, however retried), a message (with consent) or a call; counted in the reports."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.db import models as m
from adapters.settings import Settings
from schema.relay import parse_global_id, to_global_id
from tests.api.report_world import ReportWorld, make_report_world
from tests.conftest import GraphQLClient

DAY = "2027-03-01"
BUILD = "mutation($d: Date) { clientelingTasksBuild(day: $d) { added userErrors { code } } }"
MINE = "query($d: Date) { myTasks(day: $d) { id memberId memberName kind reason state action } }"
CLERK = """query($s: ID!, $d: Date) { clerkTasks(staffId: $s, day: $d) { id kind state } }"""
COMPLETE = """
mutation($t: ID!, $a: ClientelingAction!, $v: String, $msg: String) {
  taskComplete(taskId: $t, action: $a, voucherAmount: $v, message: $msg) {
    task { id state action doneAt } voucherId pendingGrantId messageSent replayed
    userErrors { field code message }
  }
}"""


@pytest.fixture
async def rw(db: str, settings: Settings) -> ReportWorld:
    """The report world, and a category of Member 1's first order back in stock on 28 February."""
    rw = await make_report_world(settings.secret_key)
    category = await m.Category.create(name="Shirts", handle="shirts")
    variant = rw.world.variants[0]
    await m.Product.filter(id=rw.world.products[0].id).update(category_id=category.id)
    await m.OrderLine.create(
        order_id=rw.orders[1].id,
        variant_id=variant.id,
        sku=variant.sku,
        title="Linen Shirt",
        quantity=1,
        unit_price=10_000,
        line_total=10_000,
    )
    movement = await m.StockMovement.create(
        variant_id=variant.id,
        location_id=rw.world.bellecour.id,
        kind="RECEIPT",
        delta=5,
        on_hand_after=5,
    )
    await m.StockMovement.filter(id=movement.id).update(
        created_at=datetime(2027, 2, 28, 12, tzinfo=UTC)
    )
    return rw


async def build(gql: GraphQLClient, rw: ReportWorld) -> int:
    body = await gql(BUILD, {"d": DAY}, token=rw.tokens["owner"])
    payload = body["data"]["clientelingTasksBuild"]
    assert payload["userErrors"] == [], body
    added: int = payload["added"]
    return added


async def mine(gql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    body = await gql(MINE, {"d": DAY}, token=token)
    assert "errors" not in body, body
    tasks: list[dict[str, Any]] = body["data"]["myTasks"]
    return tasks


async def complete(gql: GraphQLClient, token: str, task: str, action: str, **more: Any) -> Any:
    body = await gql(COMPLETE, {"t": task, "a": action, **more}, token=token)
    assert "errors" not in body, body
    return body["data"]["taskComplete"]


async def test_the_daily_list_is_built_once(gql: GraphQLClient, rw: ReportWorld) -> None:
    assert await build(gql, rw) == 3
    assert await build(gql, rw) == 0  # the same day again: nothing new
    assert await m.ClientelingTask.filter(day=DAY).count() == 3
    tasks = await mine(gql, rw.tokens["alice"])
    m1, m2 = (to_global_id("Member", rw.members[i].id) for i in (0, 1))
    assert sorted((t["memberId"], t["kind"]) for t in tasks) == sorted(
        [(m1, "CHURN_RISK"), (m1, "BACK_IN_STOCK"), (m2, "CHURN_RISK")]
    )
    back = next(t for t in tasks if t["kind"] == "BACK_IN_STOCK")
    assert back["reason"] == "back in stock: shirts" and back["memberName"] == "Member 1"
    churn = next(t for t in tasks if t["kind"] == "CHURN_RISK" and t["memberId"] == m1)
    assert churn["reason"].startswith("no purchase for 108 days (usually every 4 days)")
    assert all(t["state"] == "OPEN" for t in tasks)
    assert await mine(gql, rw.tokens["bob"]) == []  # no member is bound to Bob


async def test_who_sees_a_clerks_list(gql: GraphQLClient, rw: ReportWorld) -> None:
    await build(gql, rw)
    alice = to_global_id("StaffUser", rw.staff["alice"])
    for who in ("bella", "owner", "alice"):
        body = await gql(CLERK, {"s": alice, "d": DAY}, token=rw.tokens[who])
        assert len(body["data"]["clerkTasks"]) == 3, (who, body)
    for who in ("paul", "bob"):
        body = await gql(CLERK, {"s": alice, "d": DAY}, token=rw.tokens[who])
        assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED", who
    body = await gql(BUILD, {"d": DAY}, token=rw.tokens["bella"])
    assert body["data"]["clientelingTasksBuild"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_a_voucher_is_issued_once_however_retried(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    await build(gql, rw)
    task = (await mine(gql, rw.tokens["alice"]))[0]
    done = await complete(gql, rw.tokens["alice"], task["id"], "VOUCHER", v="10.00")
    assert done["userErrors"] == [] and done["voucherId"] and not done["replayed"]
    assert (done["task"]["state"], done["task"]["action"]) == ("DONE", "VOUCHER")
    again = await complete(gql, rw.tokens["alice"], task["id"], "VOUCHER", v="10.00")
    assert again["replayed"] and again["voucherId"] is None
    vouchers = await m.Voucher.all()
    assert [(v.amount, v.currency) for v in vouchers] == [(1_000, "EUR")]
    grant = await m.ValueGrant.get()
    assert grant.reason == f"clienteling task {parse_global_id(task['id'])[1]}"
    # another clerk's task is not Bob's to complete
    other = (await mine(gql, rw.tokens["alice"]))[1]
    refused = await complete(gql, rw.tokens["bob"], other["id"], "CALL")
    assert refused["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_a_voucher_above_the_cap_waits_for_an_owner(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    await build(gql, rw)
    task = (await mine(gql, rw.tokens["alice"]))[0]
    done = await complete(gql, rw.tokens["alice"], task["id"], "VOUCHER", v="250.00")
    assert done["pendingGrantId"] and done["voucherId"] is None
    assert await m.Voucher.all().count() == 0
    assert (await m.ValueGrant.get()).status == "PENDING"
    missing = await complete(gql, rw.tokens["alice"], (await mine(gql, rw.tokens["alice"]))[1]["id"], "VOUCHER")  # fmt: skip
    assert missing["userErrors"][0]["field"] == ["voucher"]


async def test_a_message_needs_the_members_consent(gql: GraphQLClient, rw: ReportWorld) -> None:
    await build(gql, rw)
    m2 = rw.members[1]
    task = next(
        t
        for t in await mine(gql, rw.tokens["alice"])
        if t["memberId"] == to_global_id("Member", m2.id)
    )
    refused = await complete(gql, rw.tokens["alice"], task["id"], "MESSAGE", msg="New linen!")
    assert refused["userErrors"][0]["code"] == "NO_CONSENT"
    assert (await m.ClientelingTask.get(id=parse_global_id(task["id"])[1])).state == "OPEN"
    await m.Member.filter(id=m2.id).update(consents={"marketing": True})
    sent = await complete(gql, rw.tokens["alice"], task["id"], "MESSAGE", msg="New linen!")
    assert sent["messageSent"] and sent["task"]["action"] == "MESSAGE"
    message = await m.MemberMessage.get(member_id=m2.id)
    assert (message.channel, message.to, message.body) == ("EMAIL", m2.email, "New linen!")
    assert await m.OutboxEvent.filter(topic="member.message_queued").count() == 1


async def test_tasks_done_count_in_the_report(gql: GraphQLClient, rw: ReportWorld) -> None:
    await build(gql, rw)
    for task in await mine(gql, rw.tokens["alice"]):
        assert (await complete(gql, rw.tokens["alice"], task["id"], "CALL"))["userErrors"] == []
    body = await gql(
        'query($c: ID) { performanceReport(clerk: $c, month: "2027-03") { tasksDone } }',
        {"c": to_global_id("StaffUser", rw.staff["alice"])},
        token=rw.tokens["alice"],
    )
    assert body["data"]["performanceReport"]["tasksDone"] == 3


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="rows are locked on PostgreSQL only",
)
async def test_concurrent_completions_issue_one_voucher(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    await build(gql, rw)
    task = (await mine(gql, rw.tokens["alice"]))[0]
    results = await asyncio.gather(
        *(complete(gql, rw.tokens["alice"], task["id"], "VOUCHER", v="10.00") for _ in range(4))
    )
    assert sum(1 for r in results if r["voucherId"]) == 1
    assert sum(1 for r in results if r["replayed"]) == 3
    assert await m.Voucher.all().count() == 1


async def test_a_birthday_within_the_week_is_on_the_list_once(
    gql: GraphQLClient, rw: ReportWorld
) -> None:
    """Member 2 turns a year older on 5 March: Alice's list of 1 March has it, once."""
    await m.Member.filter(id=rw.members[1].id).update(birthday="1990-03-05")
    assert await build(gql, rw) == 4
    birthday = [t for t in await mine(gql, rw.tokens["alice"]) if t["kind"] == "BIRTHDAY"]
    assert [(t["memberName"], t["reason"]) for t in birthday] == [
        ("Member 2", "Member 2's birthday is on 5 March")
    ]
    body = await gql(BUILD, {"d": "2027-03-02"}, token=rw.tokens["owner"])
    assert body["data"]["clientelingTasksBuild"]["added"] == 0  # the next day: not again
    assert await m.ClientelingTask.filter(kind="BIRTHDAY").count() == 1
