"""TEST MODE wallets over HTTP: Alipay's redirect and WeChat Pay's QR code point at the server's
own ``/test-payments/<intent id>`` page, labelled "TEST MODE — no money moves"; Approve pays the
stored payment (as a webhook would) and sends the shopper back to the return URL, Decline marks
it failed; the page does not exist outside test mode."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from adapters.db import models as m
from adapters.payments.stripe import StripePaymentGateway
from app import create_app
from tests.api.test_online_payment import _cart, _checkout
from tests.factories import make_world

BACK = "https://shop.example/checkout/done"


async def wallet_order(gql: Any, method: str, **pay: str) -> tuple[dict[str, Any], m.Order]:
    world = await make_world(products=1)
    done = await _checkout(gql, await _cart(gql, world, "SHIP"), {"method": method, **pay})
    assert done["userErrors"] == [] and done["payment"]["state"] == "REQUIRES_ACTION"
    return done, await m.Order.get(number=done["order"]["number"])


async def test_alipay_redirects_to_the_test_page_and_approve_pays_the_order(
    gql: Any, settings: Any, services: Any
) -> None:
    done, order = await wallet_order(gql, "ALIPAY", returnUrl=BACK)
    payment = await m.Payment.get(order_id=order.id)
    page = f"/test-payments/{payment.provider_ref}"
    action = done["payment"]["nextAction"]
    assert (action["type"], action["url"]) == ("REDIRECT", settings.public_base_url + page)

    shown = await gql.http.get(page)
    approved = await gql.http.post(page, data={"decision": "approve"})

    assert shown.status_code == 200 and "TEST MODE — no money moves" in shown.text
    assert "Approve" in shown.text and "Decline" in shown.text
    assert (approved.status_code, approved.headers["location"]) == (303, BACK)
    await payment.refresh_from_db()
    await order.refresh_from_db()
    assert (payment.state, payment.captured) == ("CAPTURED", payment.amount)
    assert (order.status, order.payment_status) == ("PAID", "PAID")
    # a second click changes nothing and charges nothing more
    again = await gql.http.post(page, data={"decision": "approve"})
    assert again.status_code == 303
    charges = [t for t in services.payments.balance if t.source_id == f"ch_{payment.provider_ref}"]
    assert len(charges) == 1


async def test_wechat_qr_points_at_the_test_page_and_decline_fails_the_payment(
    gql: Any, settings: Any
) -> None:
    done, order = await wallet_order(gql, "WECHAT_PAY")
    payment = await m.Payment.get(order_id=order.id)
    page = f"/test-payments/{payment.provider_ref}"
    assert done["payment"]["nextAction"]["qrCodeData"] == settings.public_base_url + page

    declined = await gql.http.post(page, data={"decision": "decline"})

    assert declined.status_code == 200 and "TEST MODE" in declined.text
    assert "Approve" not in declined.text  # decided: nothing left to press
    await payment.refresh_from_db()
    await order.refresh_from_db()
    assert (payment.state, payment.decline_code) == ("FAILED", "payment_declined")
    assert order.payment_status == "PENDING"


async def test_an_unknown_test_payment_or_decision_is_refused(gql: Any, db: str) -> None:
    missing = await gql.http.get("/test-payments/pi_fake_999")
    _, order = await wallet_order(gql, "ALIPAY")
    payment = await m.Payment.get(order_id=order.id)
    odd = await gql.http.post(f"/test-payments/{payment.provider_ref}", data={"decision": "maybe"})

    assert missing.status_code == 404
    assert odd.status_code == 400
    await payment.refresh_from_db()
    assert payment.state == "REQUIRES_ACTION"


async def test_the_page_does_not_exist_outside_test_mode(
    gql: Any, services: Any, settings: Any
) -> None:
    _, order = await wallet_order(gql, "ALIPAY")
    page = f"/test-payments/{(await m.Payment.get(order_id=order.id)).provider_ref}"
    assert (await gql.http.get(page)).status_code == 200  # in test mode it is there
    production = dataclasses.replace(settings, environment="production")
    with_stripe = dataclasses.replace(
        services,
        payments=StripePaymentGateway(secret_key="sk_test_x", api_base="http://127.0.0.1:9"),
        payment_provider="stripe",
    )
    for app in (
        create_app(production, services=services, manage_database=False),
        create_app(settings, services=with_stripe, manage_database=False),
    ):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get(page)).status_code == 404
            answer = await http.post(page, data={"decision": "approve"})
            assert answer.status_code == 404
    await order.refresh_from_db()
    assert order.payment_status == "PENDING"
