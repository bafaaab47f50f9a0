"""HTTP middleware: who the caller is (staff token, partner key or nobody) and rate limits."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.settings import Settings
from domain.identity.model import ANONYMOUS, Principal
from domain.identity.services import API_KEY_PREFIX, principal_from_api_key, principal_from_claims
from domain.ports import Clock, RateDecision, RateLimiter, TokenSigner, UnitOfWorkFactory

log = logging.getLogger("o2o.http")
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_READ_HEADERS = frozenset((b"authorization", b"x-api-key", b"x-forwarded-for"))


class AuthServices(Protocol):
    """What the middleware needs of the wired services (``resolvers.context.Services`` has it)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def uow(self) -> UnitOfWorkFactory: ...
    @property
    def kv(self) -> RateLimiter: ...
    @property
    def signer(self) -> TokenSigner: ...
    @property
    def clock(self) -> Clock: ...


@functools.lru_cache(maxsize=16)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(peer: str, forwarded_for: str | None, trusted_proxies: tuple[str, ...]) -> str:
    """The caller's address: the direct peer, unless that peer is a trusted proxy, then the
    right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy.

    Only the proxies we run may speak for the client; anyone else's header is ignored, so it
    cannot reset a rate limit or a login throttle by naming another address.
    """
    networks = _networks(trusted_proxies)
    if not forwarded_for or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from beyond our proxies: fall back to the proxy itself
    return hops[0] if hops else peer


def _reply(
    status: int, message: str, headers: dict[str, str] | None = None
) -> Callable[[Send], Awaitable[None]]:
    body = json.dumps({"errors": [{"message": message}]}).encode()

    async def send_reply(send: Send) -> None:
        raw = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
        raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return send_reply


class BatchableLimiter(Protocol):
    """A shared limiter that can count several hits in one round trip (MemoRedisKeyValue)."""

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision: ...
    async def hit_many(
        self, key: str, count: int, *, limit: int, window_seconds: int
    ) -> RateDecision: ...


@dataclass
class _Tally:
    window: int
    known: int  # the shared count as of the last round trip
    pending: int  # hits allowed here since, not yet sent
    synced_at: float


class BatchedRateLimiter:
    """Per-request limits without a Redis round trip per request.

    Hits far below the limit are counted in the process and sent in batches (``hit_many``):
    a hit is allowed here only while the shared count last seen plus this process's unsent hits
    stays within ``share`` of the limit, fewer than ``batch`` hits wait, and the count was read
    less than ``sync_seconds`` ago; any other hit (the first of a key, every hit near the limit)
    goes to the shared counter with the waiting ones and is decided there, exactly. So one
    process never lets more than ``limit`` through in a window; several processes serving the
    same caller may together pass at most ``batch`` more per process, and only when that caller
    sends more than ``share`` of its limit within ``sync_seconds``.
    """

    def __init__(
        self,
        shared: BatchableLimiter,
        *,
        batch: int = 16,
        share: float = 0.5,
        sync_seconds: float = 0.25,
        max_keys: int = 100_000,
    ) -> None:
        self.shared = shared
        self.batch = batch
        self.share = share
        self.sync_seconds = sync_seconds
        self.max_keys = max_keys
        self._tallies: dict[str, _Tally] = {}

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateDecision:
        now = time.time()
        window = int(now // window_seconds)
        tally = self._tallies.get(key)
        if tally is None or tally.window != window:
            if len(self._tallies) >= self.max_keys:
                self._tallies = {k: t for k, t in self._tallies.items() if t.window == window}
            tally = self._tallies[key] = _Tally(window, 0, 0, float("-inf"))
        local = tally.known + tally.pending + 1
        if (
            tally.pending < self.batch
            and local <= limit * self.share
            and time.monotonic() - tally.synced_at < self.sync_seconds
        ):
            tally.pending += 1
            retry = int((window + 1) * window_seconds - now) + 1
            return RateDecision(True, limit - local, retry)
        # this hit and the ones waiting here go to the shared count, which decides this one;
        # hits arriving meanwhile are counted here again (the tally stays, with its bounds)
        count, tally.pending = tally.pending + 1, 0
        decision = await self.shared.hit_many(
            key, count, limit=limit, window_seconds=window_seconds
        )
        if tally.window == window:
            seen = limit + 1 if not decision.allowed else limit - decision.remaining
            tally.known = max(tally.known, seen)
            tally.synced_at = time.monotonic()
        return decision


def request_limiter(kv: RateLimiter) -> RateLimiter:
    """The limiter the middleware counts requests with: batched when the store allows it."""
    if callable(getattr(kv, "hit_many", None)):
        return BatchedRateLimiter(kv)  # type: ignore[arg-type]
    return kv


class AuthMiddleware:
    """Puts ``principal`` and ``client`` into the ASGI scope's state; refuses bad credentials.

    A wrong or expired credential is a 401 (never a silent downgrade to anonymous, which would
    hide an integration bug); too many requests in a minute is a 429 with Retry-After.
    """

    def __init__(
        self, app: ASGIApp, *, services: Callable[[], AuthServices], paths: tuple[str, ...]
    ):
        self.app = app
        self.services = services
        self.paths = paths
        self._limiter: tuple[RateLimiter, RateLimiter] | None = None  # (store, its limiter)

    def _requests_limiter(self, kv: RateLimiter) -> RateLimiter:
        if self._limiter is None or self._limiter[0] is not kv:
            self._limiter = (kv, request_limiter(kv))
        return self._limiter[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.paths):
            await self.app(scope, receive, send)
            return
        services = self.services()
        headers: dict[str, str] = {}  # only the three read here (decoding them all cost more)
        for name, value in scope["headers"]:
            name = name.lower()
            if name in _READ_HEADERS:
                headers[name.decode()] = value.decode("latin-1")
        peer = scope["client"][0] if scope.get("client") else "unknown"
        client = client_address(
            peer, headers.get("x-forwarded-for"), services.settings.trusted_proxies
        )
        principal = await self._principal(services, headers)
        if principal is None:
            await _reply(401, "invalid or expired credentials", {"WWW-Authenticate": "Bearer"})(
                send
            )
            return
        limit = principal.rate_limit_per_minute or (
            services.settings.anonymous_rate_limit_per_minute if principal.is_anonymous else 6000
        )
        key = f"req:{principal.subject if not principal.is_anonymous else 'ip:' + client}"
        try:
            limiter = self._requests_limiter(services.kv)
            decision = await limiter.hit(key, limit=limit, window_seconds=60)
        except Exception:  # the limiter failing must not take the API down: let it through
            log.warning("rate limiter unavailable; request allowed", exc_info=True)
            decision = None
        if decision is not None and not decision.allowed:
            await _reply(
                429, "rate limit exceeded", {"Retry-After": str(decision.retry_after_seconds)}
            )(send)
            return
        state = scope.setdefault("state", {})
        state["principal"] = principal
        state["client"] = client
        await self.app(scope, receive, send)

    @staticmethod
    async def _principal(services: AuthServices, headers: dict[str, str]) -> Principal | None:
        token = headers.get("x-api-key", "")
        auth = headers.get("authorization", "")
        if not token and auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return None
            token = value.strip()
        if not token:
            return ANONYMOUS
        if token.startswith(API_KEY_PREFIX):
            return await principal_from_api_key(services.uow, token, now=services.clock.now())
        claims = services.signer.verify(token)
        return principal_from_claims(claims) if claims else None
