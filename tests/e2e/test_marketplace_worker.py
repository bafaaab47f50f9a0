"""The marketplace worker as it runs in production: ``python app.py worker`` processes on
PostgreSQL and Redis, the three fake marketplaces served over real sockets by this test process.

- A worker killed (SIGKILL) in the middle of a push loses nothing and duplicates nothing: the
  next worker leaves every marketplace showing what the channel's allocation gives.
- A worker killed after a shipment confirmation reached the marketplace, before it recorded it,
  does not confirm twice.
- Events written while no worker runs are applied when one starts; an event that keeps failing
  ends in the dead-letter stream and holds up neither the events read with it nor later ones.
- Two workers running at once make a call owed to a marketplace once.

Waits of production are shortened on purpose, and say so where they are: the leases of a
killed worker (a listing's 120 s, a call's) are aged in the database, and a pending stream
entry's idle time (30 s before another delivery) is aged with XCLAIM IDLE.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.exceptions import ResponseError

from adapters.db import models as m
from adapters.db.database import is_postgres
from adapters.events import STREAM
from adapters.marketplaces.sync import MarketplaceSync
from adapters.marketplaces.worker import DEAD_STREAM, GROUP, build_sync
from domain.outbox import relay
from schema.relay import to_global_id
from tests.factories import World, make_world, staff_token
from tools.fake_marketplaces.serve import serving

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
NAMES = ("amazon", "walmart", "ebay")
STATES = {"amazon": "FakeAmazonState", "walmart": "FakeWalmartState", "ebay": "FakeEbayState"}
TOKEN_PATHS = {
    "amazon": "/auth/o2/token",
    "walmart": "/v3/token",
    "ebay": "/identity/v1/oauth2/token",
}
OPTIONS = {
    "amazon": {"seller_id": "A1FAKESELLER", "marketplace_id": "A13V1IB3VIYZZH",
               "feed_poll": "0.05"},
    "walmart": {"ship_node": "10001", "feed_poll_interval": "0.05"},
    "ebay": {"marketplace_id": "EBAY_FR"},
}  # fmt: skip
LATE = 2.0  # seconds a delayed marketplace answer takes (the worker waits up to 10 s)

ADJUST = """mutation($i: InventoryAdjustInput!) { inventoryAdjust(input: $i) {
  inventoryLevel { onHand } userErrors { code message } } }"""
ORDER = """query($id: ID!) { order(id: $id) { status fulfilments { id } } }"""
SHIP = """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "UPS",
  trackingNumber: "1Z999") { order { status } userErrors { code message } } }"""


# ---------------------------------------------------------------------- the fakes


class Watched:
    """A fake's ASGI app, noting every request when it arrives (the fake records its
    exchanges only once it has answered, too late to know that a call is in flight). A
    request ``hold`` names is kept in flight: never answered nor passed on to the fake, and
    dropped when its caller goes away (a marketplace that did not take the call)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.arrived: list[tuple[str, str]] = []
        self.held: list[str] = []
        self.dropped: list[str] = []
        self._hold: tuple[str, str] | None = None

    def hold(self, method: str, path_end: str) -> None:
        self._hold = (method, path_end)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            self.arrived.append((method, path))
            if self._hold and method == self._hold[0] and path.endswith(self._hold[1]):
                self._hold = None
                self.held.append(path)
                while (await receive())["type"] != "http.disconnect":
                    pass
                self.dropped.append(path)
                return
        await self.app(scope, receive, send)

    def count(self, method: str, path_end: str = "") -> int:
        return sum(1 for m_, p in list(self.arrived) if m_ == method and p.endswith(path_end))


@dataclass
class Market:
    name: str
    channel: m.Channel
    base: str
    state: Any
    watch: Watched


@dataclass
class Setup:
    world: World
    markets: dict[str, Market]
    services: Any
    settings: Any
    gql: Any
    owner: str = ""
    logs: list[Path] = field(default_factory=list)


