"""TEST MODE wallet page: ``/test-payments/{intent_id}`` stands in for Alipay's redirect page
and WeChat Pay's QR code when payments run on the in-process fake (no Stripe key, outside
production). GET shows a labelled "TEST MODE — no money moves" page with Approve and Decline;
POST completes the fake intent's action and applies the result to the stored payment exactly as
a webhook would (``domain.payments.webhooks.apply_intent_news``), then sends the shopper back to
the intent's ``return_url`` (303) when it has one. Outside test mode the routes do not exist.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.payments.fake import FakePaymentGateway
from adapters.payments.setup import TEST_MODE
from domain.payments.model import IntentStatus, PaymentError
from domain.payments.ports import PaymentGateway
from domain.payments.webhooks import apply_intent_news
from domain.ports import Clock, UnitOfWorkFactory

PATH = "/test-payments/{intent_id}"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>TEST MODE payment {intent}</title>
<style>body{{font-family:sans-serif;max-width:32rem;margin:3rem auto}}
.banner{{background:#b00020;color:#fff;padding:1rem;font-weight:bold;text-align:center}}
button{{font-size:1.1rem;padding:.6rem 1.4rem;margin-right:1rem}}</style></head>
<body><p class="banner">TEST MODE — no money moves</p>
<h1>{method} payment</h1>
<p>Intent <code>{intent}</code> for <strong>{amount}</strong> (order {order}).</p>
<p>Status: <strong>{status}</strong></p>{actions}
</body></html>
"""
_ACTIONS = """
<form method="post"><button name="decision" value="approve">Approve</button>
<button name="decision" value="decline">Decline</button></form>"""


def wallet_page_routes(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    gateway: PaymentGateway | None,
    provider: str,
    production: bool,
) -> list[Route]:
    """The page's routes in test mode (the fake gateway, outside production), else none."""
    if production or provider != TEST_MODE or not isinstance(gateway, FakePaymentGateway):
        return []
    fake = gateway

    async def page(request: Request) -> Response:
        intent_id = request.path_params["intent_id"]
        stored = fake.intents.get(intent_id)
        if stored is None:
            return HTMLResponse("<p>TEST MODE: no such test payment</p>", status_code=404)
        if request.method == "GET":
            return _render(stored.intent.id, fake)
        decision = _decision(await request.body())
        if decision is None:
            return HTMLResponse("<p>TEST MODE: decide approve or decline</p>", status_code=400)
        intent = stored.intent
        if intent.status is IntentStatus.REQUIRES_ACTION:
            try:
                intent = fake.complete_action(intent_id, success=decision == "approve")
            except PaymentError:  # decided meanwhile (a double click): apply what it is now
                intent = stored.intent
        await apply_intent_news(uow, intent, provider=TEST_MODE, clock=clock)
        back = stored.return_url
        if back and urlsplit(back).scheme in ("http", "https"):
            return RedirectResponse(back, status_code=303)
        return _render(intent.id, fake)

    return [Route(PATH, page, methods=["GET", "POST"])]


def _decision(body: bytes) -> str | None:
    values = parse_qs(body.decode("utf-8", "replace")).get("decision") or [""]
    return values[0] if values[0] in ("approve", "decline") else None


def _render(intent_id: str, fake: FakePaymentGateway) -> HTMLResponse:
    intent = fake.intents[intent_id].intent
    waiting = intent.status is IntentStatus.REQUIRES_ACTION
    return HTMLResponse(
        _PAGE.format(
            intent=html.escape(intent.id),
            method=html.escape(str(intent.method or "card").replace("_", " ").title()),
            amount=html.escape(f"{intent.amount / 100:.2f} {intent.currency.upper()}"),
            order=html.escape(intent.order_ref or "?"),
            status=html.escape(intent.status.value),
            actions=_ACTIONS if waiting else "",
        )
    )
