"""What every marketplace adapter shares: an httpx client that waits for its operation's token
bucket (shared by processes through Redis, or in-process on the embedded default), retries
429/5xx/timeouts with exponential backoff (honouring ``Retry-After``), caches OAuth access tokens
until shortly before they expire, and never writes a token or secret to the log.

    client = MarketplaceHttp(base_url, buckets=buckets, account="amazon:fr", auth=token_source)
    response = await client.request("getOrder", "GET", "/orders/2026-01-01/orders/123")

``request`` returns the final ``httpx.Response`` for 2xx and 4xx other than 429 (the adapter
reads the marketplace's error body), and raises ``MarketplaceFailure(retryable=True)`` when
429/5xx/timeouts outlast the retries.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import redis.asyncio as aioredis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from domain.marketplaces.model import MarketplaceFailure

if TYPE_CHECKING:
    from adapters.marketplaces.config import MarketplaceAccount

log = logging.getLogger("o2o.marketplaces")

_SECRET = re.compile(
    r"(?i)(authorization|access_token|refresh_token|client_secret|x-amz-access-token|"
    r"wm_sec\.access_token|token)([\"']?\s*[:=]\s*[\"']?)(bearer\s+|basic\s+)?[^\s\"'&,}]+"
)


def redact(text: str) -> str:
    """``text`` with every token, secret and Authorization value replaced by ``***``."""
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***", text)


@dataclass(frozen=True, slots=True)
class Rate:
    """A token bucket: ``per_second`` tokens refill, up to ``burst`` at once."""

    per_second: float
    burst: int


class Buckets(Protocol):
    """Token buckets by key; ``take`` returns 0 when a token was taken, else the seconds to
    wait before trying again."""

    async def take(self, key: str, rate: Rate) -> float: ...


class MemoryBuckets:
    """Token buckets of one process (the embedded default)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._state: dict[str, tuple[float, float]] = {}

    async def take(self, key: str, rate: Rate) -> float:
        now = self._clock()
        tokens, at = self._state.get(key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - at) * rate.per_second)
        if tokens >= 1.0:
            self._state[key] = (tokens - 1.0, now)
            return 0.0
        self._state[key] = (tokens, now)
        return (1.0 - tokens) / rate.per_second


# KEYS[1] the bucket; ARGV: per_second, burst. Returns 0 (taken) or milliseconds to wait.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
return wait
"""


class RedisBuckets:
    """Token buckets shared by every process: one Lua script takes a token atomically, on
    Redis's clock."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "o2o:mkt:bucket:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_TAKE)

    async def take(self, key: str, rate: Rate) -> float:
        wait_ms = await self._script(keys=[self._prefix + key], args=[rate.per_second, rate.burst])
        return int(wait_ms) / 1000.0


class TokenSource(Protocol):
    """Headers that authenticate a request (an OAuth access token, refreshed when due)."""

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]: ...
    def forget(self, refused: Mapping[str, str] | None = None) -> None: ...


