"""Tortoise implementation of the promotion port (promotions, uses, vouchers)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from adapters.db import models as m
from domain.contact import same_buyer
from domain.money import Money
from domain.promotions.model import Promotion, PromotionKind, Scope, VoucherStatus
from domain.promotions.ports import (
    LineFacts,
    PromotionDraft,
    PromotionRecord,
    VoucherDraft,
    VoucherRecord,
)


def promotion_terms(p: Promotion) -> dict[str, Any]:
    """A promotion's rule as stored in the `terms` column."""
    money = p.amount or p.threshold
    return {
        "percent": p.percent,
        "amount": p.amount.amount if p.amount else None,
        "threshold": p.threshold.amount if p.threshold else None,
        "currency": money.currency if money else None,
        "repeat": p.repeat,
        "buy": p.buy_quantity,
        "get": p.get_quantity,
        "getPercent": p.get_percent,
        "scope": {
            "productIds": list(p.scope.product_ids),
            "categoryIds": list(p.scope.category_ids),
            "collectionIds": list(p.scope.collection_ids),
            "channels": list(p.scope.channels),
            "storeIds": list(p.scope.store_ids),
            "tiers": list(p.scope.tiers),
        },
    }


def promotion_of(row: m.Promotion) -> Promotion:
    """A promotion row as the domain's rule."""
    t, currency = row.terms, row.terms.get("currency") or "EUR"
    scope = t.get("scope", {})
    return Promotion(
        id=row.id,
        name=row.name,
        kind=PromotionKind(row.kind),
        percent=int(t.get("percent") or 0),
        amount=Money(int(t["amount"]), currency) if t.get("amount") is not None else None,
        threshold=Money(int(t["threshold"]), currency) if t.get("threshold") is not None else None,
        repeat=bool(t.get("repeat")),
        buy_quantity=int(t.get("buy") or 0),
        get_quantity=int(t.get("get") or 0),
        get_percent=int(t.get("getPercent") or 100),
        scope=Scope(
            product_ids=tuple(scope.get("productIds", ())),
            category_ids=tuple(scope.get("categoryIds", ())),
            collection_ids=tuple(scope.get("collectionIds", ())),
            channels=tuple(scope.get("channels", ())),
            store_ids=tuple(scope.get("storeIds", ())),
            tiers=tuple(scope.get("tiers", ())),
        ),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        code=row.code,
        exclusive=row.exclusive,
        priority=row.priority,
    )


def _record(row: m.Promotion) -> PromotionRecord:
    return PromotionRecord(
        promotion_of(row), row.usage_limit, row.per_member_limit, row.used_count, row.active
    )


def _voucher(row: m.Voucher) -> VoucherRecord:
    return VoucherRecord(
        row.id,
        row.code,
        row.member_id,
        row.amount,
        row.currency,
        VoucherStatus(row.status),
        row.expires_at,
        row.order_id,
    )


