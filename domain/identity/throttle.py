"""Login throttling that slows guessing down without letting a stranger lock an account.

Three counters, all keyed on canonical identifiers and the client address:

- per address (any account): 100 tries in 5 minutes, then THROTTLED for that address;
- per (account, address): 10 tries in 5 minutes, then THROTTLED for that pair only, so wrong
  passwords sent from elsewhere never refuse the owner at their own address;
- per account (any address): past 10 tries in 15 minutes every further try waits, twice as
  long each time up to a ceiling: a guesser spread over many addresses is slowed, the owner is
  only delayed.
"""

from __future__ import annotations

import asyncio

from domain.errors import DomainError
from domain.ports import RateLimiter

PER_ADDRESS = (100, 300)  # tries, window in seconds
PER_ACCOUNT_AND_ADDRESS = (10, 300)
ACCOUNT_WINDOW_SECONDS = 900
FREE_TRIES = 10  # per account in its window before the delay starts
FIRST_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 4.0
_UNBOUNDED = 1_000_000_000  # the account counter only counts


def login_delay(tries: int) -> float:
    """Seconds the ``tries``-th try on one account waits: 0, then doubling up to the ceiling."""
    if tries <= FREE_TRIES:
        return 0.0
    doubling: float = FIRST_DELAY_SECONDS * 2.0 ** min(tries - FREE_TRIES - 1, 16)
    return min(doubling, MAX_DELAY_SECONDS)


async def login_guard(
    limiter: RateLimiter, *, account: str, client: str, code: str = "THROTTLED"
) -> None:
    """Count one login try of ``account`` (canonical) from ``client``: refuse it with ``code``
    when this address tried too often, and make it wait when the account is under attack."""
    for key, (limit, window) in (
        (f"login:client:{client}", PER_ADDRESS),
        (f"login:pair:{account}:{client}", PER_ACCOUNT_AND_ADDRESS),
    ):
        decision = await limiter.hit(key, limit=limit, window_seconds=window)
        if not decision.allowed:
            raise DomainError(
                code, f"too many attempts; try again in {decision.retry_after_seconds} s"
            )
    counted = await limiter.hit(
        f"login:account:{account}", limit=_UNBOUNDED, window_seconds=ACCOUNT_WINDOW_SECONDS
    )
    delay = login_delay(_UNBOUNDED - counted.remaining)
    if delay > 0:
        await asyncio.sleep(delay)
