"""Read-side order queries for staff lists and buyer lookups."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from adapters.db import models as m
from adapters.db.order_repositories import order_of
from domain.orders.model import Order
from domain.orders.ports import HistoryEntry, LedgerEntry, OrderFilter


class TortoiseOrderQueries:
    """Orders for staff and buyers, newest first, with keyset paging on id."""

    async def order(self, order_id: int) -> Order | None:
        found = await self._records(m.Order.filter(id=order_id))
        return found[0] if found else None

    async def page(
        self, filters: OrderFilter, *, limit: int, before_id: int | None
    ) -> tuple[list[Order], bool]:
        query = m.Order.all()
        if filters.channel:
            query = query.filter(channel_handle=filters.channel)
        if filters.status:
            query = query.filter(status=filters.status)
        if filters.member_id is not None:
            query = query.filter(member_id=filters.member_id)
        if filters.created_from:
            query = query.filter(created_at__gte=filters.created_from)
        if filters.created_to:
            query = query.filter(created_at__lt=filters.created_to)
        if filters.location_ids is not None:
            query = query.filter(id__in=await self._ids_at(filters.location_ids))
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        records = await self._records(query.order_by("-id").limit(limit + 1))
        return records[:limit], len(records) > limit

    @staticmethod
    async def _ids_at(location_ids: tuple[int, ...]) -> list[int]:
        served = await m.Fulfilment.filter(location_id__in=list(location_ids)).values_list(
            "order_id", flat=True
        )
        attributed = await m.Order.filter(
            attributed_location_id__in=list(location_ids)
        ).values_list("id", flat=True)
        return sorted({int(i) for i in [*served, *attributed]})

    @staticmethod
    async def _records(query: Any) -> list[Order]:
        rows = await query
        ids = [r.id for r in rows]
        lines, fulfilments = defaultdict(list), defaultdict(list)
        for line in await m.OrderLine.filter(order_id__in=ids).order_by("id"):
            lines[line.order_id].append(line)  # type: ignore[attr-defined]
        for f in await m.Fulfilment.filter(order_id__in=ids).order_by("id"):
            fulfilments[f.order_id].append(f)  # type: ignore[attr-defined]
        return [order_of(r, lines[r.id], fulfilments[r.id]) for r in rows]

    async def events(self, order_id: int) -> list[HistoryEntry]:
        rows = await m.OrderEvent.filter(order_id=order_id).order_by("id")
        return [HistoryEntry(r.kind, r.actor, dict(r.data), r.created_at) for r in rows]

    async def points_entries(self, member_id: int, *, limit: int) -> list[LedgerEntry]:
        rows = await m.PointsEntry.filter(member_id=member_id).order_by("-id").limit(limit)
        return [
            LedgerEntry(r.kind, r.points, r.balance_after, r.reason, r.order_id, r.created_at)
            for r in rows
        ]
