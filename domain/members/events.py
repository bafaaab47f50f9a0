"""Facts about members, for the notifier, marketing and security consumers of the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberRegistered(DomainEvent):
    """A shopper signed up (through a store's or a clerk's referral code, if any)."""

    topic: ClassVar[str] = "member.registered"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    referral: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DuplicateSignup(DomainEvent):
    """Someone signed up again with a registered email or phone: its owner is told."""

    topic: ClassVar[str] = "member.duplicate_signup"
    aggregate: ClassVar[str] = "member_id"
    member_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VerificationRequested(DomainEvent):
    """A verification message was queued for the member (by email or SMS). The token and the
    address are secrets: they stay in the notifier's private queue, never in an event."""

    topic: ClassVar[str] = "member.verification_requested"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    channel: str  # EMAIL | PHONE


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshTokenReused(DomainEvent):
    """A revoked refresh token came back: every session of the member was revoked."""

    topic: ClassVar[str] = "member.token_reuse"
    aggregate: ClassVar[str] = "member_id"
    member_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TierChanged(DomainEvent):
    """The member's tier moved with their rolling 12-month spend (``from_`` is sent as from)."""

    topic: ClassVar[str] = "member.tier_changed"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    from_: str
    to: str
