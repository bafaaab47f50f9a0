"""What attribution needs from storage: members' bindings, scans of codes, the binding policy."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from domain.attribution.model import Binding, BindingPolicy, CodeKind

# a scan as attribution reads it: (code id, the code's kind, its store, its clerk)
ScanHit = tuple[int, CodeKind, int | None, int | None]


class AttributionRepository(Protocol):
    """Bindings, scans and the policy, in the caller's transaction. ``None`` means none."""

    async def binding(self, member_id: int) -> Binding | None:
        """The member's binding (live or expired: ask ``Binding.live``)."""
        ...

    async def save_binding(self, binding: Binding) -> None:
        """Bind the member (replacing their binding)."""
        ...

    async def last_scan(
        self, member_id: int, kinds: Collection[CodeKind], since: datetime
    ) -> ScanHit | None:
        """The member's latest scan of a code of one of ``kinds`` at or after ``since``."""
        ...

    async def policy(self) -> BindingPolicy:
        """The binding and attribution rules (the defaults when none are stored)."""
        ...
