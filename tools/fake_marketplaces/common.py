"""What the fake marketplaces share: the record of each API call (``Exchange``), injected
failures, access-token bookkeeping, the notification delivery loop and the ``/_fake/`` control
routes that take the same shape everywhere (listings, fail, config).

A fake's state class derives from ``FakeMarketplace`` and calls its ``__init__``; its app keeps
the state in ``app.state.fake`` and adds ``control_routes()`` to its own routes. What differs
between marketplaces (their formats, errors, orders and notifications) stays in each fake.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FailMode = int | str  # 429, 500 or "timeout"


@dataclass
class Exchange:
    """One API call the fake received and what it answered (contract tests validate each
    against the marketplace's API description)."""

    operation: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_body: bytes
    response_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        operation: str,
        request: Request,
        body: bytes,
        response: Response,
        *,
        path: str | None = None,
    ) -> Exchange:
        """The exchange of ``request`` (its ``body`` read) and ``response``; ``path`` when the
        fake records another form of it than the decoded one."""
        return cls(
            operation=operation,
            method=request.method,
            path=path or request.url.path,
            query=request.url.query,
            headers=dict(request.headers),
            body=body,
            status=response.status_code,
            response_body=bytes(response.body),
            response_headers=dict(response.headers),
        )

    @property
    def content_type(self) -> str:
        """The answer's media type (without parameters)."""
        value = self.response_headers.get("content-type", "application/json")
        return value.split(";")[0].strip()


class FakeMarketplace:
    """State every fake keeps beside its data: exchanges, notification settings, access tokens
    and the failures queued for the next calls.

    ``FAIL_MODES``: the failure modes ``fail_next`` takes (None: any, the fake reads them);
    ``SPARED``: operations that a failure queued for no operation in particular leaves alone;
    ``SETTINGS``: the fake's own fields ``POST /_fake/config`` sets, with their conversions.
    """

    FAIL_MODES: ClassVar[tuple[FailMode, ...] | None] = (429, 500, "timeout")
    SPARED: ClassVar[frozenset[str]] = frozenset()
    SETTINGS: ClassVar[Mapping[str, Callable[[Any], Any]]] = {}

    listings: dict[str, dict[str, Any]]  # sku -> quantity, price, currency (set by each fake)

    def __init__(self, *, token_lifetime: int) -> None:
        self.exchanges: list[Exchange] = []
        self.notify_url: str | None = None
        self.duplicate_notifications = False
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic())
        self.token_grants = 0
        self._failures: list[tuple[FailMode, str | None]] = []

    # -- failures ---------------------------------------------------------------------------

    def fail_next(self, *modes: FailMode, operation: str | None = None) -> None:
        """The next calls (of ``operation``, or any API call) answer 429, 500 or time out."""
        for mode in modes:
            if self.FAIL_MODES is not None and mode not in self.FAIL_MODES:
                raise ValueError(f"unknown failure mode {mode!r}")
            self._failures.append((mode, operation))

    def take_failure(self, operation: str) -> FailMode | None:
        """The failure queued first for ``operation`` (taken off the queue), else None."""
        for index, (mode, wanted) in enumerate(self._failures):
            if wanted == operation or (wanted is None and operation not in self.SPARED):
                del self._failures[index]
                return mode
        return None

    @property
    def pending_failures(self) -> int:
        return len(self._failures)

    # -- access tokens ----------------------------------------------------------------------

    def issue_token(self, token: str) -> None:
        """Hand out ``token``: valid for ``token_lifetime`` seconds from now."""
        self.tokens[token] = time.monotonic() + self.token_lifetime
        self.token_grants += 1

    def token_valid(self, token: str) -> bool:
        """Whether ``token`` was handed out and has not expired (an expired one is dropped)."""
        expiry = self.tokens.get(token)
        if token and expiry is not None and time.monotonic() < expiry:
            return True
        self.tokens.pop(token, None)
        return False

    def expire_tokens(self) -> None:
        """Every access token handed out so far stops working (as after its lifetime)."""
        self.tokens.clear()

    # -- notifications ----------------------------------------------------------------------

    @property
    def copies(self) -> int:
        """How many times each notification is delivered (twice when duplicating)."""
        return 2 if self.duplicate_notifications else 1

    async def deliver(
        self, content: bytes, headers: Mapping[str, str], *, log: logging.Logger | None = None
    ) -> None:
        """POST a notification to ``notify_url`` (when set) ``copies`` times. A failed delivery
        is not repeated (the marketplace would retry later; a fake does not)."""
        if not self.notify_url:
            return
        async with httpx.AsyncClient(timeout=5.0) as client:
            for _ in range(self.copies):
                try:
                    await client.post(self.notify_url, content=content, headers=dict(headers))
                except httpx.HTTPError as error:
                    if log is not None:
                        log.warning("notification to %s failed: %s", self.notify_url, error)

    # -- listings ---------------------------------------------------------------------------

    def seed(self, listings: dict[str, dict[str, Any]]) -> None:
        raise NotImplementedError


# -- control routes (not the marketplaces') ------------------------------------------------------

# what POST /_fake/config sets on every fake, with the conversion of the given value
CONFIG: Mapping[str, Callable[[Any], Any]] = {
    "notify_url": lambda value: value,
    "duplicate_notifications": bool,
    "token_lifetime": int,
}


def _fake(request: Request) -> FakeMarketplace:
    state: FakeMarketplace = request.app.state.fake
    return state


async def _json_object(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


async def _listings(request: Request) -> Response:
    """GET: the listings; POST {sku: {quantity, price, currency}}: seed them first."""
    state = _fake(request)
    if request.method == "POST":
        body = await _json_object(request)
        if body is None:
            return JSONResponse({"error": "a JSON object of sku -> listing"}, status_code=400)
        state.seed(body)
    return JSONResponse(state.listings)


async def _fail(request: Request) -> Response:
    """{"modes": [429, 500, "timeout"], "operation": optional}: the next calls fail so."""
    state = _fake(request)
    body = await _json_object(request)
    if body is None:
        return JSONResponse({"error": "a JSON object"}, status_code=400)
    try:
        state.fail_next(*(body.get("modes") or []), operation=body.get("operation"))
    except ValueError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    return JSONResponse({"ok": True, "pending": state.pending_failures})


async def _config(request: Request) -> Response:
    """Sets the fields given (``CONFIG`` and the fake's ``SETTINGS``); ``expire_tokens``: true
    makes every access token handed out so far stop working. Answers the settings."""
    state = _fake(request)
    body = await _json_object(request)
    if body is None:
        return JSONResponse({"error": "a JSON object"}, status_code=400)
    settings = {**CONFIG, **state.SETTINGS}
    for name, convert in settings.items():
        if name in body:
            setattr(state, name, convert(body[name]))
    if body.get("expire_tokens"):
        state.expire_tokens()
    return JSONResponse({name: getattr(state, name) for name in settings})


def control_routes() -> list[Route]:
    """``/_fake/listings`` (GET, POST), ``/_fake/fail`` and ``/_fake/config`` (POST)."""
    return [
        Route("/_fake/listings", _listings, methods=["GET", "POST"]),
        Route("/_fake/fail", _fail, methods=["POST"]),
        Route("/_fake/config", _config, methods=["POST"]),
    ]
