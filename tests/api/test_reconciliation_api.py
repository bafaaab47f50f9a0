"""paymentReconciliation over HTTP on the test database (owner brand-wide, a store manager their
store only, clerks, members and anonymous callers refused), the ``app.py reconcile`` CSV
command (exit 1 on mismatches), and the scheduled run writing a day's file once."""

from __future__ import annotations

import asyncio
import csv
import io
import secrets
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from adapters.db import models as m
from adapters.db.database import close_database, open_database
from adapters.reconciliation_csv import daily_path, write_once
from adapters.settings import Settings
from app import cli, reconcile_daily
from schema.relay import to_global_id
from tests.api.trust_world import member_of, member_token
from tests.factories import World, make_world, staff_token

TZ = "Europe/Paris"
QUERY = """query($d: Date!, $c: String, $l: ID) {
  paymentReconciliation(date: $d, channel: $c, locationId: $l) {
    date clean locationIds
    scopes { channel locationId orders ordersTotal
      tenders { tender inKind amount received }
      refundsFailed refundsFailedCount }
    tills { id expected counted difference }
    provider { intents captured }
    mismatches { kind orderId refundId tillSessionId providerRef expected actual }
  } }"""


def _today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


async def _order(
    world: World,
    location: m.Location,
    *,
    total: int,
    tender: str,
    state: str,
    captured: int,
    payment_status: str = "PAID",
) -> m.Order:
    order = await m.Order.create(
        number=f"R-{secrets.token_hex(4)}",
        channel_id=world.web.id,
        channel_handle="web",
        source="WEB",
        status="PAID" if payment_status == "PAID" else "PLACED",
        payment_status=payment_status,
        currency="EUR",
        subtotal=total,
        delivery_total=0,
        tax_total=0,
        total=total,
        access_token=secrets.token_hex(16),
        location_ids=[location.id],
        payment_tender=tender if tender in ("CARD", "ALIPAY", "WECHAT_PAY") else None,
    )
    await m.Fulfilment.create(order=order, location_id=location.id, method="SHIP", status="OPEN")
    await m.Payment.create(
        order_id=order.id,
        tender=tender,
        amount=total,
        currency="EUR",
        state=state,
        captured=captured,
        provider="test" if tender == "CARD" else None,
        provider_ref=f"pi_test_{order.id}" if tender == "CARD" else None,
    )
    return order


async def _day(world: World) -> dict[str, Any]:
    """A card order at the warehouse, a cash sale at Part-Dieu with a short till, a card order
    at Bellecour with a failed refund."""
    shipped = await _order(
        world, world.warehouse, total=5000, tender="CARD", state="CAPTURED", captured=5000
    )
    till_sale = await _order(
        world, world.part_dieu, total=3000, tender="CASH", state="CAPTURED", captured=3000
    )
    now = datetime.now(UTC)
    till = await m.TillSessionRow.create(
        location_id=world.part_dieu.id,
        staff_subject="staff:1",
        opening_float=10_000,
        currency="EUR",
        opened_at=now,
        closed_at=now,
        expected=13_000,
        counted=12_900,
    )
    returned = await _order(
        world, world.bellecour, total=2000, tender="CARD", state="CAPTURED", captured=2000
    )
    payment = await m.Payment.get(order_id=returned.id)
    refund = await m.PaymentRefund.create(
        order_id=returned.id,
        payment_id=payment.id,
        tender="CARD",
        amount=2000,
        currency="EUR",
        state="FAILED",
        reason="return",
        last_error="card expired",
    )
    return {"shipped": shipped, "till_sale": till_sale, "till": till, "refund": refund}


