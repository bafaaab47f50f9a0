"""Tortoise implementation of the points port, bound to one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from adapters.db import models as m
from domain.loyalty.model import (
    SPEND_STATUSES,
    Consumption,
    Lot,
    OrderReversals,
    PointsEntry,
    TierChange,
)
from domain.loyalty.program import LoyaltyProgram, Tier, program_of, settings_of


class TortoisePointsRepository:
    """Lots, ledger entries, the loyalty program and tier data."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def lock(self, member_id: int) -> None:
        await m.Member.filter(id=member_id).using_db(self.conn).select_for_update().first()

    async def lots(self, member_id: int) -> list[Lot]:
        rows = (
            await m.PointsLot.filter(member_id=member_id, remaining__gt=0)
            .using_db(self.conn)
            .order_by("id")
        )
        return [Lot(r.id, r.points, r.remaining, r.earned_at, r.expires_at) for r in rows]

    async def add_lot(
        self,
        member_id: int,
        *,
        points: int,
        earned_at: datetime,
        expires_at: datetime | None,
        order_id: int | None,
    ) -> int:
        row = await m.PointsLot.create(
            using_db=self.conn,
            member_id=member_id,
            points=points,
            remaining=points,
            earned_at=earned_at,
            expires_at=expires_at,
            order_id=order_id,
        )
        return row.id

    async def consume(self, consumptions: Sequence[Consumption]) -> None:
        for c in consumptions:
            await (
                m.PointsLot.filter(id=c.lot_id)
                .using_db(self.conn)
                .update(remaining=F("remaining") - c.points)
            )

    async def has_entry(self, dedupe_key: str) -> bool:
        return await m.PointsEntry.filter(dedupe_key=dedupe_key).using_db(self.conn).exists()

    async def add_entry(self, entry: PointsEntry) -> None:
        meta = {
            k: v
            for k, v in (
                ("reversed_points", entry.reversed_points),
                ("returned_value", entry.returned_value),
            )
            if v is not None
        }
        await m.PointsEntry.create(
            using_db=self.conn,
            member_id=entry.member_id,
            kind=entry.kind.value,
            points=entry.points,
            balance_after=entry.balance_after,
            order_id=entry.order_id,
            lot_id=entry.lot_id,
            dedupe_key=entry.dedupe_key,
            reason=entry.reason,
            actor=entry.actor,
            meta=meta,
        )

    async def program(self) -> LoyaltyProgram:
        row = await m.LoyaltyProgram.all().using_db(self.conn).order_by("id").first()
        return program_of(row.earn, row.redeem) if row else LoyaltyProgram()

    async def save_program(self, program: LoyaltyProgram) -> None:
        earn, redeem = settings_of(program)
        row = await m.LoyaltyProgram.all().using_db(self.conn).order_by("id").first()
        if row is None:
            await m.LoyaltyProgram.create(using_db=self.conn, earn=earn, redeem=redeem)
        else:
            await (
                m.LoyaltyProgram.filter(id=row.id)
                .using_db(self.conn)
                .update(earn=earn, redeem=redeem)
            )

    async def members_with_expired_lots(self, *, at: datetime, limit: int) -> list[int]:
        rows = (
            await m.PointsLot.filter(remaining__gt=0, expires_at__lte=at)
            .using_db(self.conn)
            .values_list("member_id", flat=True)
        )
        return sorted({int(r) for r in rows})[:limit]

    async def tiers(self) -> list[Tier]:
        rows = (
            await m.MemberTier.all()
            .using_db(self.conn)
            .values_list("code", "threshold_minor", "points_multiplier_pct")
        )
        return [Tier(str(c), int(t), int(p)) for c, t, p in rows]

    async def spend_12_months(self, member_id: int, *, since: datetime) -> int:
        rows = (
            await m.Order.filter(
                member_id=member_id, created_at__gte=since, status__in=list(SPEND_STATUSES)
            )
            .using_db(self.conn)
            .values_list("total", "refunded_total")
        )
        return sum(int(t) - int(r) for t, r in rows)

    async def add_tier_change(self, change: TierChange) -> None:
        await m.TierChange.create(
            using_db=self.conn,
            member_id=change.member_id,
            from_tier=change.from_tier,
            to_tier=change.to_tier,
            spend_12m=change.spend_12m,
        )

    async def category_ids(self, variant_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
        rows = (
            await m.Variant.filter(id__in=list(variant_ids))
            .using_db(self.conn)
            .values_list("id", "product__category_id")
        )
        return {int(v): ((int(c),) if c is not None else ()) for v, c in rows}

    async def order_reversals(self, order_id: int) -> OrderReversals:
        entries = await m.PointsEntry.filter(order_id=order_id).using_db(self.conn)
        earn_back = [e for e in entries if e.kind == "EARN_REVERSAL"]
        burn_back = [
            e
            for e in entries
            if e.kind == "BURN_REVERSAL" and not (e.dedupe_key or "").endswith(":cancel")
        ]
        return OrderReversals(
            reversed_earn=sum(int(e.meta.get("reversed_points", 0)) for e in earn_back),
            returned_burn=sum(e.points for e in burn_back),
            returned_value=sum(int(e.meta.get("returned_value", 0)) for e in earn_back),
        )
