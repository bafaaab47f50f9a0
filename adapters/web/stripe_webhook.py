"""``POST /webhooks/stripe``: verify the delivery, read it into typed values, apply it once.

- The raw body is checked against ``Stripe-Signature`` with ``STRIPE_WEBHOOK_SECRET`` (several
  secrets separated by commas while one is rolled), 300 s tolerance on the server's clock.
- No secret configured: 503 ``{"error": "WEBHOOKS_NOT_CONFIGURED"}`` (Stripe keeps retrying for
  three days, so events are not lost while the secret is being set up).
- Refused and counted per day and reason (``webhook_refusal``): a missing or malformed header
  (``MISSING``, ``MALFORMED``), a forged signature (``BAD_SIGNATURE``), a timestamp outside the
  tolerance (``STALE``), a body that is not a Stripe event (``MALFORMED``): 400.
- A replay of an event already applied: 200 ``{"outcome": "duplicate"}`` and counted as
  ``REPLAYED`` (Stripe delivers at least once; a non-2xx answer would make it retry for days).
- Applied: 200 ``{"received": true, "outcome": ...}``. The work is one transaction, plus at most
  one provider read bounded to 2 s when the event is in doubt; a provider that does not answer
  gives 503 and the event is not recorded, so Stripe delivers it again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.payments.stripe_objects import event_from_stripe
from adapters.payments.webhooks import RefusalReason, WebhookRefusal, construct_event
from domain.payments.model import PaymentError
from domain.payments.ports import PaymentGateway
from domain.payments.webhooks import ProviderEvent, apply_event, count_refused
from domain.ports import Clock, UnitOfWorkFactory

PROVIDER = "stripe"
log = logging.getLogger("o2o.payments.webhooks")


def webhook_secrets(configured: str) -> list[str]:
    """The endpoint secrets: one, or several separated by commas while rolling."""
    return [s.strip() for s in configured.split(",") if s.strip()]


def read_event(body: bytes) -> ProviderEvent:
    """The verified body as the domain's event, or WebhookRefusal(MALFORMED)."""
    try:
        return event_from_stripe(json.loads(body))
    except (KeyError, TypeError, ValueError) as exc:
        raise WebhookRefusal(RefusalReason.MALFORMED, "not a Stripe event we can read") from exc


def stripe_webhook(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    secret: str,
    gateway: PaymentGateway | None,
) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint, bound to the process's units of work, clock, secret and gateway."""
    secrets = webhook_secrets(secret)

    async def endpoint(request: Request) -> Response:
        if not secrets:
            return JSONResponse(
                {
                    "error": "WEBHOOKS_NOT_CONFIGURED",
                    "message": "STRIPE_WEBHOOK_SECRET is not set: webhooks are not accepted",
                },
                status_code=503,
            )
        body = await request.body()
        try:
            construct_event(
                body,
                request.headers.get("stripe-signature"),
                secrets=secrets,
                now=lambda: clock.now().timestamp(),
            )
            event = read_event(body)
        except WebhookRefusal as refusal:
            await count_refused(uow, provider=PROVIDER, reason=refusal.reason.value, clock=clock)
            log.warning("stripe webhook refused: %s", refusal)
            return JSONResponse({"error": refusal.reason.value}, status_code=400)
        try:
            outcome = await apply_event(uow, event, provider=PROVIDER, clock=clock, gateway=gateway)
        except PaymentError as error:  # the provider read (in doubt) failed: deliver again
            log.warning("stripe webhook %s deferred: %s", event.id, error)
            return JSONResponse({"error": error.code}, status_code=503)
        return JSONResponse({"received": True, "outcome": outcome.value})

    return endpoint
