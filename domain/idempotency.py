"""Run a mutation once per idempotency key: a replay returns the first result."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from domain.errors import CommonErrorCode, DomainError
from domain.ports import IdempotencyRace, UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")


def request_fingerprint(payload: dict[str, Any]) -> str:
    """A stable hash of a mutation's input, to tell a replay from a reuse of the key."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    """Refuse an empty or overlong key; None means the caller did not ask for idempotency."""
    if key is None:
        return None
    if not key.strip() or len(key) > 255:
        raise DomainError(
            CommonErrorCode.INVALID,
            "an idempotency key has 1 to 255 characters",
            field="idempotencyKey",
        )
    return key


Check = Callable[[UnitOfWork], Awaitable[object]]


async def run_once(
    uow_factory: UnitOfWorkFactory,
    *,
    scope: str,
    caller: str,
    key: str | None,
    payload: dict[str, Any],
    work: Callable[[UnitOfWork], Awaitable[R]],
    result: Callable[..., R],
    check: Check | None = None,
) -> R:
    """Do ``work`` in one transaction, or answer what the first request with ``key`` got.

    Keys belong to one caller (``caller`` is part of the scope), and ``check`` re-checks the
    caller's rights before a replay. The key is claimed before the work, in the same
    transaction: a twin request sent while the first runs waits on that claim, then replays the
    first answer. A refusal (a ``DomainError``) rolls the claim back with the work: the key stays
    free for a retry once the caller has fixed what was refused. ``result`` reads a stored result
    back (a dataclass, or ``dict``).
    """
    key = check_key(key)
    scope = f"{scope}|{caller}"
    fingerprint = request_fingerprint(payload)
    for _attempt in range(3):
        try:
            async with uow_factory() as uow:
                if key is not None:
                    found = await uow.idempotency.get(scope, key)
                    if found is not None:
                        if check is not None:
                            await check(uow)
                        return result(**_replay(found, fingerprint))
                    await uow.idempotency.claim(scope, key, fingerprint)
                done = await work(uow)  # a refusal rolls the whole transaction back
                if key is not None:
                    await uow.idempotency.complete(scope, key, _stored(done))
                return done
        except IdempotencyRace:
            continue
    raise DomainError(CommonErrorCode.CONFLICT, "concurrent requests with one key; retry")


def _stored(done: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(done) and not isinstance(done, type):
        return dataclasses.asdict(done)
    assert isinstance(done, dict)
    return done


def _replay(found: tuple[str, dict[str, Any] | None], fingerprint: str) -> dict[str, Any]:
    stored_hash, response = found
    if stored_hash != fingerprint or response is None:
        raise DomainError(
            CommonErrorCode.IDEMPOTENCY_KEY_REUSED,
            "this idempotency key was used with a different input",
            field="idempotencyKey",
        )
    return response
