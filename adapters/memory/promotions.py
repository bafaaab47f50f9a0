"""The promotion port in memory: promotions with their uses, and members' vouchers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.contact import same_buyer
from domain.promotions.model import VoucherStatus
from domain.promotions.ports import (
    LineFacts,
    PromotionDraft,
    PromotionRecord,
    VoucherDraft,
    VoucherRecord,
)


class InMemoryPromotionRepository:
    """Promotions, their uses and vouchers in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def live(self, *, at: datetime, codes: Sequence[str]) -> list[PromotionRecord]:
        wanted = {c.strip().upper() for c in codes if c.strip()}
        return [
            r
            for _, r in sorted(self.state.promotions.items())
            if r.active and (r.promotion.code is None or r.promotion.code in wanted)
        ]

    async def get(self, promotion_id: int, *, for_update: bool = False) -> PromotionRecord | None:
        return self.state.promotions.get(promotion_id)

    async def code_taken(self, code: str, *, exclude_id: int | None) -> bool:
        promotions = any(
            r.promotion.code == code and pid != exclude_id
            for pid, r in self.state.promotions.items()
        )
        return promotions or any(v.code == code for v in self.state.vouchers.values())

    async def save(self, promotion_id: int | None, draft: PromotionDraft) -> int:
        saved_id = promotion_id or self.state.next_id("promotion")
        used = self.state.promotions[saved_id].used_count if promotion_id else 0
        if promotion_id and (draft.usage_limit is not None or draft.per_member_limit is not None):
            used = sum(1 for p, _, _ in self.state.promotion_uses if p == promotion_id)
        self.state.promotions[saved_id] = PromotionRecord(
            promotion=replace(draft.promotion, id=saved_id, code=draft.code),
            usage_limit=draft.usage_limit,
            per_member_limit=draft.per_member_limit,
            used_count=used,
            active=draft.active,
        )
        return saved_id

    async def member_uses(self, promotion_id: int, member_id: int) -> int:
        return sum(
            1 for p, _, m in self.state.promotion_uses if p == promotion_id and m == member_id
        )

    async def buyer_uses(self, promotion_id: int, *, email: str | None, phone: str | None) -> int:
        if not email and not phone:
            return 0
        return sum(
            1
            for p, order_id, member in self.state.promotion_uses
            if p == promotion_id
            and member is None
            and same_buyer(self.state.orders[order_id].buyer.as_json(), email=email, phone=phone)
        )

    async def add_use(
        self, promotion_id: int, *, order_id: int, member_id: int | None, counted: bool = True
    ) -> None:
        if any(p == promotion_id and o == order_id for p, o, _ in self.state.promotion_uses):
            raise ValueError(f"promotion {promotion_id} is used by order {order_id} already")
        self.state.promotion_uses.append((promotion_id, order_id, member_id))
        if not counted:
            return
        record = self.state.promotions[promotion_id]
        self.state.promotions[promotion_id] = replace(record, used_count=record.used_count + 1)

    async def line_facts(self, variant_ids: Sequence[int]) -> dict[int, LineFacts]:
        found = {}
        for variant_id in variant_ids:
            variant = self.state.variants.get(variant_id)
            if variant is None:
                continue
            category = self.state.category_of(variant_id)
            collections = tuple(
                c
                for c, products in sorted(self.state.collection_products.items())
                if variant.product_id in products
            )
            categories = (category,) if category is not None else ()
            found[variant_id] = LineFacts(variant.product_id, categories, collections)
        return found

    async def voucher(self, code: str, *, for_update: bool = False) -> VoucherRecord | None:
        return next((v for v in self.state.vouchers.values() if v.code == code), None)

    async def voucher_by_id(self, voucher_id: int) -> VoucherRecord | None:
        return self.state.vouchers.get(voucher_id)

    async def add_voucher(self, draft: VoucherDraft) -> VoucherRecord:
        voucher = VoucherRecord(
            id=self.state.next_id("voucher"),
            code=draft.code,
            member_id=draft.member_id,
            amount=draft.value.amount,
            currency=draft.value.currency,
            status=VoucherStatus.ACTIVE,
            expires_at=draft.expires_at,
            order_id=None,
        )
        self.state.vouchers[voucher.id] = voucher
        return voucher

    async def use_voucher(self, voucher_id: int, *, order_id: int) -> None:
        voucher = self.state.vouchers[voucher_id]
        self.state.vouchers[voucher_id] = replace(
            voucher, status=VoucherStatus.USED, order_id=order_id
        )

    async def transfer_voucher(self, voucher_id: int, *, to_member_id: int) -> None:
        voucher = self.state.vouchers[voucher_id]
        self.state.vouchers[voucher_id] = replace(voucher, member_id=to_member_id)

    async def vouchers_of(self, member_id: int) -> list[VoucherRecord]:
        return sorted(
            (v for v in self.state.vouchers.values() if v.member_id == member_id),
            key=lambda v: -v.id,
        )