class TortoisePromotionRepository:
    """Promotions, their uses and vouchers in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def live(self, *, at: datetime, codes: Sequence[str]) -> list[PromotionRecord]:
        wanted = [c.strip().upper() for c in codes if c.strip()]
        query = m.Promotion.filter(active=True).filter(Q(code=None) | Q(code__in=wanted or [""]))
        rows = await query.using_db(self.conn).order_by("id")
        return [_record(r) for r in rows]

    async def get(self, promotion_id: int, *, for_update: bool = False) -> PromotionRecord | None:
        query = m.Promotion.filter(id=promotion_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return _record(row) if row else None

    async def code_taken(self, code: str, *, exclude_id: int | None) -> bool:
        query = m.Promotion.filter(code=code).exclude(id=exclude_id or 0).using_db(self.conn)
        in_vouchers = await m.Voucher.filter(code=code).using_db(self.conn).exists()
        return in_vouchers or await query.exists()

    async def save(self, promotion_id: int | None, draft: PromotionDraft) -> int:
        p = draft.promotion
        values = {
            "name": p.name,
            "kind": p.kind.value,
            "terms": promotion_terms(p),
            "starts_at": p.starts_at,
            "ends_at": p.ends_at,
            "exclusive": p.exclusive,
            "priority": p.priority,
            "code": draft.code,
            "usage_limit": draft.usage_limit,
            "per_member_limit": draft.per_member_limit,
            "active": draft.active,
        }
        if promotion_id is None:
            row = await m.Promotion.create(using_db=self.conn, **values)
            return row.id
        if draft.usage_limit is not None or draft.per_member_limit is not None:
            # used_count is kept while a limit exists: count the uses made without one
            uses = m.PromotionUse.filter(promotion_id=promotion_id).using_db(self.conn)
            values["used_count"] = await uses.count()
        await m.Promotion.filter(id=promotion_id).using_db(self.conn).update(**values)
        return promotion_id

    async def member_uses(self, promotion_id: int, member_id: int) -> int:
        query = m.PromotionUse.filter(promotion_id=promotion_id, member_id=member_id)
        return await query.using_db(self.conn).count()

    async def buyer_uses(self, promotion_id: int, *, email: str | None, phone: str | None) -> int:
        """Guest uses of the promotion by orders with this (canonical) email or phone."""
        if not email and not phone:
            return 0
        orders = (
            await m.PromotionUse.filter(promotion_id=promotion_id, member_id=None)
            .using_db(self.conn)
            .values_list("order_id", flat=True)
        )
        if not orders:
            return 0
        buyers = (
            await m.Order.filter(id__in=list(orders))
            .using_db(self.conn)
            .values_list("buyer", flat=True)
        )
        return sum(1 for b in buyers if same_buyer(b or {}, email=email, phone=phone))

    async def add_use(
        self, promotion_id: int, *, order_id: int, member_id: int | None, counted: bool = True
    ) -> None:
        await m.PromotionUse.create(
            using_db=self.conn, promotion_id=promotion_id, order_id=order_id, member_id=member_id
        )
        if not counted:  # no limit: the promotion's row is neither locked nor written
            return
        await (
            m.Promotion.filter(id=promotion_id)
            .using_db(self.conn)
            .update(used_count=F("used_count") + 1)
        )

    async def line_facts(self, variant_ids: Sequence[int]) -> dict[int, LineFacts]:
        rows = (
            await m.Variant.filter(id__in=list(variant_ids))
            .using_db(self.conn)
            .values_list("id", "product_id", "product__category_id")
        )
        products = {int(p) for _, p, _ in rows}
        links = (
            await m.CollectionProduct.filter(product_id__in=list(products))
            .using_db(self.conn)
            .values_list("product_id", "collection_id")
        )
        collections: dict[int, list[int]] = defaultdict(list)
        for product_id, collection_id in links:
            collections[int(product_id)].append(int(collection_id))
        return {
            int(v): LineFacts(
                int(p), (int(c),) if c is not None else (), tuple(collections[int(p)])
            )
            for v, p, c in rows
        }

    async def voucher(self, code: str, *, for_update: bool = False) -> VoucherRecord | None:
        query = m.Voucher.filter(code=code).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return _voucher(row) if row else None

    async def voucher_by_id(self, voucher_id: int) -> VoucherRecord | None:
        row = await m.Voucher.filter(id=voucher_id).using_db(self.conn).select_for_update().first()
        return _voucher(row) if row else None

    async def add_voucher(self, draft: VoucherDraft) -> VoucherRecord:
        row = await m.Voucher.create(
            using_db=self.conn,
            code=draft.code,
            member_id=draft.member_id,
            amount=draft.value.amount,
            currency=draft.value.currency,
            issued_by=draft.issued_by,
            expires_at=draft.expires_at,
        )
        return _voucher(row)

    async def use_voucher(self, voucher_id: int, *, order_id: int) -> None:
        await (
            m.Voucher.filter(id=voucher_id)
            .using_db(self.conn)
            .update(status=VoucherStatus.USED.value, order_id=order_id)
        )

    async def transfer_voucher(self, voucher_id: int, *, to_member_id: int) -> None:
        await m.Voucher.filter(id=voucher_id).using_db(self.conn).update(member_id=to_member_id)

    async def vouchers_of(self, member_id: int) -> list[VoucherRecord]:
        rows = await m.Voucher.filter(member_id=member_id).using_db(self.conn).order_by("-id")
        return [_voucher(r) for r in rows]
