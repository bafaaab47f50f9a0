"""Facts about vouchers, for the notifier and marketing consumers of the outbox."""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import ClassVar

from domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherIssued(DomainEvent):
    """Staff sent a member a voucher (its code is the member's secret: never in an event)."""

    topic: ClassVar[str] = "voucher.issued"
    aggregate: ClassVar[str] = "member_id"
    member_id: int
    voucher_id: int


@dataclass(frozen=True, kw_only=True)
class VoucherTransferred(DomainEvent):
    """A member gave a voucher to another member (``from_`` is sent as from).

    The voucher identifies the event (its aggregate id) but is not part of the payload, which
    names the two members only: it is an init-only value kept beside the fields (no slots here).
    """

    topic: ClassVar[str] = "voucher.transferred"
    aggregate: ClassVar[str] = "voucher_id"
    voucher_id: InitVar[int]
    from_: int
    to: int

    def __post_init__(self, voucher_id: int) -> None:
        object.__setattr__(self, "voucher_id", voucher_id)