class CachedToken:
    """An OAuth access token fetched by ``fetch`` and kept until ``margin`` seconds before it
    expires; one fetch at a time. ``fetch`` returns (headers, lifetime in seconds)."""

    def __init__(
        self,
        fetch: Callable[[httpx.AsyncClient], Awaitable[tuple[dict[str, str], float]]],
        *,
        margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._headers: dict[str, str] | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def headers(self, client: httpx.AsyncClient) -> dict[str, str]:
        async with self._lock:
            if self._headers is None or self._clock() >= self._until:
                headers, lifetime = await self._fetch(client)
                self.fetches += 1
                self._headers = headers
                self._until = self._clock() + max(0.0, lifetime - self._margin)
            return self._headers

    def forget(self, refused: Mapping[str, str] | None = None) -> None:
        """Drop the token (the marketplace refused it): the next request fetches one. With
        ``refused`` (the headers the refused request carried), only while they are still the
        current ones: a concurrent call refused with the same token may have renewed it."""
        if refused is None or self._headers is None or dict(refused) == self._headers:
            self._headers = None


class _Retry(Exception):
    def __init__(self, message: str, status: int | None, after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.after = after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class MarketplaceHttp:
    """One marketplace account's HTTP client with rate limits, retries and token refresh."""

    def __init__(
        self,
        base_url: str,
        *,
        account: str,
        buckets: Buckets,
        rates: Mapping[str, Rate],
        auth: TokenSource | None = None,
        attempts: int = 6,
        backoff_initial: float = 0.2,
        backoff_max: float = 10.0,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        default_rate: Rate = Rate(1.0, 5),
        backoff_jitter: float | None = None,
        token_refused: Callable[[httpx.Response], bool] | None = None,
        bucket_of: Mapping[str, str] | None = None,
        error_text: Callable[[httpx.Response], str] | None = None,
    ) -> None:
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self.account = account
        self.buckets = buckets
        self.rates = rates
        self.default_rate = default_rate
        self.auth = auth
        self.attempts = attempts
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        # the random part of each wait: by default as large as the first wait
        self.backoff_jitter = backoff_initial if backoff_jitter is None else backoff_jitter
        # how the marketplace says the access token is no good (401; SP-API answers 403)
        self.token_refused = token_refused or (lambda r: r.status_code == 401)
        self.bucket_of = dict(bucket_of or {})  # operation -> shared bucket (per-API quotas)
        # the marketplace's message in a refused answer (redacted): by default its text
        self.error_text = error_text or (lambda r: redact(r.text[:500]))
        self.sent = 0  # requests sent, retries included (benchmarks and tests read it)

    async def _wait_for_token(self, operation: str) -> None:
        bucket = self.bucket_of.get(operation, operation)
        rate = self.rates.get(bucket, self.rates.get(operation, self.default_rate))
        key = f"{self.account}:{bucket}"
        while True:
            wait = await self.buckets.take(key, rate)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def _send_once(
        self, operation: str, method: str, url: str, kwargs: dict[str, Any]
    ) -> httpx.Response:
        await self._wait_for_token(operation)
        headers = dict(kwargs.pop("headers", None) or {})
        credentials: dict[str, str] = {}
        if self.auth is not None:
            credentials = await self.auth.headers(self.client)
            headers.update(credentials)
        self.sent += 1
        try:
            response = await self.client.request(method, url, headers=headers, **kwargs)
        except httpx.TransportError as error:  # timeouts, refused connections, resets
            raise _Retry(f"{operation}: {type(error).__name__}", None, None) from error
        if self.auth is not None and self.token_refused(response):
            self.auth.forget(credentials)
            status = response.status_code
            raise _Retry(f"{operation}: {status}, access token refreshed", status, 0.0)
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retry(
                f"{operation}: HTTP {response.status_code}",
                response.status_code,
                _retry_after(response),
            )
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        backoff = wait_exponential_jitter(
            multiplier=self.backoff_initial, max=self.backoff_max, jitter=self.backoff_jitter
        )
        computed = float(backoff(state))
        if isinstance(error, _Retry) and error.after is not None:
            return min(max(error.after, 0.0), self.backoff_max * 3)
        return computed

    async def request(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send with rate limit and retries; see the module's docstring."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retry),
            reraise=True,
            before_sleep=lambda s: log.warning(
                "%s %s retry %d: %s",
                self.account,
                operation,
                s.attempt_number,
                redact(str(s.outcome.exception() if s.outcome else "")),
            ),
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._send_once(operation, method, url, dict(kwargs))
        except _Retry as error:
            raise MarketplaceFailure(
                f"{self.account} {redact(str(error))} after {self.attempts} attempts",
                status=error.status,
                retryable=True,
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def json(self, operation: str, method: str, url: str, **kwargs: Any) -> Any:
        """``request``, then the JSON body of a 2xx; a 4xx raises ``MarketplaceFailure``
        (not retryable) with the marketplace's message."""
        response = await self.request(operation, method, url, **kwargs)
        if response.status_code >= 400:
            raise self.refusal(operation, response)
        if not response.content:
            return None
        return response.json()

    def refusal(self, what: str, response: httpx.Response) -> MarketplaceFailure:
        """The failure (not retryable) of an answer the marketplace refused (a 4xx): ``what``
        was asked, the status, and the marketplace's message (``error_text``)."""
        return MarketplaceFailure(
            f"{self.account} {what}: HTTP {response.status_code}: {self.error_text(response)}",
            status=response.status_code,
            retryable=False,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    @classmethod
    def for_account(
        cls,
        account: MarketplaceAccount,
        *,
        buckets: Buckets,
        rates: Mapping[str, Rate],
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        **kwargs: Any,
    ) -> MarketplaceHttp:
        """A client for ``account`` (``base_url`` by default), named ``kind:channel`` in logs
        and bucket keys, with ``rates`` multiplied by its ``rate_scale`` and the retry settings
        of its options (``retry_options``); ``kwargs`` go to the constructor as they are."""
        return cls(
            account.base_url if base_url is None else base_url,
            account=f"{account.kind.value.lower()}:{account.channel}",
            buckets=buckets,
            rates=scaled_rates(rates, account.rate_scale),
            transport=transport,
            **{**retry_options(account.options), **kwargs},
        )


def scaled_rates(rates: Mapping[str, Rate], scale: float) -> dict[str, Rate]:
    """``rates`` with every per-second figure multiplied by ``scale`` (bursts stay)."""
    return {key: Rate(rate.per_second * scale, rate.burst) for key, rate in rates.items()}


def retry_options(options: Mapping[str, str]) -> dict[str, Any]:
    """``MarketplaceHttp``'s retry settings from an account's options (strings):
    ``attempts`` (default 6), ``backoff_initial`` (0.5 s), ``backoff_jitter`` (the random part
    of a wait; default as large as ``backoff_initial``), ``backoff_max`` (10 s), ``timeout``
    (10 s)."""
    settings: dict[str, Any] = {
        "attempts": max(1, int(options.get("attempts", "6"))),
        "backoff_initial": float(options.get("backoff_initial", "0.5")),
        "backoff_max": float(options.get("backoff_max", "10")),
        "timeout": float(options.get("timeout", "10")),
    }
    if "backoff_jitter" in options:
        settings["backoff_jitter"] = float(options["backoff_jitter"])
    return settings


def utc_iso(moment: datetime) -> str:
    """A moment as marketplaces write it: UTC, milliseconds, ``Z`` (a naive one is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money_to_minor(amount: str | float | int, exponent: int = 2) -> int:
    """A marketplace's decimal amount ("12.34", 12.34) in minor units, exactly."""
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(str(amount)) * (10**exponent)).quantize(Decimal(1), ROUND_HALF_UP))


def minor_to_decimal(amount: int, exponent: int = 2) -> str:
    """Minor units as the decimal string marketplaces take ("12.34")."""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**exponent)
    return f"{sign}{whole}.{part:0{exponent}d}"
