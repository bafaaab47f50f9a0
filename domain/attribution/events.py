"""Facts about attribution: a member bound to a store and a clerk (or taken over)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from domain.attribution.model import Binding
from domain.events import DomainEvent


def binding_json(binding: Binding | None) -> dict[str, Any] | None:
    """A binding as an event carries it (times as ISO 8601)."""
    if binding is None:
        return None
    return {
        "locationId": binding.location_id,
        "staffId": binding.staff_id,
        "source": binding.source.value,
        "codeId": binding.code_id,
        "boundAt": binding.bound_at.isoformat(),
        "expiresAt": binding.expires_at.isoformat() if binding.expires_at else None,
        "rule": binding.rule,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberBound(DomainEvent):
    """A member was bound to a store and a clerk, or the binding was taken over: the history
    of bindings is the sequence of these events (``old`` is None for a first binding)."""

    topic: ClassVar[str] = "member.bound"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    source: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None
