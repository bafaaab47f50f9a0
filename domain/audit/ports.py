"""What the trust use cases need from storage: the audit log and the value grants."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from domain.audit.model import AuditRecord, GrantKind, GrantStatus, ValueGrant


class AuditRepository(Protocol):
    """The append-only audit log and the value grants; ``None`` means not found."""

    async def record(self, entry: AuditRecord) -> None: ...
    async def lock_requester(self, staff_id: int) -> None: ...
    async def entries(self, *, first: int, before_id: int | None) -> list[AuditRecord]: ...
    async def add_grant(self, grant: ValueGrant) -> int: ...
    async def grant(self, grant_id: int, *, for_update: bool = False) -> ValueGrant | None: ...
    async def decide_grant(
        self, grant_id: int, *, status: GrantStatus, by: str, at: datetime
    ) -> None: ...
    async def applied_since(
        self, requested_by: str, *, kind: GrantKind, since: datetime
    ) -> int: ...
    async def grants(
        self, *, status: GrantStatus | None, first: int, before_id: int | None
    ) -> list[ValueGrant]: ...