@pytest.fixture
def backing(settings: Any) -> None:
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): the worker runs as separate processes")
    if not settings.redis_url:
        pytest.skip("needs Redis (REDIS_URL): the worker reads its events from a Redis stream")


@pytest.fixture
async def setup(
    backing: None, db: str, services: Any, settings: Any, gql: Any, tmp_path: Path
) -> AsyncIterator[Setup]:
    world = await make_world(products=1)  # two SKUs, 10 in the warehouse and 3 at Part-Dieu
    await m.ChannelLocation.create(channel=world.marketplace, location=world.part_dieu)
    for handle, currency in (("walmart", "USD"), ("ebay", "EUR")):
        channel = await m.Channel.create(handle=handle, name=handle, kind="MARKETPLACE",
                                         currency=currency, allocation_share_percent=100)  # fmt: skip
        for location in (world.warehouse, world.part_dieu):
            await m.ChannelLocation.create(channel=channel, location=location)
    for variant in world.variants:  # Walmart sells in dollars
        await m.Price.create(variant=variant, kind="BASE", currency="USD", amount=3290)
    channels = {
        "amazon": world.marketplace,
        "walmart": await m.Channel.get(handle="walmart"),
        "ebay": await m.Channel.get(handle="ebay"),
    }
    with contextlib.ExitStack() as stack:
        markets = {}
        for name in NAMES:
            module = importlib.import_module(f"tools.fake_marketplaces.{name}")
            state = getattr(module, STATES[name])()
            watch = Watched(module.create_app(state))
            base = stack.enter_context(serving(watch))
            currency = "USD" if name == "walmart" else "EUR"
            seeded = {v.sku: {"quantity": 0, "price": 0, "currency": currency}
                      for v in world.variants}  # fmt: skip
            seeding = await asyncio.to_thread(httpx.post, f"{base}/_fake/listings", json=seeded)
            seeding.raise_for_status()
            markets[name] = Market(name, channels[name], base, state, watch)
        owner = await staff_token(settings.secret_key)
        yield Setup(world, markets, services, settings, gql, owner)


def accounts(markets: dict[str, Market]) -> str:
    return json.dumps(
        [
            {
                "channel": mk.channel.handle,
                "kind": name.upper(),
                "base_url": mk.base,
                "credentials": {"client_id": "id", "client_secret": "secret",
                                "refresh_token": "refresh"},
                "options": OPTIONS[name] | {"rate_scale": "1000", "backoff_initial": "0.01",
                                            "timeout": "10",
                                            "token_url": mk.base + TOKEN_PATHS[name]},
            }
            for name, mk in markets.items()
        ]
    )  # fmt: skip


# ---------------------------------------------------------------------- worker processes


