"""The eBay adapter against the fake eBay served over a real socket: token refresh, 429 storms,
500s, timeouts, rate buckets (in process, and shared through Redis), secrets kept out of logs,
bulk pushes, fulfillments, refunds and notifications seen from the fake's side."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.ebay import EbayMarketplace, ebay_public_key
from adapters.marketplaces.http import Buckets, MemoryBuckets, RedisBuckets
from domain.marketplaces.model import (
    Listing,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrder,
    Shipment,
    ShippedLine,
)
from tests.contract.ebay_spec import specs_present, validate_exchanges
from tools.fake_marketplaces.ebay import FakeEbayState, create_app
from tools.fake_marketplaces.serve import serving

SECRETS = {
    "client_id": "app-id-1",
    "client_secret": "cert-secret-1",
    "refresh_token": "v^1.1#r^1#RT",
}
# eBay's daily Fulfillment quota (100,000 calls) spread over the day is 1.157/s: this scale
# makes it 20 calls a second (burst 10), so waits are visible but short.
FULFILLMENT_20_PER_SECOND = str(20 / (100_000 / 86_400))


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Starlette, str]]:
    app = create_app()
    with serving(app) as base_url:
        yield app, base_url


@pytest.fixture
def state(server: tuple[Starlette, str]) -> Iterator[FakeEbayState]:
    fake = FakeEbayState(
        client_id=SECRETS["client_id"],
        client_secret=SECRETS["client_secret"],
        refresh_token=SECRETS["refresh_token"],
        timeout_delay=0.6,
    )
    fake.seed(
        {
            "SKU-1": {"quantity": 10, "price": 1999, "currency": "EUR"},
            "SKU-2": {"quantity": 5, "price": 450, "currency": "EUR"},
        }
    )
    server[0].state.fake = fake
    yield fake
    if specs_present:  # what went over the socket matches eBay's specs too
        validate_exchanges(fake.exchanges[:100])


@pytest.fixture
def base_url(server: tuple[Starlette, str]) -> str:
    return server[1]


def make(base_url: str, buckets: Buckets | None = None, **options: str) -> EbayMarketplace:
    account = MarketplaceAccount(
        channel=options.pop("channel", "marketplace-ebay-fr"),
        kind=MarketplaceKind.EBAY,
        base_url=base_url,
        credentials=SECRETS,
        options={
            "marketplace_id": "EBAY_FR",
            "rate_scale": "1000",
            "backoff_initial": "0.01",
            "timeout": "0.3",
        }
        | options,
    )
    return EbayMarketplace(account, buckets=buckets or MemoryBuckets())


@pytest.fixture
async def ebay(base_url: str, state: FakeEbayState) -> AsyncIterator[EbayMarketplace]:
    adapter = make(base_url)
    yield adapter
    await adapter.aclose()


async def placed(ebay: EbayMarketplace, state: FakeEbayState, **line: Any) -> MarketplaceOrder:
    raw = state.place_order([{"sku": "SKU-1", "quantity": 2} | line])
    order = await ebay.order(raw["orderId"])
    assert order is not None
    return order


def statuses(state: FakeEbayState, operation: str) -> list[int]:
    return [e.status for e in state.exchanges if e.operation == operation]


async def test_token_refreshed_before_it_expires(base_url: str, state: FakeEbayState) -> None:
    state.token_lifetime = 1
    ebay = make(base_url, token_margin="0.5")  # kept 0.5 s, refreshed after
    try:
        order = await placed(ebay, state)
        await asyncio.sleep(0.6)
        assert await ebay.order(order.order_id) is not None
        assert state.token_grants == 2 and 401 not in statuses(state, "getOrder")
    finally:
        await ebay.aclose()


async def test_token_refreshed_on_401(ebay: EbayMarketplace, state: FakeEbayState) -> None:
    order = await placed(ebay, state)
    state.expire_tokens()
    assert await ebay.order(order.order_id) is not None
    assert statuses(state, "getOrder") == [200, 401, 200]
    assert state.token_grants == 2


async def test_refused_refresh_token_is_a_final_failure(
    base_url: str, state: FakeEbayState
) -> None:
    state.refresh_token = "another"
    ebay = make(base_url)
    try:
        with pytest.raises(MarketplaceFailure) as failure:
            await ebay.order("12-34567-89012")
        assert not failure.value.retryable and failure.value.status == 400
    finally:
        await ebay.aclose()


async def test_429_storm_recovered_without_duplicate_shipments(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    order = await placed(ebay, state)
    state.fail_next(429, 429, 429, 429, operation="createShippingFulfillment")
    line = order.lines[0]
    await ebay.confirm_shipment(
        order,
        Shipment("ColiPoste", "6A42", datetime.now(UTC), (ShippedLine(line.line_id, "SKU-1", 2),)),
    )
    assert statuses(state, "createShippingFulfillment") == [429, 429, 429, 429, 201]
    summary = state.order_summary(order.order_id)
    assert summary is not None and len(summary["shipments"]) == 1


async def test_429_storm_on_every_call_of_a_bulk_push(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    state.fail_next(429, 429, 429)  # any operation: the lookups and the update share them
    results = await ebay.push_bulk(
        [Listing("SKU-1", 4, 2500, "EUR"), Listing("SKU-2", 1, 99, "EUR")]
    )
    assert all(r.accepted for r in results)
    assert state.listings["SKU-1"] == {"quantity": 4, "price": 2500, "currency": "EUR"}
    assert statuses(state, "bulkUpdatePriceQuantity")[-1] == 200
    assert statuses(state, "bulkUpdatePriceQuantity").count(200) == 1


async def test_a_storm_longer_than_the_retries_is_a_retryable_failure(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    state.fail_next(*([429] * 6), operation="getOrders")
    with pytest.raises(MarketplaceFailure) as failure:
        await ebay.orders_since(None)
    assert failure.value.retryable and failure.value.status == 429
    assert len(statuses(state, "getOrders")) == 6


async def test_500_retried(ebay: EbayMarketplace, state: FakeEbayState) -> None:
    order = await placed(ebay, state)
    state.fail_next(500, operation="getOrders")
    page = await ebay.orders_since(None)
    assert [o.order_id for o in page.orders] == [order.order_id]
    assert statuses(state, "getOrders") == [500, 200]


async def test_timeouts_retried_and_a_late_shipment_not_duplicated(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    order = await placed(ebay, state)
    state.fail_next("timeout", operation="getOrder")
    assert await ebay.order(order.order_id) is not None
    # the fake records the shipment, then answers too late: the retry meets a 409
    state.fail_next("timeout", operation="createShippingFulfillment")
    line = order.lines[0]
    await ebay.confirm_shipment(
        order,
        Shipment("ColiPoste", "6A43", datetime.now(UTC), (ShippedLine(line.line_id, "SKU-1", 2),)),
    )
    for _ in range(100):  # the late request may still be asleep in the fake
        if len(statuses(state, "createShippingFulfillment")) == 2:
            break
        await asyncio.sleep(0.02)
    # whichever of the late request and the retry comes second meets a 409
    assert sorted(statuses(state, "createShippingFulfillment")) == [201, 409]
    summary = state.order_summary(order.order_id)
    assert summary is not None and len(summary["shipments"]) == 1


async def test_rate_bucket_waits(base_url: str, state: FakeEbayState) -> None:
    ebay = make(base_url, rate_scale=FULFILLMENT_20_PER_SECOND)
    try:
        raw = state.place_order([{"sku": "SKU-1", "quantity": 1}])
        started = time.monotonic()
        for _ in range(16):  # burst 10, then 6 waits of 1/20 s
            await ebay.order(raw["orderId"])
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 3
    finally:
        await ebay.aclose()


def redis_url() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return None
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/13", parts.query, ""))


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL unset")
async def test_redis_buckets_shared_by_two_clients(base_url: str, state: FakeEbayState) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url() or "")
    prefix = f"o2o:test:ebay:{uuid.uuid4().hex}:"
    channel = "marketplace-ebay-shared"
    one = make(base_url, RedisBuckets(client, prefix=prefix), channel=channel,
               rate_scale=FULFILLMENT_20_PER_SECOND)  # fmt: skip
    two = make(base_url, RedisBuckets(client, prefix=prefix), channel=channel,
               rate_scale=FULFILLMENT_20_PER_SECOND)  # fmt: skip
    try:
        raw = state.place_order([{"sku": "SKU-1", "quantity": 1}])

        async def calls(adapter: EbayMarketplace) -> None:
            for _ in range(8):
                await adapter.order(raw["orderId"])

        started = time.monotonic()
        await asyncio.gather(calls(one), calls(two))  # 16 calls, one bucket of 10 at 20/s
        elapsed = time.monotonic() - started
        assert 0.25 <= elapsed < 3
        assert await client.exists(f"{prefix}ebay:{channel}:fulfillment")
    finally:
        await one.aclose()
        await two.aclose()
        keys = await client.keys(prefix + "*")
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_tokens_and_secrets_never_logged(
    ebay: EbayMarketplace, state: FakeEbayState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    order = await placed(ebay, state)
    state.fail_next(429, operation="getOrder")
    state.expire_tokens()
    await ebay.order(order.order_id)
    failure = None
    try:
        await ebay.refund(order, [ShippedLine("unknown-line", "SKU-1", 1, amount=100)], reason="x")
    except MarketplaceFailure as error:
        failure = str(error)
    assert failure is not None and "34914" in failure
    issued = [
        json.loads(e.response_body)["access_token"]
        for e in state.exchanges
        if e.operation == "token" and e.status == 200
    ]
    assert len(issued) == 2
    logged = caplog.text + failure + repr(ebay.account)
    assert "retry" in caplog.text  # the retries were logged...
    for secret in [*issued, *SECRETS.values()]:  # ...without a token or secret
        assert secret not in logged


async def test_bulk_push_of_2000_skus(base_url: str, state: FakeEbayState) -> None:
    # one batch at a time: client and fake share this process, so parallel requests over the
    # loopback only contend for the GIL (against eBay, the default 4 in flight hide latency)
    ebay = make(base_url, concurrency="1")
    state.seed(
        {f"BULK-{i:05d}": {"quantity": 0, "price": 100, "currency": "EUR"} for i in range(2000)}
    )
    listings = [Listing(f"BULK-{i:05d}", i % 17, 1000 + i, "EUR") for i in range(2000)]
    results = await ebay.push_bulk(listings)
    assert len(results) == 2000 and all(r.accepted for r in results)
    assert [r.sku for r in results] == [listing.sku for listing in listings]
    assert state.listings["BULK-01999"] == {"quantity": 1999 % 17, "price": 2999, "currency": "EUR"}
    assert len(statuses(state, "bulkUpdatePriceQuantity")) == 80  # 25 SKUs a call
    # offer ids stay known: pushing again only updates
    before = len(statuses(state, "getOffers"))
    await ebay.push_bulk(listings[:50])
    assert len(statuses(state, "getOffers")) == before
    await ebay.aclose()


async def test_fulfillment_refund_and_notifications_seen_by_the_fake(
    ebay: EbayMarketplace, state: FakeEbayState, base_url: str
) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: Request) -> Response:
        received.append((await request.body(), dict(request.headers)))
        return Response(status_code=204)

    with serving(Starlette(routes=[Route("/ebay", hook, methods=["POST"])])) as hook_url:
        async with httpx.AsyncClient(base_url=base_url) as control:
            config = {"notify_url": f"{hook_url}/ebay", "duplicate_notifications": True}
            assert (await control.post("/_fake/config", json=config)).status_code == 200
            created = await control.post(
                "/_fake/orders",
                json={
                    "lines": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}],
                    "buyer": {"name": "Ada", "email": "ada@example.com", "phone": "+33600000000"},
                },
            )
            order_id = created.json()["orderId"]
            assert len(received) == 2  # duplicated on purpose
            ids = [ebay.order_ids_in_notification(body, headers) for body, headers in received]
            assert ids == [[order_id], [order_id]]
            body, headers = received[0]
            assert await ebay.verify_notification(body, headers)
            assert await ebay.verify_notification(received[1][0], received[1][1])
            forged = body.replace(order_id.encode(), b"99-99999-99999")
            assert forged != body and not await ebay.verify_notification(forged, headers)
            assert not await ebay.verify_notification(body, {})
            assert statuses(state, "getPublicKey") == [200]  # the key is kept by its kid

            order = await ebay.order(order_id)
            assert order is not None and order.buyer.phone == "+33600000000"
            first, second = order.lines
            await ebay.confirm_shipment(
                order,
                Shipment("ColiPoste", "6A44", datetime.now(UTC),
                         (ShippedLine(first.line_id, "SKU-1", 2),)),
            )  # fmt: skip
            await ebay.refund(order, [ShippedLine(second.line_id, "SKU-2", 1, amount=450)],
                              reason="SELLER_OUT_OF_STOCK")  # fmt: skip
            summary = (await control.get(f"/_fake/orders/{order_id}")).json()
            assert summary["shipments"] == [
                {"carrier": "ColiPoste", "tracking": "6A44",
                 "lines": [{"lineId": first.line_id, "quantity": 2}]}
            ]  # fmt: skip
            assert summary["refunds"] == [{"lineId": second.line_id, "amount": 450}]
            assert summary["status"] == "IN_PROGRESS" and summary["acknowledged"] is False

            await control.post(f"/_fake/orders/{order_id}/cancel")
            assert ebay.order_ids_in_notification(received[-1][0], received[-1][1]) == [order_id]


async def test_notification_bodies(ebay: EbayMarketplace) -> None:
    account_deletion = {
        "metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0"},
        "notification": {"notificationId": "n1", "data": {"username": "u", "userId": "x"}},
    }
    assert ebay.order_ids_in_notification(json.dumps(account_deletion).encode(), {}) == []
    for body in (b"not json", b"[]", b'{"metadata": {}}', b'{"orderId": "1"}'):
        with pytest.raises(ValueError):
            ebay.order_ids_in_notification(body, {})


async def test_signatures_with_an_unknown_key_or_a_bad_header(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    body = b'{"metadata": {"topic": "ORDER_CONFIRMATION"}, "notification": {"data": {}}}'
    header = json.loads(base64.b64decode(state.signature_header(body)))
    forged = base64.b64encode(json.dumps(header | {"kid": "not-a-key"}).encode()).decode()
    assert not await ebay.verify_notification(body, {"X-EBAY-SIGNATURE": forged})
    assert statuses(state, "getPublicKey") == [404]
    assert not await ebay.verify_notification(body, {"X-EBAY-SIGNATURE": "%%%"})
    good = {"x-ebay-signature": state.signature_header(body)}
    assert await ebay.verify_notification(body, good)
    grants = {
        dict(parse_qsl(e.body.decode()))["grant_type"]
        for e in state.exchanges
        if e.operation == "token"
    }
    assert grants == {"client_credentials"}  # no user token needed for the key


def signature_header(kid: str, signature: bytes, digest: str = "SHA1") -> str:
    header = {"alg": "ECDSA", "kid": kid, "signature": base64.b64encode(signature).decode()}
    return base64.b64encode(json.dumps(header | {"digest": digest}).encode()).decode()


async def test_signatures_by_another_key_or_over_another_body(
    ebay: EbayMarketplace, state: FakeEbayState
) -> None:
    body = b'{"metadata": {"topic": "ORDER_CONFIRMATION"}, "notification": {"data": {}}}'
    good = {"X-EBAY-SIGNATURE": state.signature_header(body)}
    assert await ebay.verify_notification(body, good)
    assert not await ebay.verify_notification(body.replace(b"{}", b'{"orderId": "1"}'), good)
    impostor = FakeEbayState()  # another key claiming eBay's kid
    impostor.signing_kid = state.signing_kid
    forged = {"X-EBAY-SIGNATURE": impostor.signature_header(body)}
    assert not await ebay.verify_notification(body, forged)
    sha256 = state.signing_key.sign(body, ec.ECDSA(hashes.SHA256()))
    kid = state.signing_kid
    assert await ebay.verify_notification(
        body, {"X-EBAY-SIGNATURE": signature_header(kid, sha256, "SHA256")}
    )
    for wrong in (signature_header(kid, sha256, "SHA1"), signature_header(kid, sha256, "MD5")):
        assert not await ebay.verify_notification(body, {"X-EBAY-SIGNATURE": wrong})
    malformed = [
        "",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(json.dumps({"kid": kid}).encode()).decode(),
        base64.b64encode(json.dumps({"kid": kid, "signature": "%%"}).encode()).decode(),
        signature_header(kid, b"\x30\x00"),
    ]
    for header in malformed:
        assert not await ebay.verify_notification(body, {"X-EBAY-SIGNATURE": header})
    assert not await ebay.verify_notification(body, {})
    assert statuses(state, "getPublicKey") == [200]  # the key stays cached by its kid


async def test_a_signature_from_rfc_6979(ebay: EbayMarketplace, state: FakeEbayState) -> None:
    """RFC 6979 A.2.5 (P-256, SHA-1 of "sample"), signed outside the project: the adapter
    verifies ECDSA over the body's SHA1 as the standard defines it."""
    secret = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
    state.signing_key = ec.derive_private_key(secret, ec.SECP256R1())
    numbers = state.signing_key.public_key().public_numbers()
    assert (numbers.x, numbers.y) == (
        0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6,
        0x7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299,
    )
    r = 0x61340C88C3AAEBEB4F6D667F672CA9759A6CCAA9FA8811313039EE4A35471D32
    s = 0x6D7F147DAC089441BB2E2FE8F7A3FA264B9C475098FDCF6E00D7C996E1B8B7EB
    header = signature_header(state.signing_kid, encode_dss_signature(r, s))
    assert await ebay.verify_notification(b"sample", {"X-EBAY-SIGNATURE": header})
    assert not await ebay.verify_notification(b"Sample", {"X-EBAY-SIGNATURE": header})
    off = signature_header(state.signing_kid, encode_dss_signature(r, s + 1))
    assert not await ebay.verify_notification(b"sample", {"X-EBAY-SIGNATURE": off})


