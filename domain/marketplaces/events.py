"""Facts of the marketplace sync."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketplaceNotified(DomainEvent):
    """A marketplace said these orders are new or changed: the worker pulls them."""

    topic: ClassVar[str] = "marketplace.notified"
    aggregate: ClassVar[str] = "channel"
    channel: str
    order_ids: tuple[str, ...]