def _mismatches(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    found = body["data"]["paymentReconciliation"]["mismatches"]
    return [(x["kind"], x["tillSessionId"] or x["refundId"] or x["orderId"]) for x in found]


async def test_the_owner_sees_every_store_and_the_provider(gql, settings) -> None:
    world = await make_world(products=1)
    made = await _day(world)
    owner = await staff_token(settings.secret_key)
    body = await gql(QUERY, {"d": _today().isoformat()}, token=owner)
    report = body["data"]["paymentReconciliation"]
    assert report["clean"] is False
    assert sorted(_mismatches(body)) == sorted(
        [
            ("REFUND_FAILED", to_global_id("Refund", made["refund"].id)),
            ("TILL_DIFFERENCE", to_global_id("TillSession", made["till"].id)),
        ]
    )
    scopes = {s["locationId"]: s for s in report["scopes"]}
    assert set(scopes) == {
        world.gid(world.warehouse),
        world.gid(world.part_dieu),
        world.gid(world.bellecour),
    }
    cash = scopes[world.gid(world.part_dieu)]
    assert (cash["orders"], cash["ordersTotal"]) == (1, 3000)
    assert cash["tenders"] == [
        {"tender": "CASH", "inKind": False, "amount": 3000, "received": 3000}
    ]
    assert scopes[world.gid(world.bellecour)]["refundsFailed"] == 2000
    assert report["tills"][0]["difference"] == -100
    assert report["provider"] == {"intents": 0, "captured": 0}  # the test-mode provider
    # one channel, one store
    body = await gql(
        QUERY,
        {"d": _today().isoformat(), "c": "web", "l": world.gid(world.warehouse)},
        token=owner,
    )
    report = body["data"]["paymentReconciliation"]
    assert report["clean"] is True and report["provider"] is None
    assert [s["ordersTotal"] for s in report["scopes"]] == [5000]
    # another day: nothing
    body = await gql(QUERY, {"d": "2001-01-01"}, token=owner)
    assert body["data"]["paymentReconciliation"]["scopes"] == []


async def test_a_store_manager_sees_only_their_store(gql, settings) -> None:
    world = await make_world(products=1)
    made = await _day(world)
    manager = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    body = await gql(QUERY, {"d": _today().isoformat()}, token=manager)
    report = body["data"]["paymentReconciliation"]
    assert report["locationIds"] == [world.gid(world.part_dieu)]
    assert [s["locationId"] for s in report["scopes"]] == [world.gid(world.part_dieu)]
    assert report["provider"] is None  # account-wide figures are not theirs
    assert _mismatches(body) == [("TILL_DIFFERENCE", to_global_id("TillSession", made["till"].id))]
    body = await gql(
        QUERY, {"d": _today().isoformat(), "l": world.gid(world.bellecour)}, token=manager
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_clerks_members_and_anonymous_callers_are_refused(gql, settings) -> None:
    world = await make_world(products=1)
    await _day(world)
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])
    ada = member_token(settings.secret_key, await member_of(world.part_dieu, "ada@example.com"))
    for token, code in (
        (clerk, "PERMISSION_DENIED"),
        (ada, "PERMISSION_DENIED"),
        (None, "UNAUTHENTICATED"),
    ):
        body = await gql(QUERY, {"d": _today().isoformat()}, token=token)
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == code


