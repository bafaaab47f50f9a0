"""Clerks' clienteling tasks in the database, and the facts they are built from."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from adapters.db import models as m
from domain.clienteling.model import TaskAction, TaskDraft, TaskKind, TaskRecord, TaskState
from domain.inventory.model import MovementKind

# movements that can bring a variant back from nothing
_INFLOWS = [
    MovementKind.RECEIPT.value,
    MovementKind.RETURN.value,
    MovementKind.TRANSFER_IN.value,
    MovementKind.COUNT.value,
    MovementKind.ADJUSTMENT.value,
]


def _record(row: m.ClientelingTask, name: str = "") -> TaskRecord:
    return TaskRecord(
        id=row.id,
        staff_id=row.staff_id,
        member_id=row.member_id,
        kind=TaskKind(row.kind),
        reason=row.reason,
        day=row.day,
        state=TaskState(row.state),
        action=TaskAction(row.action) if row.action else None,
        done_at=row.done_at,
        member_name=name,
    )


class TortoiseClientelingRepository:
    """ClientelingRepository on the unit of work's connection."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def bound_members(
        self, *, staff_ids: Sequence[int] | None, at: datetime
    ) -> list[tuple[int, int]]:
        query = m.MemberBinding.filter(staff_id__not_isnull=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=at)
        )
        if staff_ids is not None:
            query = query.filter(staff_id__in=list(staff_ids))
        rows = (
            await query.using_db(self.conn)
            .order_by("staff_id", "member_id")
            .values_list("staff_id", "member_id")
        )
        return [(int(s), int(mb)) for s, mb in rows]

    async def restocked_categories(self, *, start: datetime, end: datetime) -> set[int]:
        rows = await (
            m.StockMovement.filter(
                created_at__gte=start, created_at__lt=end, kind__in=_INFLOWS, delta__gt=0
            )
            .using_db(self.conn)
            .values_list("variant_id", "delta", "on_hand_after")
        )
        variants = {int(v) for v, delta, after in rows if after - delta <= 0 < after}
        if not variants:
            return set()
        categories = await (
            m.Variant.filter(id__in=sorted(variants), product__category_id__not_isnull=True)
            .using_db(self.conn)
            .values_list("product__category_id", flat=True)
        )
        return {int(c) for c in categories}

    async def birthdays(self, member_ids: Sequence[int]) -> dict[int, tuple[str, date]]:
        if not member_ids:
            return {}
        rows = await (
            m.Member.filter(id__in=sorted(member_ids), birthday__not_isnull=True)
            .using_db(self.conn)
            .values_list("id", "name", "birthday")
        )
        return {int(i): (str(name), born) for i, name, born in rows}

    async def last_days(self, *, since: date, until: date) -> dict[tuple[int, int, TaskKind], date]:
        rows = await (
            m.ClientelingTask.filter(day__gte=since, day__lte=until)
            .using_db(self.conn)
            .values_list("staff_id", "member_id", "kind", "day")
        )
        last: dict[tuple[int, int, TaskKind], date] = {}
        for staff_id, member_id, kind, day in rows:
            key = (int(staff_id), int(member_id), TaskKind(kind))
            if key not in last or day > last[key]:
                last[key] = day
        return last

    async def add_tasks(self, drafts: Sequence[TaskDraft]) -> int:
        if not drafts:
            return 0
        days = {d.day for d in drafts}
        staff = {d.staff_id for d in drafts}
        existing = set(
            await m.ClientelingTask.filter(day__in=sorted(days), staff_id__in=sorted(staff))
            .using_db(self.conn)
            .values_list("staff_id", "member_id", "kind", "day")
        )
        new = [
            m.ClientelingTask(
                staff_id=d.staff_id,
                member_id=d.member_id,
                kind=d.kind.value,
                reason=d.reason,
                day=d.day,
            )
            for d in drafts
            if (d.staff_id, d.member_id, d.kind.value, d.day) not in existing
        ]
        if new:
            # a build running at the same time may have added some: the unique key keeps one
            await m.ClientelingTask.bulk_create(new, ignore_conflicts=True, using_db=self.conn)
        return len(new)

    async def tasks(self, *, staff_id: int, day: date) -> list[TaskRecord]:
        rows = await (
            m.ClientelingTask.filter(staff_id=staff_id, day=day).using_db(self.conn).order_by("id")
        )
        names = (
            dict(
                await m.Member.filter(id__in=sorted({r.member_id for r in rows}))
                .using_db(self.conn)
                .values_list("id", "name")
            )
            if rows
            else {}
        )
        return [_record(r, str(names.get(r.member_id, ""))) for r in rows]

    async def task(self, task_id: int, *, for_update: bool = False) -> TaskRecord | None:
        query = m.ClientelingTask.filter(id=task_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return _record(row) if row else None

    async def mark_done(self, task_id: int, *, action: TaskAction, at: datetime) -> TaskRecord:
        await (
            m.ClientelingTask.filter(id=task_id)
            .using_db(self.conn)
            .update(state=TaskState.DONE.value, action=action.value, done_at=at)
        )
        row = await m.ClientelingTask.get(id=task_id, using_db=self.conn)
        return _record(row)
