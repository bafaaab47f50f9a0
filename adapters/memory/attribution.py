"""The attribution port in memory: bindings, scans and the policy of a :class:`MemoryState`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.attribution.model import Binding, BindingPolicy, CodeKind
from domain.attribution.ports import ScanHit


class InMemoryAttributionRepository:
    """Bindings by member, scans in time order, codes by id."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def binding(self, member_id: int) -> Binding | None:
        return self.state.bindings.get(member_id)

    async def save_binding(self, binding: Binding) -> None:
        self.state.bindings[binding.member_id] = binding

    async def last_scan(
        self, member_id: int, kinds: Collection[CodeKind], since: datetime
    ) -> ScanHit | None:
        hits = [
            (at, code_id)
            for member, code_id, at in self.state.scans
            if member == member_id and at >= since and self.state.codes[code_id][1] in kinds
        ]
        if not hits:
            return None
        _, code_id = max(hits)
        _, kind, location_id, staff_id = self.state.codes[code_id]
        return (code_id, kind, location_id, staff_id)

    async def policy(self) -> BindingPolicy:
        return self.state.binding_policy or BindingPolicy()