async def test_a_bad_location_id_is_a_user_error_not_a_crash(gql, settings) -> None:
    owner = await staff_token(settings.secret_key)
    body = await gql(QUERY, {"d": _today().isoformat(), "l": "nonsense"}, token=owner)
    assert body["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR", body


def _env(settings: Settings) -> dict[str, str]:
    env = {
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": str(settings.secret_key),
        "APP_ENV": "test",
        "DATABASE_URL": settings.database_url,
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


async def _invoke(settings: Settings, args: list[str]) -> Any:
    """Run the command line as cron would (its own event loop and pools, in a thread), then
    give the test session its database back (closed first: a pool left open on this loop
    would keep its driver's thread alive past the end of the run)."""
    await close_database()
    try:
        return await asyncio.to_thread(
            CliRunner().invoke, cli, args, env=_env(settings), catch_exceptions=False
        )
    finally:
        await close_database()
        await open_database(settings.database_url)


# the command opens its own pools on its own loop, as a separate process would
CLI = pytest.mark.filterwarnings("ignore::tortoise.warnings.TortoiseLoopSwitchWarning")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@CLI
async def test_the_csv_command_exits_1_on_mismatches(db, settings, tmp_path: Path) -> None:
    world = await make_world(products=1)
    made = await _day(world)
    out = tmp_path / "day.csv"
    day = _today().isoformat()
    result = await _invoke(settings, ["reconcile", "--date", day, "--out", str(out)])
    assert result.exit_code == 1, result.output
    rows = _rows(out.read_text())
    assert list(rows[0]) == ["kind", "scope", "metric", "value"]
    found = {(r["kind"], r["scope"], r["metric"]): r["value"] for r in rows}
    assert found[("report", "-", "day")] == day
    assert found[("report", "-", "mismatches")] == "2"
    part_dieu = f"channel:web/location:{world.part_dieu.id}"
    assert found[("orders", part_dieu, "total")] == "3000"
    assert found[("tender", part_dieu, "CASH.received")] == "3000"
    assert (
        found[("till", f"till:{made['till'].id}/location:{world.part_dieu.id}", "difference")]
        == "-100"
    )
    kinds = sorted(r["scope"] for r in rows if r["kind"] == "mismatch")
    assert kinds == ["REFUND_FAILED", "TILL_DIFFERENCE"]

    # the warehouse alone adds up: exit 0, CSV on stdout
    result = await _invoke(
        settings,
        ["reconcile", "--date", day, "--channel", "web", "--location", str(world.warehouse.id)],
    )
    assert result.exit_code == 0, result.output
    found = {(r["kind"], r["metric"]): r["value"] for r in _rows(result.stdout)}
    assert (found[("orders", "total")], found[("report", "mismatches")]) == ("5000", "0")


@CLI
async def test_a_bad_date_is_a_usage_error(db, settings) -> None:
    result = await _invoke(settings, ["reconcile", "--date", "2025-13-40"])
    assert result.exit_code == 2 and "--date" in result.output


async def test_the_scheduled_run_writes_yesterdays_file_once(services, settings) -> None:
    world = await make_world(products=1)
    await _order(world, world.warehouse, total=5000, tender="CARD", state="CAPTURED", captured=5000)
    today = _today()
    yesterday = date.fromordinal(today.toordinal() - 1)
    path = daily_path(settings.data_dir, yesterday.isoformat())
    path.unlink(missing_ok=True)

    class At:
        def __init__(self, hour: int) -> None:
            self.at = datetime(today.year, today.month, today.day, hour, 5, tzinfo=ZoneInfo(TZ))

        def now(self) -> datetime:
            return self.at.astimezone(UTC)

    services.clock = At(1)  # before RECONCILE_HOUR: yesterday is not due yet
    await reconcile_daily(services, forever=False)
    assert not path.exists()
    services.clock = At(3)
    await reconcile_daily(services, forever=False)
    rows = _rows(path.read_text())
    assert {(r["kind"], r["metric"]): r["value"] for r in rows}[("report", "day")] == (
        yesterday.isoformat()
    )
    first = path.read_text()
    await _order(world, world.warehouse, total=1, tender="CASH", state="CAPTURED", captured=1)
    await reconcile_daily(services, forever=False)  # already written: left as it is
    assert path.read_text() == first
    path.unlink()


async def test_two_processes_write_a_day_once(tmp_path: Path) -> None:
    path = tmp_path / "reconciliation" / "2025-06-01.csv"
    made: list[int] = []

    async def render() -> str:
        made.append(1)
        await asyncio.sleep(0.05)  # the other writer arrives while this one works
        return "kind,scope,metric,value\n"

    wrote = await asyncio.gather(*(write_once(path, render) for _ in range(5)))
    assert sorted(wrote) == [False, False, False, False, True]
    assert made == [1] and path.read_text() == "kind,scope,metric,value\n"
    assert [p.name for p in path.parent.iterdir()] == ["2025-06-01.csv"]  # no lock, no temp
