"""A checkout with card payment that dies right after the provider answered (for the crash
test): ``python -m tests.adapters.crash_checkout DB_URL API_BASE VARIANT_ID STORE_ID PM_ID KEY``.

It runs the app's own domain code against the test's database and the Stripe adapter pointed at
localstripe; its gateway's ``create_intent`` ends the process with ``os._exit(9)`` as soon as the
intent came back, before anything could store it: the process is gone between "intent created"
and "intent saved". It prints the cart token first. Exit code 9 is the expected end.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from adapters.db.database import close_database, open_database
from adapters.db.unit_of_work import invalidating_units_of_work
from adapters.kv import MemoryKeyValue
from adapters.payments.stripe import StripePaymentGateway
from adapters.security import SystemClock
from domain.cart.services import DeliveryChoice, create_cart
from domain.identity.model import Principal, PrincipalKind
from domain.orders.checkout import checkout_complete
from domain.orders.model import Buyer
from domain.payments.model import PaymentIntent, PaymentRequest, Tender

STRIPE_KEY = "sk_test_localstripe"
GUEST = Principal(PrincipalKind.ANONYMOUS)


class DiesAfterCreate(StripePaymentGateway):
    """The real adapter, but the process dies the moment the provider answered."""

    async def create_intent(self, **kwargs: Any) -> PaymentIntent:
        await super().create_intent(**kwargs)
        os._exit(9)


async def main(
    db_url: str, api_base: str, variant_id: int, store_id: int, pm: str, key: str
) -> None:
    await open_database(db_url)
    try:
        clock = SystemClock()
        uow = invalidating_units_of_work(MemoryKeyValue())
        view = await create_cart(
            uow,
            channel_handle="web",
            lines=[(variant_id, 1)],
            buyer=Buyer(email="ada@example.com"),
            delivery=DeliveryChoice(method="PICKUP", location_id=store_id),
            clock=clock,
        )
        print(view.cart.token, flush=True)
        await checkout_complete(
            uow,
            GUEST,
            token=view.cart.token,
            idempotency_key=key,
            clock=clock,
            payment=PaymentRequest(Tender.CARD, pm),
            gateway=DiesAfterCreate(secret_key=STRIPE_KEY, api_base=api_base),
            provider="stripe",
        )
    finally:
        await close_database()
    sys.exit(3)  # never reached: the gateway ended the process


if __name__ == "__main__":
    db, base, variant, store, method, idem = sys.argv[1:7]
    asyncio.run(main(db, base, int(variant), int(store), method, idem))
