"""The outbox, its reader and the idempotency store in memory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from adapters.memory.state import MemoryState
from domain.events import DomainEvent, serialise
from domain.ports import IdempotencyRace, OutboxMessage


class InMemoryOutbox:
    """Collects the events of a unit of work, serialised as the real outbox stores them."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add(self, event: DomainEvent) -> None:
        topic, aggregate_id, payload = serialise(event)
        ident = self.state.next_id("outbox_event")
        message = OutboxMessage(ident, topic, aggregate_id, payload, self.state.now())
        self.state.outbox[ident] = message


class InMemoryOutboxReader:
    """Waiting outbox events in order, and marking them published."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def take(self, *, limit: int) -> list[OutboxMessage]:
        waiting = [m for i, m in sorted(self.state.outbox.items()) if i not in self.state.published]
        return waiting[:limit]

    async def mark_published(self, ids: Sequence[int], *, at: datetime) -> None:
        for ident in ids:
            self.state.published[ident] = at


class InMemoryIdempotencyStore:
    """First results of keyed mutations; a second ``put`` of a key loses the race."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def get(self, scope: str, key: str) -> tuple[str, dict[str, Any] | None] | None:
        return self.state.idempotency.get((scope, key))

    async def claim(self, scope: str, key: str, request_hash: str) -> None:
        if (scope, key) in self.state.idempotency:
            raise IdempotencyRace(f"{scope}:{key} is taken")
        self.state.idempotency[(scope, key)] = (request_hash, None)

    async def complete(self, scope: str, key: str, response: dict[str, Any]) -> None:
        request_hash, _ = self.state.idempotency[(scope, key)]
        self.state.idempotency[(scope, key)] = (request_hash, response)
