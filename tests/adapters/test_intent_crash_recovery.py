"""THE crash test: a checkout process killed between "intent created at the provider" and
"intent stored" leaves no orphan charge.

A separate process (``tests/adapters/crash_checkout.py``) places a card order through the app's
domain code on the test database, with the Stripe adapter pointed at localstripe (behind the
idempotency proxy, as Stripe keeps keys), and dies with ``os._exit(9)`` the moment
``create_intent`` answered. Then, here: the order exists with a PENDING payment and no provider
reference; localstripe holds exactly one intent for the order; the recovery round attaches that
very intent (same key, same intent); a second round and a replayed checkout create no other one,
and the replay goes on to authorise the card on it. When the order was cancelled in between, the
recovery cancels the intent instead.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import stripe

from adapters.db import models as m
from adapters.payments.stripe import StripePaymentGateway
from adapters.security import SystemClock
from domain.identity.model import Principal, PrincipalKind
from domain.orders.checkout import checkout_complete
from domain.orders.services import cancel
from domain.payments.model import PaymentRequest, PaymentState, Tender
from domain.payments.recovery import recover_unattached
from tests.factories import make_world
from tests.localstripe import KEY, IdempotencyProxy, running_localstripe

ROOT = Path(__file__).resolve().parents[2]
GUEST = Principal(PrincipalKind.ANONYMOUS)
CHECKOUT_KEY = "crash-checkout-1"


@pytest.fixture
def proxy() -> Iterator[IdempotencyProxy]:
    """A fresh localstripe per test (order ids, hence intent keys, restart with the tables)."""
    with running_localstripe() as base:
        p = IdempotencyProxy(base)
        yield p
        p.close()


def card(sdk: stripe.StripeClient) -> str:
    details = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    return str(sdk.v1.payment_methods.create({"type": "card", "card": details}).id)  # type: ignore[arg-type]


def intents_of(sdk: stripe.StripeClient, order_id: int) -> list[dict[str, Any]]:
    """Every intent localstripe holds for the order (by the metadata the adapter writes)."""
    listed = sdk.v1.payment_intents.list({"limit": 100}).to_dict()["data"]
    return [i for i in listed if (i.get("metadata") or {}).get("order_ref") == str(order_id)]


async def crashed_checkout(
    settings: Any, proxy: IdempotencyProxy, sdk: stripe.StripeClient
) -> tuple[m.Order, str]:
    """Run the checkout process that dies after the provider answered; the order and the card."""
    world = await make_world(products=1)
    pm = card(sdk)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.adapters.crash_checkout", settings.database_url, proxy.url,
        str(world.variants[0].id), str(world.part_dieu.id), pm, CHECKOUT_KEY,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 9, err.decode()[-2000:]
    token = out.decode().split()[0]
    cart = await m.Cart.get(token=token)
    assert cart.order_id is not None  # the order committed before the provider was called
    return await m.Order.get(id=cart.order_id), pm


async def test_a_checkout_killed_after_the_intent_was_created_is_recovered_with_that_intent(
    services: Any, settings: Any, proxy: IdempotencyProxy
) -> None:
    sdk = stripe.StripeClient(KEY, base_addresses={"api": proxy.url})
    order, pm = await crashed_checkout(settings, proxy, sdk)
    payment = await m.Payment.get(order_id=order.id, tender=Tender.CARD.value)
    assert (payment.state, payment.provider_ref) == ("PENDING", None)
    (orphan,) = intents_of(sdk, order.id)
    gateway = StripePaymentGateway(secret_key=KEY, api_base=proxy.url, max_network_retries=1)
    clock = SystemClock()

    recovered = await recover_unattached(
        services.uow, gateway, clock=clock, older_than=timedelta(0)
    )
    again = await recover_unattached(services.uow, gateway, clock=clock, older_than=timedelta(0))

    assert (recovered, again) == (1, 0)
    await payment.refresh_from_db()
    assert (payment.provider_ref, payment.state) == (orphan["id"], "PENDING")
    # the buyer's client retries the checkout: same order, same intent, the card now authorised
    replay = await checkout_complete(
        services.uow, GUEST, token=(await m.Cart.get(order_id=order.id)).token,
        idempotency_key=CHECKOUT_KEY, clock=clock, payment=PaymentRequest(Tender.CARD, pm),
        gateway=gateway, provider="stripe",
    )  # fmt: skip
    assert replay.result.order_id == order.id
    assert replay.payment is not None and replay.payment.state is PaymentState.AUTHORISED
    assert [i["id"] for i in intents_of(sdk, order.id)] == [orphan["id"]]
    intent_posts = [k for _, k in proxy.posts if k == f"order:{order.id}:intent"]
    assert len(intent_posts) == 2  # the dead process's, and the recovery's (answered the same)
    await order.refresh_from_db()
    assert order.payment_status == "AUTHORISED"


async def test_the_orphan_intent_of_an_order_cancelled_meanwhile_is_cancelled(
    services: Any, settings: Any, proxy: IdempotencyProxy
) -> None:
    sdk = stripe.StripeClient(KEY, base_addresses={"api": proxy.url})
    order, _ = await crashed_checkout(settings, proxy, sdk)
    clock = SystemClock()
    await cancel(
        services.uow, GUEST, order_id=order.id, reason="changed my mind", idempotency_key=None,
        clock=clock, access_token=order.access_token,
    )  # fmt: skip
    gateway = StripePaymentGateway(secret_key=KEY, api_base=proxy.url, max_network_retries=1)

    assert await recover_unattached(services.uow, gateway, clock=clock, older_than=timedelta(0))

    (orphan,) = intents_of(sdk, order.id)
    assert orphan["status"] == "canceled"
    payment = await m.Payment.get(order_id=order.id, tender=Tender.CARD.value)
    assert (payment.state, payment.provider_ref) == ("CANCELLED", orphan["id"])
    assert (
        await recover_unattached(services.uow, gateway, clock=clock, older_than=timedelta(0)) == 0
    )
