"""The attribution port in memory: codes, scans, bindings and the binding policy."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.attribution.model import (
    Binding,
    BindingPolicy,
    CodeDraft,
    CodeKind,
    CodeRecord,
    ScanRecord,
    ScanTouch,
)


class InMemoryAttributionRepository:
    """Codes, scans, bindings and the policy, in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def code(self, code_id: int) -> CodeRecord | None:
        return self.state.attribution_codes.get(code_id)

    async def code_by_text(self, code: str) -> CodeRecord | None:
        return next((c for c in self.state.attribution_codes.values() if c.code == code), None)

    async def codes(
        self,
        *,
        location_ids: Collection[int] | None,
        staff_id: int | None,
        kind: CodeKind | None,
        limit: int,
    ) -> list[CodeRecord]:
        found = [
            c
            for c in sorted(self.state.attribution_codes.values(), key=lambda c: c.id)
            if (location_ids is None or c.location_id in location_ids)
            and (staff_id is None or c.staff_id == staff_id)
            and (kind is None or c.kind is kind)
        ]
        return found[:limit]

    async def add_code(self, draft: CodeDraft) -> CodeRecord:
        code_id = self.state.next_id("attribution_code")
        record = CodeRecord(
            id=code_id,
            code=draft.code,
            kind=draft.kind,
            name=draft.name,
            location_id=draft.location_id,
            staff_id=draft.staff_id,
            landing_path=draft.landing_path,
            active=True,
            created_by=draft.created_by,
            created_at=self.state.now(),
        )
        self.state.attribution_codes[code_id] = record
        return record

    async def set_code_active(self, code_id: int, active: bool) -> None:
        found = self.state.attribution_codes.get(code_id)
        if found is not None:
            self.state.attribution_codes[code_id] = replace(found, active=active)

    async def add_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, at: datetime
    ) -> int:
        scan_id = self.state.next_id("attribution_scan")
        self.state.attribution_scans[scan_id] = ScanRecord(scan_id, code_id, member_id, visitor, at)
        return scan_id

    async def recent_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, since: datetime
    ) -> int | None:
        if member_id is None and visitor is None:
            return None
        for scan in sorted(self.state.attribution_scans.values(), key=lambda s: s.at, reverse=True):
            if scan.code_id != code_id or scan.at < since:
                continue
            if (member_id and scan.member_id == member_id) or (
                not member_id and scan.visitor == visitor
            ):
                return scan.id
        return None

    async def link_visitor(self, visitor: str, member_id: int) -> int:
        linked = 0
        for scan_id, scan in list(self.state.attribution_scans.items()):
            if scan.visitor == visitor and scan.member_id is None:
                self.state.attribution_scans[scan_id] = replace(scan, member_id=member_id)
                linked += 1
        return linked

    def _touches(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> list[tuple[datetime, int, ScanTouch]]:
        found = []
        for scan in self.state.attribution_scans.values():
            code = self.state.attribution_codes.get(scan.code_id)
            if scan.member_id != member_id or code is None or code.kind not in kinds:
                continue
            if since is not None and scan.at < since:
                continue
            found.append((scan.at, scan.id, (code.id, code.kind, code.location_id, code.staff_id)))
        return sorted(found, key=lambda t: (t[0], t[1]))

    async def last_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None:
        found = self._touches(member_id, kinds, since)
        return found[-1][2] if found else None

    async def first_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None:
        found = self._touches(member_id, kinds, since)
        return found[0][2] if found else None

    async def binding(self, member_id: int, *, for_update: bool = False) -> Binding | None:
        return self.state.bindings.get(member_id)

    async def bindings(self, member_ids: Sequence[int]) -> dict[int, Binding]:
        return {i: self.state.bindings[i] for i in member_ids if i in self.state.bindings}

    async def save_binding(self, binding: Binding) -> None:
        self.state.bindings[binding.member_id] = binding

    async def policy(self) -> BindingPolicy:
        return self.state.binding_policy or BindingPolicy()

    async def save_policy(self, policy: BindingPolicy) -> None:
        self.state.binding_policy = policy

    async def staff_names(self, staff_ids: Collection[int]) -> dict[int, str]:
        return {i: s.name for i, s in self.state.staff.items() if i in staff_ids}
