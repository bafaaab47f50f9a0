"""Facts of clienteling, for the notifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ClerkMessageQueued(DomainEvent):
    """A clerk's message was queued for the member (the text and address stay in the
    notifier's private queue, never in an event)."""

    topic: ClassVar[str] = "member.message_queued"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    channel: str  # EMAIL | PHONE
