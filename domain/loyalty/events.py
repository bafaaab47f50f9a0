"""Facts about members' points, for the outbox (marketing, the member's app)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class PointsEarned(DomainEvent):
    """A completed order earned the member points."""

    topic: ClassVar[str] = "points.earned"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    order_id: int
    points: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PointsBurned(DomainEvent):
    """The member paid part of an order with points."""

    topic: ClassVar[str] = "points.burned"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    order_id: int
    points: int
