"""What the attribution use cases need from storage: codes, scans, bindings and the policy."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from domain.attribution.model import (
    Binding,
    BindingPolicy,
    CodeDraft,
    CodeKind,
    CodeRecord,
    ScanTouch,
)


class AttributionRepository(Protocol):
    """Attribution codes, their scans, members' bindings and the binding policy (one row).

    ``None`` means not found. ``binding(member_id, for_update=True)`` locks the member's row
    first (PostgreSQL), so two requests binding the same member run one after the other.
    ``last_scan``/``first_scan``: the member's newest/oldest scan of a code of ``kinds`` at or
    after ``since`` (any time when None), as (code id, kind, location id, staff id).
    """

    async def code(self, code_id: int) -> CodeRecord | None: ...
    async def code_by_text(self, code: str) -> CodeRecord | None: ...
    async def codes(
        self,
        *,
        location_ids: Collection[int] | None,
        staff_id: int | None,
        kind: CodeKind | None,
        limit: int,
    ) -> list[CodeRecord]: ...
    async def add_code(self, draft: CodeDraft) -> CodeRecord: ...
    async def set_code_active(self, code_id: int, active: bool) -> None: ...
    async def add_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, at: datetime
    ) -> int: ...
    async def recent_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, since: datetime
    ) -> int | None: ...
    async def link_visitor(self, visitor: str, member_id: int) -> int: ...
    async def last_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None: ...
    async def first_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None: ...
    async def binding(self, member_id: int, *, for_update: bool = False) -> Binding | None: ...
    async def bindings(self, member_ids: Sequence[int]) -> dict[int, Binding]: ...
    async def save_binding(self, binding: Binding) -> None: ...
    async def policy(self) -> BindingPolicy: ...
    async def save_policy(self, policy: BindingPolicy) -> None: ...
    async def staff_names(self, staff_ids: Collection[int]) -> dict[int, str]: ...