async def test_a_key_not_on_p256_verifies_nothing(
    ebay: EbayMarketplace, state: FakeEbayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    pem = p384.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setattr(state, "public_key_pem", lambda: pem.decode())
    body = b'{"metadata": {"topic": "ORDER_CONFIRMATION"}}'
    signature = p384.sign(body, ec.ECDSA(hashes.SHA1()))
    header = signature_header(state.signing_kid, signature)
    assert not await ebay.verify_notification(body, {"X-EBAY-SIGNATURE": header})
    assert statuses(state, "getPublicKey") == [200]


def test_public_key_forms() -> None:
    """getPublicKey's key as PEM (multi-line or on one line, as eBay shows it) or bare base64
    DER; keys of other curves or algorithms, and non-keys, are refused."""
    pem = FakeEbayState().public_key_pem()
    one_line = pem.replace("\n", "")
    bare = "".join(pem.splitlines()[1:-1])
    keys = [ebay_public_key(text) for text in (pem, one_line, bare, f"  {bare[:40]}\n{bare[40:]}")]
    assert len({key.public_numbers() for key in keys}) == 1
    others: list[PublicKeyTypes] = [
        ec.generate_private_key(ec.SECP384R1()).public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
    ]
    for other in others:
        der = other.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with pytest.raises(ValueError, match="P-256"):
            ebay_public_key(base64.b64encode(der).decode())
    for text in (
        "",
        "%%%",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        bare[:-8],
    ):
        with pytest.raises(ValueError):
            ebay_public_key(text)