class Worker:
    """One ``python app.py worker`` process, its output in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "app.py", "worker"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in the worker."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


@contextlib.contextmanager
def workers(s: Setup, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """Start workers on demand; every one still running is killed at the end."""
    env = {
        **os.environ,
        "DATABASE_URL": s.settings.database_url,
        "REDIS_URL": s.settings.redis_url,
        "SECRET_KEY": str(s.settings.secret_key),
        "DATA_DIR": str(s.settings.data_dir),
        "APP_ENV": "test",
        "MARKETPLACES": accounts(s.markets),
        "MARKETPLACE_PUSH_SECONDS": "0.2",
        "MARKETPLACE_IMPORT_SECONDS": "1e9",  # orders are imported by the test itself
        "OUTBOX_RELAY_SECONDS": "0.2",
    }
    started: list[Worker] = []

    def start() -> Worker:
        log = tmp_path / f"worker-{len(started) + 1}.log"
        s.logs.append(log)
        started.append(Worker(env, log))
        return started[-1]

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


def tails(s: Setup) -> str:
    return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in s.logs)


async def until(
    s: Setup, check: Callable[[], Any], what: str, seconds: float = 45.0
) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {seconds:g} s: {what}\n{tails(s)}")
        await asyncio.sleep(0.1)


async def settled(s: Setup, what: str) -> None:
    """Wait until every marketplace and listing row is in step with the stock rows."""
    try:
        await until(s, lambda: in_step(s), what)
    except AssertionError as error:
        raise AssertionError(f"{error}\nstill different: {await differences(s)}") from None


# ---------------------------------------------------------------------- the one truth


async def allocation(channel: m.Channel, variant_id: int) -> int:
    """What the channel may sell of the variant, from the stock rows of its locations (the
    channel's share of what is on hand, less reserved and safety stock, less its buffer)."""
    channel = await m.Channel.get(id=channel.id)
    locations = await m.ChannelLocation.filter(channel_id=channel.id).values_list(
        "location_id", flat=True
    )
    rows = await m.Stock.filter(variant_id=variant_id, location_id__in=list(locations))
    total = sum(max(0, r.on_hand - r.reserved - r.safety_stock) for r in rows)
    return max(0, total * channel.allocation_share_percent // 100 - channel.allocation_buffer)


async def shown(mk: Market) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{mk.base}/_fake/listings")
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found


async def differences(s: Setup) -> list[str]:
    """Every way a marketplace or a listing row is not in step with the stock rows."""
    found = []
    for name, mk in s.markets.items():
        listings = await shown(mk)
        rows = {
            r.variant_id: r for r in await m.MarketplaceListing.filter(channel_id=mk.channel.id)
        }
        for variant in s.world.variants:
            want = await allocation(mk.channel, variant.id)
            got = listings[variant.sku]["quantity"]
            if got != want:
                found.append(f"{name} {variant.sku}: shows {got}, the allocation gives {want}")
            row = rows.get(variant.id)
            if row is None:
                found.append(f"{name} {variant.sku}: no marketplace_listing row")
                continue
            if (row.pushed_quantity, row.pushed_price) != (got, listings[variant.sku]["price"]):
                found.append(
                    f"{name} {variant.sku}: the row says {row.pushed_quantity} at "
                    f"{row.pushed_price}, the marketplace shows {got} at "
                    f"{listings[variant.sku]['price']}"
                )
            state = (row.state, row.dirty, row.leased_until, row.attempts, row.last_error)
            if state != ("OK", False, None, 0, None):
                found.append(
                    f"{name} {variant.sku}: (state, dirty, lease, attempts, error) {state}"
                )
    return found


async def in_step(s: Setup) -> bool:
    return not await differences(s)


# ---------------------------------------------------------------------- actions


async def adjust(s: Setup, variant: m.Variant, location: m.Location, delta: int) -> None:
    """A stock change as staff make it: its commit writes the stock.changed outbox event."""
    data = {"variantId": s.world.gid(variant), "locationId": s.world.gid(location),
            "delta": delta, "reason": "correction",
            "idempotencyKey": f"adjust-{variant.id}-{location.id}-{datetime.now(UTC).timestamp()}"}  # fmt: skip
    body = await s.gql(ADJUST, {"i": data}, token=s.owner)
    assert body["data"]["inventoryAdjust"]["userErrors"] == [], body


def engine(s: Setup) -> MarketplaceSync:
    """The sync engine in this process (what ``app.py marketplace`` commands use)."""
    services = s.services
    sync = build_sync(accounts(s.markets), uow=services.uow, clock=services.clock,
                      queries=services.queries, redis_client=None)  # fmt: skip
    assert sync is not None
    return sync


async def import_one(s: Setup, mk: Market, sku: str, quantity: int) -> tuple[str, int]:
    """Every listing pushed once, then a buyer orders on the marketplace and the order is
    imported here (in this process). Returns the marketplace order id and our order id."""
    sync = engine(s)
    try:
        await sync.mark(list((await sync.channels(fresh=True)).values()), None)
        for handle in sync.adapters:
            await sync.push_due(handle)
        async with httpx.AsyncClient(timeout=5) as http:
            body = {"lines": [{"sku": sku, "quantity": quantity}],
                    "buyer": {"name": "Ada", "email": "ada@example.com"}}  # fmt: skip
            answer = await http.post(f"{mk.base}/_fake/orders", json=body)
            assert answer.status_code == 200, answer.text
            external = str(answer.json()["orderId"])
        assert await sync.import_orders(mk.channel.handle) == {"PLACED": 1}
    finally:
        await sync.aclose()
    order = await m.Order.get(external_reference=external)
    return external, order.id


async def ship(s: Setup, order_id: int) -> None:
    """Staff ship the order's fulfilment: the commit writes the order.shipped outbox event."""
    order = await s.gql(ORDER, {"id": to_global_id("Order", order_id)}, token=s.owner)
    (fulfilment,) = order["data"]["order"]["fulfilments"]
    shipped = await s.gql(SHIP, {"f": fulfilment["id"]}, token=s.owner)
    assert shipped["data"]["fulfilmentShip"]["userErrors"] == [], shipped


async def relay_here(s: Setup) -> None:
    """Publish the committed outbox events to the stream from this process, as any API
    server's relay does while no worker runs."""
    services = s.services
    while await relay(services.uow, services.publisher, clock=services.clock) > 0:
        pass


async def shipments(mk: Market, external: str) -> list[Any]:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{mk.base}/_fake/orders/{external}")
        answer.raise_for_status()
        found: list[Any] = answer.json()["shipments"]
        return found


POISON = {"id": "poison", "topic": "stock.changed", "aggregate": "x",
          "payload": '{"variantIds":["not-a-variant"]}', "at": "2026-12-02T10:00:00+00:00"}  # fmt: skip


async def age_until_dead(s: Setup) -> None:
    """Make the group's pending entries look idle for 31 s (the worker claims an entry again
    after 30 s idle) until the poison is in the dead-letter stream. XCLAIM ... IDLE JUSTID
    changes the idle time only: neither the owner nor the delivery count."""
    client = s.services.kv.client

    async def dead() -> bool:
        if any(d.get("id") == "poison" for d in await dead_letters(s)):
            return True
        for entry in await pending(s):
            if int(entry["time_since_delivered"]) < 30_000:
                await client.xclaim(STREAM, GROUP, entry["consumer"], 0,
                                    [entry["message_id"]], idle=31_000, justid=True)  # fmt: skip
        return False

    await until(s, dead, "the failing event in the dead-letter stream", seconds=30)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def dead_letters(s: Setup) -> list[dict[str, str]]:
    found = await s.services.kv.client.xrange(DEAD_STREAM)
    return [{_text(k): _text(v) for k, v in fields.items()} for _, fields in found]


async def pending(s: Setup) -> list[Any]:
    """The group's entries delivered and not acknowledged (none before the group exists)."""
    try:
        found: list[Any] = await s.services.kv.client.xpending_range(
            STREAM, GROUP, min="-", max="+", count=1000
        )
    except ResponseError as error:
        if "NOGROUP" not in str(error):
            raise
        return []
    return found


async def pending_ids(s: Setup) -> list[str]:
    return [_text(e["message_id"]) for e in await pending(s)]


# ---------------------------------------------------------------------- the tests


async def test_a_worker_killed_mid_push_loses_and_duplicates_nothing(
    setup: Setup, tmp_path: Path
) -> None:
    """Would fail if a push recorded its values (``pushed_quantity``, the mark cleared) before
    the marketplace took them: the killed call never took effect, and the next worker would
    find nothing to push (Amazon would keep showing 5); if a killed worker's lease kept its
    rows from the next, or the change made while no worker ran were dropped, the listings
    would not catch up; and a push counting a change twice would leave a wrong quantity."""
    s = setup
    amazon = s.markets["amazon"]
    first_variant, second = s.world.variants
    with workers(s, tmp_path) as start:
        first = start()
        await settled(s, "the start-up push of every listing")
        # the next Amazon listing call of this SKU stays in flight, and Amazon does not take it
        amazon.watch.hold("PATCH", f"/{first_variant.sku}")
        await adjust(s, first_variant, s.world.warehouse, -4)  # Amazon: 50 % of 9, less 1 = 3
        await until(s, lambda: amazon.watch.held, "the push reaching Amazon")
        first.kill()
        await until(s, lambda: amazon.watch.dropped, "Amazon dropping the call of the killed")
        row = await m.MarketplaceListing.get(
            channel_id=amazon.channel.id, variant_id=first_variant.id
        )
        assert row.dirty and row.leased_until is not None, "killed mid-push: leased, unrecorded"
        assert row.pushed_quantity == 5
        assert (await shown(amazon))[first_variant.sku]["quantity"] == 5
        # while no worker runs, the other SKU changes (Amazon: 50 % of 18, less 1 = 8)
        await adjust(s, second, s.world.part_dieu, 5)
        # the killed worker's lease (120 s) has run out
        past = datetime.now(UTC) - timedelta(seconds=1)
        await m.MarketplaceListing.filter(leased_until__not_isnull=True).update(leased_until=past)
        start()
        await settled(s, "every marketplace in step after the restart")
    assert await differences(s) == []
    quantities = {name: [(await shown(mk))[v.sku]["quantity"] for v in s.world.variants]
                  for name, mk in s.markets.items()}  # fmt: skip
    assert quantities == {"amazon": [3, 8], "walmart": [9, 18], "ebay": [9, 18]}
    told = [q for sku, q, _ in amazon.state.applied if sku == first_variant.sku]
    assert told[-1] == 3 and set(told) == {5, 3}, told  # absolute: only real states were told


async def test_a_worker_killed_after_amazon_took_a_shipment_does_not_confirm_twice(
    setup: Setup, tmp_path: Path
) -> None:
    """Would fail if the worker recorded the call only after making it and sent it again
    blindly after a crash (a second confirmShipment reaches Amazon: the arrivals count it even
    though Amazon keeps one package per reference), or if a call cut short stayed SENDING."""
    s = setup
    amazon = s.markets["amazon"]
    external, order_id = await import_one(s, amazon, s.world.variants[1].sku, 2)
    await ship(s, order_id)
    amazon.state.timeout_seconds = LATE
    amazon.state.fail_next("timeout", operation="confirmShipment")
    confirm = f"/orders/v0/orders/{external}/shipmentConfirmation"
    with workers(s, tmp_path) as start:
        first = start()
        await until(s, lambda: amazon.watch.count("POST", confirm) == 1, "the confirmation sent")
        first.kill()
        action = await m.MarketplaceAction.get(kind="SHIP")
        assert action.state == "SENDING", "killed before recording the call"
        # the killed worker's hold on the call has run out
        past = datetime.now(UTC) - timedelta(seconds=1)
        await m.MarketplaceAction.filter(id=action.id).update(next_attempt_at=past)
        # Amazon finishes the call it received
        await until(s, lambda: len(amazon.state.shipments[external]) == 1, "Amazon shipping it")
        start()

        async def done() -> bool:
            return (await m.MarketplaceAction.get(id=action.id)).state == "DONE"

        await until(s, done, "the call recorded DONE by the next worker")
    assert amazon.watch.count("POST", confirm) == 1, "confirmed twice"
    assert [x["tracking"] for x in await shipments(amazon, external)] == ["1Z999"]
    assert amazon.watch.count("GET", f"/orders/2026-01-01/orders/{external}") >= 1, "not asked"
    row = await m.MarketplaceAction.get(id=action.id)
    assert (row.state, row.last_error) == ("DONE", None)
    assert await m.MarketplaceAction.filter(kind="SHIP").count() == 1


async def test_events_written_while_no_worker_runs_are_applied_when_one_starts(
    setup: Setup, tmp_path: Path
) -> None:
    """Would fail if the entries added to the stream while no worker read it were skipped
    (a worker starting its reads at the stream's end); if an event that cannot be applied
    took the events read with it (the shipment, in the same first read, would never reach
    eBay, dead-lettered with it after five deliveries), blocked the consumer (the stock
    change made after it, with no restart since, would not reach the marketplaces) or were
    never dead-lettered. The start-up re-check of every listing would hide lost stock
    events: the shipment (an order event, which nothing re-checks) is the witness."""
    s = setup
    ebay = s.markets["ebay"]
    first_variant, second = s.world.variants
    external, order_id = await import_one(s, ebay, first_variant.sku, 1)
    client = s.services.kv.client
    with workers(s, tmp_path) as start:
        first = start()
        await settled(s, "the start-up push")
        await until(s, lambda: _none(pending_ids(s)), "the first worker acknowledging its reads")
        first.kill()  # the worker is down
        await ship(s, order_id)
        await adjust(s, first_variant, s.world.warehouse, -6)
        # an event the engine cannot apply, then the shipment and the stock change: they
        # reach the stream while no worker reads it, and the next worker reads them at once
        poison = _text(await client.xadd(STREAM, POISON))
        await relay_here(s)
        await adjust(s, second, s.world.part_dieu, -2)  # this one waits in the outbox
        start()
        await settled(s, "every marketplace catching up")
        await until(s, lambda: _count(shipments(ebay, external), 1), "the shipment on eBay")
        await until(s, lambda: _has(pending_ids(s), poison), "the failing event left pending")
        await adjust(s, second, s.world.warehouse, 7)
        await settled(s, "a change after the failing event applied")
        await until(s, lambda: _only(pending_ids(s), poison), "only the failing event pending")
        await age_until_dead(s)
        await until(s, lambda: _none(pending_ids(s)), "nothing left pending")
    assert [d["id"] for d in await dead_letters(s)] == ["poison"]
    assert [x["tracking"] for x in await shipments(ebay, external)] == ["1Z999"]
    assert await differences(s) == []


async def _count(found: Awaitable[list[Any]], wanted: int) -> bool:
    return len(await found) == wanted


async def _has(found: Awaitable[list[str]], wanted: str) -> bool:
    return wanted in await found


async def _none(found: Awaitable[list[str]]) -> bool:
    return not await found


async def test_two_workers_do_not_make_one_call_twice(setup: Setup, tmp_path: Path) -> None:
    """Every process may run the marketplace worker; Amazon takes 5 s to answer the
    confirmation. Would fail if a call in flight were leased for less than a call may last
    (it was 2 s on the first attempt): the second worker would take the row, find the call
    not in effect yet, and make it again."""
    s = setup
    amazon = s.markets["amazon"]
    external, order_id = await import_one(s, amazon, s.world.variants[1].sku, 1)
    amazon.state.timeout_seconds = 5.0
    amazon.state.fail_next("timeout", operation="confirmShipment")
    confirm = f"/orders/v0/orders/{external}/shipmentConfirmation"
    untouched = await m.MarketplaceListing.get(
        channel_id=amazon.channel.id, variant_id=s.world.variants[0].id
    )
    with workers(s, tmp_path) as start:
        start()
        start()

        async def both_running() -> bool:  # the start-up re-check of each marks every row
            row = await m.MarketplaceListing.get(id=untouched.id)
            return row.version >= untouched.version + 2

        await until(s, both_running, "both workers running")
        await ship(s, order_id)
        await until(s, lambda: amazon.watch.count("POST", confirm) >= 1, "the call made")

        async def done() -> bool:
            return await m.MarketplaceAction.filter(kind="SHIP", state="DONE").exists()

        await until(s, done, "the call recorded DONE")
        assert amazon.watch.count("POST", confirm) == 1, "confirmed twice"
    assert [x["tracking"] for x in await shipments(amazon, external)] == ["1Z999"]


async def _only(found: Awaitable[list[str]], wanted: str) -> bool:
    return await found == [wanted]
