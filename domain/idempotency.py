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


async def run_once(
    uow_factory: UnitOfWorkFactory,
    *,
    scope: str,
    key: str | None,
    payload: dict[str, Any],
    work: Callable[[UnitOfWork], Awaitable[R]],
    result: Callable[..., R],
) -> R:
    """Do ``work`` in one transaction, or return what the first request with ``key`` returned.

    The key is recorded in the same transaction as the work, so a result exists exactly when the
    work committed. Two racing requests with one key: the loser's transaction rolls back and it
    returns the winner's stored result. ``result`` is the use case's result type (a dataclass,
    stored as its fields, or ``dict``): how a stored result is read back.
    """
    key = check_key(key)
    fingerprint = request_fingerprint(payload)
    for _attempt in range(3):
        try:
            async with uow_factory() as uow:
                if key is not None:
                    found = await uow.idempotency.get(scope, key)
                    if found is not None:
                        return result(**_replay(found, fingerprint))
                done = await work(uow)
                if key is not None:
                    await uow.idempotency.put(scope, key, fingerprint, _stored(done))
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
