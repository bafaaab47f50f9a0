"""What the promotion use cases need from storage: promotions with their usage limits and uses,
what a cart line's product belongs to, and members' vouchers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.money import Money
from domain.promotions.model import Promotion, VoucherStatus


@dataclass(frozen=True, slots=True)
class PromotionRecord:
    """A stored promotion: its rule and its usage limits."""

    promotion: Promotion
    usage_limit: int | None
    per_member_limit: int | None
    used_count: int
    active: bool


@dataclass(frozen=True, slots=True)
class PromotionDraft:
    """A promotion to store: its rule, its code (normalised) and its usage limits."""

    promotion: Promotion
    code: str | None
    usage_limit: int | None
    per_member_limit: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class VoucherRecord:
    """A single-use voucher owned by a member."""

    id: int
    code: str
    member_id: int
    amount: int
    currency: str
    status: VoucherStatus
    expires_at: datetime | None
    order_id: int | None


@dataclass(frozen=True, slots=True)
class VoucherDraft:
    """A voucher to issue to a member."""

    code: str
    member_id: int
    value: Money
    issued_by: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What promotion scopes match a variant on: its product, categories and collections."""

    product_id: int
    category_ids: tuple[int, ...] = ()
    collection_ids: tuple[int, ...] = ()


class PromotionRepository(Protocol):
    """Promotions, their uses, and members' vouchers; ``None`` means not found."""

    async def live(self, *, at: datetime, codes: Sequence[str]) -> list[PromotionRecord]: ...
    async def get(
        self, promotion_id: int, *, for_update: bool = False
    ) -> PromotionRecord | None: ...
    async def code_taken(self, code: str, *, exclude_id: int | None) -> bool: ...
    async def save(self, promotion_id: int | None, draft: PromotionDraft) -> int: ...
    async def member_uses(self, promotion_id: int, member_id: int) -> int: ...
    async def buyer_uses(
        self, promotion_id: int, *, email: str | None, phone: str | None
    ) -> int: ...
    async def add_use(
        self, promotion_id: int, *, order_id: int, member_id: int | None, counted: bool = True
    ) -> None:
        """Record a use; ``counted``: also add it to the promotion's ``used_count`` (kept for
        promotions with a limit only, so that a use of an unlimited one locks no row)."""
        ...

    async def line_facts(self, variant_ids: Sequence[int]) -> dict[int, LineFacts]: ...
    async def voucher(self, code: str, *, for_update: bool = False) -> VoucherRecord | None: ...
    async def voucher_by_id(self, voucher_id: int) -> VoucherRecord | None: ...
    async def add_voucher(self, draft: VoucherDraft) -> VoucherRecord: ...
    async def use_voucher(self, voucher_id: int, *, order_id: int) -> None: ...
    async def transfer_voucher(self, voucher_id: int, *, to_member_id: int) -> None: ...
    async def vouchers_of(self, member_id: int) -> list[VoucherRecord]: ...
