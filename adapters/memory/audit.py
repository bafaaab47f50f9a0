"""The audit port in memory: the audit log and value grants in a :class:`MemoryState`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.audit.model import AuditRecord, GrantKind, GrantStatus, ValueGrant


class InMemoryAuditRepository:
    """The append-only log and the grants."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def record(self, entry: AuditRecord) -> None:
        number = self.state.next_id("audit")
        self.state.audit.append(replace(entry, id=number, at=entry.at or self.state.now()))

    async def lock_requester(self, staff_id: int) -> None:
        return None  # one unit of work at a time in memory

    async def entries(self, *, first: int, before_id: int | None) -> list[AuditRecord]:
        rows = [e for e in reversed(self.state.audit) if before_id is None or e.id < before_id]
        return rows[:first]

    async def add_grant(self, grant: ValueGrant) -> int:
        number = self.state.next_id("grant")
        self.state.grants[number] = replace(grant, id=number)
        return number

    async def grant(self, grant_id: int, *, for_update: bool = False) -> ValueGrant | None:
        return self.state.grants.get(grant_id)

    async def decide_grant(
        self, grant_id: int, *, status: GrantStatus, by: str, at: datetime
    ) -> None:
        found = self.state.grants[grant_id]
        self.state.grants[grant_id] = replace(found, status=status, decided_by=by, decided_at=at)

    async def applied_since(self, requested_by: str, *, kind: GrantKind, since: datetime) -> int:
        return sum(
            g.value
            for g in self.state.grants.values()
            if g.requested_by == requested_by
            and g.kind is kind
            and g.status is GrantStatus.APPLIED
            and g.created_at >= since
        )

    async def grants(
        self, *, status: GrantStatus | None, first: int, before_id: int | None
    ) -> list[ValueGrant]:
        rows = sorted(self.state.grants.values(), key=lambda g: -g.id)
        return [
            g
            for g in rows
            if (status is None or g.status is status) and (before_id is None or g.id < before_id)
        ][:first]
