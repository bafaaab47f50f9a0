"""A small in-process fake of Stripe's PaymentIntents and Refunds API, for contract tests.

Objects start from Stripe's own examples (fixtures3.json) and move through the documented
states. Unlike localstripe it answers `alipay` (next_action `alipay_handle_redirect`) and
`wechat_pay` (next_action `wechat_pay_display_qr_code`). It keeps every exchange in `log` so a
test can validate the traffic against spec3.yaml, honours `Idempotency-Key` like Stripe (a replay
answers the saved result with `Idempotent-Replayed: true`), and can be told to fail the next
requests: `fail_next(500)`, `fail_next(429)`, `fail_next("timeout")`.

Lists: `GET /v1/payment_intents` and `GET /v1/balance_transactions` filter on `created[gte]` /
`created[lte]` and page like Stripe (newest first, `limit`, `starting_after`, `has_more`); each
charge (automatic confirmation, capture) and refund books a balance transaction with a fee of
2.9 % + 30. `max_page_size` lowers the page size so a test sees auto-pagination.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.contract.stripe_spec import decode_form, fixture

CANCELABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
    "processing",
}
ERROR_STATUS = {"invalid_request_error": 400, "idempotency_error": 400, "api_error": 500}


@dataclass
class Exchange:
    """One request the fake received and the response it gave (or would have given)."""

    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_body: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)


class StripeError(Exception):
    """A Stripe API error answered as `{"error": {...}}`."""

    def __init__(
        self, kind: str, message: str, *, code: str | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status or ERROR_STATUS.get(kind, 400)
        self.body = {
            "error": {"type": kind, "message": message, **({"code": code} if code else {})}
        }


class FakeStripe:
    """State and routes of the fake; start it with `run_fake_stripe()`."""

    def __init__(self, *, timeout_delay: float = 2.0) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.balance_transactions: dict[str, dict[str, Any]] = {}
        self.max_page_size = 100
        self.log: list[Exchange] = []
        self.timeout_delay = timeout_delay
        self.url = ""
        self._failures: deque[int | str] = deque()
        self._saved: dict[str, tuple[str, int, bytes]] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route("/v1/payment_intents", self._route, methods=["GET", "POST"]),
                Route("/v1/balance_transactions", self._route, methods=["GET"]),
                Route("/v1/payment_intents/{id}", self._route, methods=["GET", "POST"]),
                Route("/v1/payment_intents/{id}/{action}", self._route, methods=["POST"]),
                Route("/v1/refunds", self._route, methods=["GET", "POST"]),
                Route("/v1/charges/{charge}", self._route, methods=["GET"]),
            ]
        )

    # -- test controls -------------------------------------------------------------------
    def fail_next(self, *modes: int | str) -> None:
        """Fail the next requests in order: an HTTP status (429, 500, ...) or "timeout"."""
        self._failures.extend(modes)

    def complete_action(self, intent_id: str) -> dict[str, Any]:
        """The shopper finishes the next action (Alipay redirect, WeChat QR scan)."""
        intent = self.intents[intent_id]
        assert intent["status"] == "requires_action", intent["status"]
        intent["next_action"] = None
        self._authorise(intent)
        return intent

    def received(self, method: str, path: str) -> list[Exchange]:
        """The exchanges for one method and path, in arrival order."""
        return [e for e in self.log if e.method == method and e.path == path]

    # -- HTTP ------------------------------------------------------------------------------
    async def _route(self, request: Request) -> Response:
        body = await request.body()
        exchange = Exchange(
            request.method, str(request.url), request.url.path, dict(request.headers), body
        )
        self.log.append(exchange)
        mode = self._failures.popleft() if self._failures else None
        if isinstance(mode, int):
            status, payload, headers = self._injected(mode)
        else:
            status, payload, headers = self._handle(request, body)
        exchange.status, exchange.response_body = status, payload
        exchange.response_headers = headers
        if mode == "timeout":
            await asyncio.sleep(
                self.timeout_delay
            )  # the effect happened; the answer comes too late
        return Response(payload, status_code=status, headers=headers, media_type="application/json")

    def _injected(self, status: int) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Request-Id": self._id("req")}
        if status == 429:
            # Stripe's lock_timeout answer: the SDK retries only when told to.
            headers["Stripe-Should-Retry"] = "true"
            error = StripeError(
                "invalid_request_error", "Too many requests", code="lock_timeout", status=429
            )
        else:
            error = StripeError("api_error", "An unknown error occurred", status=status)
        return status, json.dumps(error.body).encode(), headers

    def _handle(self, request: Request, body: bytes) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Request-Id": self._id("req")}
        if not request.headers.get("authorization", "").startswith("Bearer sk_"):
            error = StripeError("invalid_request_error", "Invalid API Key provided", status=401)
            return 401, json.dumps(error.body).encode(), headers
        key = request.headers.get("idempotency-key")
        fingerprint = hashlib.sha256(request.url.path.encode() + b"?" + body).hexdigest()
        with self._lock:
            if request.method == "POST" and key and key in self._saved:
                saved_print, status, payload = self._saved[key]
                if saved_print != fingerprint:
                    error = StripeError(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    )
                    return 400, json.dumps(error.body).encode(), headers
                return status, payload, {**headers, "Idempotent-Replayed": "true"}
            try:
                status, obj = 200, self._dispatch(request, decode_form(body) if body else {})
            except StripeError as exc:
                status, obj = exc.status, exc.body
            payload = json.dumps(obj).encode()
            if request.method == "POST" and key and status < 500:
                self._saved[key] = (fingerprint, status, payload)
        if key:
            headers["Idempotency-Key"] = key
        return status, payload, headers

    def _dispatch(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        path = request.url.path
        if request.method == "GET" and path == "/v1/payment_intents":
            return self._list(path, list(self.intents.values()), request)
        if path == "/v1/balance_transactions":
            return self._list(path, list(self.balance_transactions.values()), request)
        if request.method == "GET" and path == "/v1/refunds":
            wanted = request.query_params.get("payment_intent")
            found = [r for r in self.refunds.values() if wanted in (None, r["payment_intent"])]
            return self._list(path, found, request)
        if "charge" in request.path_params:
            return self._charge(request.path_params["charge"])
        if path == "/v1/refunds":
            return self._refund(params)
        if path == "/v1/payment_intents":
            return self._create(params)
        intent = self._intent(request.path_params["id"])
        action = request.path_params.get("action")
        if request.method == "GET" and action is None:
            return self._public(intent)
        handlers = {
            None: self._update,
            "confirm": self._confirm,
            "capture": self._capture,
            "cancel": self._cancel,
        }
        if action not in handlers:
            raise StripeError(
                "invalid_request_error", f"Unrecognized request URL ({path})", status=404
            )
        return handlers[action](intent, params)

    # -- lists ----------------------------------------------------------------------------------
    def _list(self, url: str, objects: list[dict[str, Any]], request: Request) -> dict[str, Any]:
        """Stripe's list: newest first, `created[gte|gt|lte|lt]`, `limit`, `starting_after`."""
        query = request.query_params
        bounds = {
            "gte": lambda c, v: c >= v,
            "gt": lambda c, v: c > v,
            "lte": lambda c, v: c <= v,
            "lt": lambda c, v: c < v,
        }
        chosen = [
            o
            for o in objects
            if all(
                test(o["created"], int(query[f"created[{op}]"]))
                for op, test in bounds.items()
                if f"created[{op}]" in query
            )
        ]
        chosen.sort(key=lambda o: (o["created"], o["_seq"] if "_seq" in o else 0), reverse=True)
        if "starting_after" in query:
            ids = [o["id"] for o in chosen]
            chosen = chosen[ids.index(query["starting_after"]) + 1 :]
        limit = min(int(query.get("limit", 10)), self.max_page_size)
        page = chosen[:limit]
        return {
            "object": "list",
            "url": url,
            "has_more": len(chosen) > limit,
            "data": [self._public(o) for o in page],
        }

    def _book(self, kind: str, amount: int, currency: str, source: str) -> None:
        """A balance transaction for a charge (fee 2.9 % + 30) or a refund (no fee)."""
        fee = round(amount * 0.029) + 30 if kind == "charge" else 0
        txn = fixture("balance_transaction")
        now = int(time.time())
        txn.update(
            id=self._id("txn"),
            amount=amount,
            fee=fee,
            fee_details=(
                [
                    {
                        "amount": fee,
                        "application": None,
                        "currency": currency,
                        "description": "Stripe processing fees",
                        "type": "stripe_fee",
                    }
                ]
                if fee
                else []
            ),
            net=amount - fee,
            currency=currency,
            created=now,
            available_on=now + 2 * 86400,
            description=None,
            reporting_category=kind,
            source=source,
            status="pending",
            type=kind,
            _seq=next(self._seq),
        )
        self.balance_transactions[txn["id"]] = txn

    # -- PaymentIntents ---------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._seq):06d}{secrets.token_hex(4)}"

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        if "amount" not in params or "currency" not in params:
            raise StripeError(
                "invalid_request_error",
                "Missing required param: amount or currency",
                code="parameter_missing",
            )
        intent = fixture("payment_intent")
        pid = self._id("pi")
        intent.update(
            id=pid,
            client_secret=f"{pid}_secret_{secrets.token_hex(8)}",
            amount=int(params["amount"]),
            currency=str(params["currency"]).lower(),
            created=int(time.time()),
            canceled_at=None,
            capture_method=params.get("capture_method", "automatic"),
            metadata=dict(params.get("metadata", {})),
            description=params.get("description"),
            payment_method_types=list(params.get("payment_method_types", {"0": "card"}).values()),
            payment_method_options=self._method_options(params),
            status="requires_payment_method",
            _seq=next(self._seq),
        )
        self.intents[pid] = intent
        self._attach(intent, params)
        if params.get("confirm") == "true":
            self._confirm(intent, params)
        return self._public(intent)

    @staticmethod
    def _method_options(params: dict[str, Any]) -> dict[str, Any]:
        options = params.get("payment_method_options", {})
        out: dict[str, Any] = {}
        if "wechat_pay" in options:
            out["wechat_pay"] = {
                "app_id": None,
                "client": options["wechat_pay"].get("client", "web"),
            }
        if "alipay" in options:
            out["alipay"] = {}
        return out

    def _attach(self, intent: dict[str, Any], params: dict[str, Any]) -> None:
        pm = params.get("payment_method")
        if pm:
            intent["payment_method"] = pm
            intent["status"] = "requires_confirmation"
        if "return_url" in params:
            intent["_return_url"] = params["return_url"]

    def _update(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        intent["metadata"].update(params.get("metadata", {}))
        return self._public(intent)

    def _confirm(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] not in {
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
        }:
            raise StripeError(
                "invalid_request_error",
                f"PaymentIntent is {intent['status']}",
                code="payment_intent_unexpected_state",
            )
        self._attach(intent, params)
        if "payment_method_data" in params and not intent.get("payment_method"):
            intent["payment_method"] = self._id("pm")
        if not intent.get("payment_method"):
            # Like Stripe: confirming needs `payment_method` or `payment_method_data[type]`.
            raise StripeError(
                "invalid_request_error",
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        kind = intent["payment_method_types"][0]
        if kind == "alipay":
            intent["next_action"] = {
                "type": "alipay_handle_redirect",
                "alipay_handle_redirect": {
                    "native_data": None,
                    "native_url": None,
                    "return_url": intent.get("_return_url"),
                    "url": f"https://hooks.stripe.com/redirect/authenticate/src_{intent['id']}",
                },
            }
        elif kind == "wechat_pay":
            qr = f"weixin://wxpay/bizpayurl?pr={intent['id'][-10:]}"
            intent["next_action"] = {
                "type": "wechat_pay_display_qr_code",
                "wechat_pay_display_qr_code": {
                    "data": qr,
                    "hosted_instructions_url": f"https://payments.stripe.com/qr/instructions/{intent['id']}",
                    "image_data_url": "data:image/png;base64,iVBORw0KGgo=",
                    "image_url_png": f"https://qr.stripe.com/{intent['id']}.png",
                    "image_url_svg": f"https://qr.stripe.com/{intent['id']}.svg",
                },
            }
        else:
            self._authorise(intent)
            return self._public(intent)
        intent["status"] = "requires_action"
        return self._public(intent)

    def _authorise(self, intent: dict[str, Any]) -> None:
        intent["latest_charge"] = self._id("ch")
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self._book("charge", intent["amount"], intent["currency"], intent["latest_charge"])

    def _capture(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] != "requires_capture":
            raise StripeError(
                "invalid_request_error",
                f"PaymentIntent is {intent['status']}",
                code="payment_intent_unexpected_state",
            )
        amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
        if amount > intent["amount_capturable"]:
            raise StripeError(
                "invalid_request_error",
                "amount_to_capture exceeds the authorised amount",
                code="amount_too_large",
            )
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._book("charge", amount, intent["currency"], intent["latest_charge"])
        return self._public(intent)

    def _cancel(self, intent: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        if intent["status"] not in CANCELABLE:
            raise StripeError(
                "invalid_request_error",
                f"PaymentIntent is {intent['status']}",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            canceled_at=int(time.time()),
            cancellation_reason=params.get("cancellation_reason"),
            amount_capturable=0,
            next_action=None,
        )
        return self._public(intent)

    def _intent(self, intent_id: str) -> dict[str, Any]:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise StripeError(
                "invalid_request_error",
                "No such payment_intent",
                code="resource_missing",
                status=404,
            )
        return intent

    @staticmethod
    def _public(intent: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in intent.items() if not k.startswith("_")}

    def _charge(self, charge_id: str) -> dict[str, Any]:
        """The charge behind an intent (what it took, what went back), from Stripe's example."""
        intent = next(
            (i for i in self.intents.values() if i.get("latest_charge") == charge_id), None
        )
        if intent is None:
            raise StripeError(
                "invalid_request_error", "No such charge", code="resource_missing", status=404
            )
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        charge = fixture("charge")
        captured = intent["status"] == "succeeded"
        charge.update(
            id=charge_id,
            amount=intent["amount"],
            amount_captured=intent["amount_received"] if captured else 0,
            amount_refunded=refunded,
            refunded=captured and refunded >= intent["amount_received"],
            captured=captured,
            currency=intent["currency"],
            payment_intent=intent["id"],
            status="succeeded",
            metadata=dict(intent["metadata"]),
        )
        return charge

    # -- Refunds ---------------------------------------------------------------------------------
    def _refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(params.get("payment_intent", ""))
        if intent["status"] != "succeeded":
            raise StripeError(
                "invalid_request_error",
                "This PaymentIntent has no successful charge",
                code="charge_not_refundable",
            )
        done = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        amount = int(params.get("amount", intent["amount_received"] - done))
        if amount <= 0 or done + amount > intent["amount_received"]:
            raise StripeError(
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount",
                code="amount_too_large",
            )
        refund = fixture("refund")
        refund.update(
            id=self._id("re"),
            amount=amount,
            currency=intent["currency"],
            charge=intent["latest_charge"],
            payment_intent=intent["id"],
            created=int(time.time()),
            reason=params.get("reason"),
            metadata=dict(params.get("metadata", {})),
            status="succeeded",
        )
        self.refunds[refund["id"]] = refund
        self._book("refund", -amount, intent["currency"], refund["id"])
        return refund


class RunningFake:
    """A FakeStripe served by uvicorn on a free local port, in a background thread."""

    def __init__(self, fake: FakeStripe) -> None:
        self.fake = fake
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        port = self._sock.getsockname()[1]
        fake.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            fake.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Stripe server did not start")
            time.sleep(0.01)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._sock.close()
