"""``POST /webhooks/stripe`` over HTTP on the in-process app: signed with the test secret,
applied once (a second delivery is a counted duplicate), forged / stale / malformed deliveries
refused with 400 and counted, out-of-order deliveries never moving a payment back, an unknown
intent attached to its order by ``metadata.order_ref``, refunds settled forward only, and a
doubtful event read again from the provider (one call)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.db import models as m
from adapters.payments.webhooks import sign_header
from adapters.settings import Secret, Settings
from app import create_app
from domain.payments.model import PaymentErrorCode, RefundRecord, RefundState, Tender
from tests.api.test_online_payment import _cart, _checkout
from tests.factories import make_world

SECRET = "whsec_test_endpoint"
URL = "/webhooks/stripe"


@pytest.fixture
async def hooks(services: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    hooked = dataclasses.replace(settings, stripe_webhook_secret=Secret(SECRET))
    app = create_app(hooked, services=services, manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def intent_object(
    intent_id: str,
    status: str,
    *,
    amount: int,
    order_ref: str,
    capturable: int = 0,
    received: int = 0,
    capture: str = "manual",
    method: str = "card",
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "status": status,
        "amount": amount,
        "currency": "eur",
        "capture_method": capture,
        "amount_capturable": capturable,
        "amount_received": received,
        "client_secret": f"{intent_id}_secret",
        "metadata": {"order_ref": order_ref, "method": method},
        "payment_method_types": [method],
        "last_payment_error": error,
        "next_action": None,
    }


def event(event_id: str, event_type: str, obj: dict[str, Any]) -> bytes:
    body = {
        "id": event_id,
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": obj},
    }
    return json.dumps(body).encode()


async def deliver(
    http: httpx.AsyncClient, body: bytes, *, at: int | None = None, secret: str = SECRET
) -> httpx.Response:
    stamp = int(time.time()) if at is None else at
    header = sign_header(payload=body, timestamp=stamp, secrets=[secret])
    return await http.post(
        URL, content=body, headers={"Stripe-Signature": header, "Content-Type": "application/json"}
    )


async def refusals(services: Any) -> dict[str, int]:
    async with services.uow() as uow:
        found: dict[str, int] = await uow.payments.refusals(
            "stripe", day=datetime.now(UTC).date().isoformat()
        )
    return found


async def paid_by_card(gql: Any, token: str | None = None) -> tuple[m.Order, m.Payment]:
    """A pick-up order whose card payment is open at the (fake) provider, not yet paid."""
    world = await make_world(products=1)
    pay = {"method": "CARD", **({"paymentMethodToken": token} if token else {})}
    done = await _checkout(gql, await _cart(gql, world, "PICKUP"), pay)
    assert done["userErrors"] == []
    order = await m.Order.get(number=done["order"]["number"])
    payment = await m.Payment.get(order_id=order.id, tender=Tender.CARD.value)
    return order, payment


async def test_a_valid_event_is_applied_once_and_its_replay_is_counted(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql)
    assert (payment.state, order.payment_status) == ("PENDING", "PENDING")
    obj = intent_object(
        payment.provider_ref, "requires_capture", amount=payment.amount,
        order_ref=str(order.id), capturable=payment.amount,
    )  # fmt: skip
    body = event("evt_1", "payment_intent.amount_capturable_updated", obj)

    first = await deliver(hooks, body)
    events_after_first = await m.OrderEvent.filter(order_id=order.id).count()
    second = await deliver(hooks, body)

    assert (first.status_code, first.json()) == (200, {"received": True, "outcome": "applied"})
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    await payment.refresh_from_db()
    await order.refresh_from_db()
    assert (payment.state, payment.authorised) == ("AUTHORISED", payment.amount)
    assert order.payment_status == "AUTHORISED"
    assert await m.OrderEvent.filter(order_id=order.id).count() == events_after_first
    assert await m.ProviderEvent.filter(event_id="evt_1").count() == 1
    assert await refusals(services) == {"REPLAYED": 1}


async def test_a_forged_signature_is_refused_and_counted(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql)
    obj = intent_object(
        payment.provider_ref, "succeeded", amount=payment.amount, order_ref=str(order.id),
        received=payment.amount,
    )  # fmt: skip
    body = event("evt_forged", "payment_intent.succeeded", obj)

    forged = await deliver(hooks, body, secret="whsec_someone_else")
    unsigned = await hooks.post(URL, content=body)

    assert (forged.status_code, forged.json()) == (400, {"error": "BAD_SIGNATURE"})
    assert (unsigned.status_code, unsigned.json()) == (400, {"error": "MISSING"})
    await payment.refresh_from_db()
    assert payment.state == "PENDING"
    assert not await m.ProviderEvent.filter(event_id="evt_forged").exists()
    assert await refusals(services) == {"BAD_SIGNATURE": 1, "MISSING": 1}


async def test_a_stale_timestamp_is_refused_and_counted(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql)
    obj = intent_object(
        payment.provider_ref, "succeeded", amount=payment.amount, order_ref=str(order.id),
        received=payment.amount,
    )  # fmt: skip
    body = event("evt_stale", "payment_intent.succeeded", obj)

    stale = await deliver(hooks, body, at=int(time.time()) - 301)
    fresh_enough = await deliver(hooks, body, at=int(time.time()) - 200)

    assert (stale.status_code, stale.json()) == (400, {"error": "STALE"})
    assert fresh_enough.status_code == 200
    assert await refusals(services) == {"STALE": 1}


async def test_a_malformed_body_is_refused_and_counted(
    hooks: httpx.AsyncClient, services: Any, db: str
) -> None:
    not_json = await deliver(hooks, b"{not json")
    not_an_event = await deliver(hooks, json.dumps({"id": "evt_x", "object": "event"}).encode())
    wrong_object = await deliver(
        hooks, event("evt_y", "payment_intent.succeeded", {"id": "ch_1", "object": "charge"})
    )
    bad_header = await hooks.post(URL, content=b"{}", headers={"Stripe-Signature": "t=abc,v1"})

    for answer in (not_json, not_an_event, wrong_object, bad_header):
        assert (answer.status_code, answer.json()) == (400, {"error": "MALFORMED"})
    assert await refusals(services) == {"MALFORMED": 4}


async def test_succeeded_before_capturable_updated_ends_captured(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql)
    ref, amount = payment.provider_ref, payment.amount
    authorised = intent_object(
        ref, "requires_capture", amount=amount, order_ref=str(order.id), capturable=amount
    )
    captured = intent_object(ref, "succeeded", amount=amount, order_ref=str(order.id),
                             received=amount)  # fmt: skip

    late = await deliver(hooks, event("evt_b", "payment_intent.succeeded", captured))
    early = await deliver(
        hooks, event("evt_a", "payment_intent.amount_capturable_updated", authorised)
    )

    assert [late.json()["outcome"], early.json()["outcome"]] == ["applied", "applied"]
    await payment.refresh_from_db()
    await order.refresh_from_db()
    assert (payment.state, payment.captured) == ("CAPTURED", amount)
    assert (order.payment_status, order.status) == ("PAID", "PAID")


async def test_an_unknown_intent_is_attached_to_its_order_by_order_ref(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    services.payments.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)  # the answer is lost
    order, payment = await paid_by_card(gql, token="pm_card_visa")
    assert (payment.state, payment.provider_ref) == ("PENDING", None)
    obj = intent_object(
        "pi_recovered_1", "requires_capture", amount=payment.amount, order_ref=str(order.id),
        capturable=payment.amount,
    )  # fmt: skip
    elsewhere = intent_object("pi_other", "succeeded", amount=999, order_ref="424242")
    wrong_amount = dict(obj, id="pi_wrong", amount=payment.amount + 1)

    attached = await deliver(
        hooks, event("evt_att", "payment_intent.amount_capturable_updated", obj)
    )
    unknown = await deliver(hooks, event("evt_unk", "payment_intent.succeeded", elsewhere))
    refused = await deliver(hooks, event("evt_amt", "payment_intent.succeeded", wrong_amount))

    assert attached.json()["outcome"] == "attached"
    assert unknown.json()["outcome"] == refused.json()["outcome"] == "unknown_intent"
    await payment.refresh_from_db()
    await order.refresh_from_db()
    assert (payment.provider_ref, payment.state) == ("pi_recovered_1", "AUTHORISED")
    assert order.payment_status == "AUTHORISED"
    assert await refusals(services) == {"UNKNOWN_INTENT": 2}


async def test_refund_news_settles_the_refund_forward_only(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql, token="pm_card_visa")
    async with services.uow() as uow:
        record = await uow.payments.add_refund(
            RefundRecord(
                id=0, order_id=order.id, payment_id=payment.id, tender=Tender.CARD, amount=500,
                currency="EUR", state=RefundState.PENDING, reason="return", provider_ref="re_1",
            )
        )  # fmt: skip
    refund = {"id": "re_1", "object": "refund", "amount": 500, "currency": "eur"}
    charge = {
        "id": "ch_1",
        "object": "charge",
        "refunds": {"data": [dict(refund, status="failed"), dict(refund, id="re_x")]},
    }

    done = await deliver(hooks, event("evt_r1", "refund.updated", dict(refund, status="succeeded")))
    late = await deliver(hooks, event("evt_r2", "charge.refunded", charge))

    assert (done.json()["outcome"], late.json()["outcome"]) == ("applied", "unknown_refund")
    async with services.uow() as uow:
        settled = await uow.payments.get_refund(record.id)
    assert settled is not None and settled.state is RefundState.SUCCEEDED
    await payment.refresh_from_db()
    assert payment.refunded == 500  # counted once, though the charge's news came after
    assert await m.OrderEvent.filter(order_id=order.id, kind="REFUNDED").count() == 1
    assert await refusals(services) == {"UNKNOWN_REFUND": 1}


async def test_a_doubtful_event_is_read_again_from_the_provider_once(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    world = await make_world(products=1)
    done = await _checkout(gql, await _cart(gql, world, "SHIP"), {"method": "ALIPAY"})
    order = await m.Order.get(number=done["order"]["number"])
    payment = await m.Payment.get(order_id=order.id)
    assert payment.state == "REQUIRES_ACTION"
    # an earlier attempt's failure arrives after the shopper's new attempt asked for action
    failed = intent_object(
        payment.provider_ref, "requires_payment_method", amount=payment.amount,
        order_ref=str(order.id), capture="automatic", method="alipay",
        error={"code": "payment_intent_authentication_failure"},
    )  # fmt: skip
    reads_before = services.payments.calls.count(("retrieve", None))

    answer = await deliver(hooks, event("evt_old", "payment_intent.payment_failed", failed))

    assert answer.json()["outcome"] == "applied"
    assert services.payments.calls.count(("retrieve", None)) == reads_before + 1
    await payment.refresh_from_db()
    assert payment.state == "REQUIRES_ACTION"  # the provider says the action is still pending


async def test_a_provider_that_does_not_answer_defers_a_doubtful_event(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    world = await make_world(products=1)
    done = await _checkout(gql, await _cart(gql, world, "SHIP"), {"method": "ALIPAY"})
    order = await m.Order.get(number=done["order"]["number"])
    payment = await m.Payment.get(order_id=order.id)
    failed = intent_object(
        payment.provider_ref, "requires_payment_method", amount=payment.amount,
        order_ref=str(order.id), capture="automatic", method="alipay", error={"code": "x"},
    )  # fmt: skip
    services.payments.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)

    answer = await deliver(hooks, event("evt_later", "payment_intent.payment_failed", failed))

    assert answer.status_code == 503
    assert not await m.ProviderEvent.filter(event_id="evt_later").exists()  # delivered again


async def test_without_a_secret_the_endpoint_says_it_is_not_configured(gql: Any) -> None:
    answer = await gql.http.post(URL, content=b"{}", headers={"Stripe-Signature": "t=1,v1=x"})

    assert answer.status_code == 503
    assert answer.json()["error"] == "WEBHOOKS_NOT_CONFIGURED"


async def test_two_deliveries_at_once_apply_the_event_once(
    gql: Any, hooks: httpx.AsyncClient, services: Any
) -> None:
    order, payment = await paid_by_card(gql)
    obj = intent_object(
        payment.provider_ref, "requires_capture", amount=payment.amount,
        order_ref=str(order.id), capturable=payment.amount,
    )  # fmt: skip
    body = event("evt_twice", "payment_intent.amount_capturable_updated", obj)

    answers = await asyncio.gather(deliver(hooks, body), deliver(hooks, body))

    assert sorted(a.json()["outcome"] for a in answers) == ["applied", "duplicate"]
    kinds = await m.OrderEvent.filter(order_id=order.id).values_list("kind", flat=True)
    assert list(kinds).count("PAYMENT_AUTHORISED") == 1
    assert await refusals(services) == {"REPLAYED": 1}
