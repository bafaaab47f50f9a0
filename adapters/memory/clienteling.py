"""Clienteling tasks in memory (bindings and restocked categories are set by the tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from adapters.memory.state import MemoryState
from domain.clienteling.model import TaskAction, TaskDraft, TaskKind, TaskRecord, TaskState


class InMemoryClientelingRepository:
    """ClientelingRepository over a MemoryState."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def bound_members(
        self, *, staff_ids: Sequence[int] | None, at: datetime
    ) -> list[tuple[int, int]]:
        return sorted(
            (s, mb) for s, mb in self.state.clerk_bindings if staff_ids is None or s in staff_ids
        )

    async def restocked_categories(self, *, start: datetime, end: datetime) -> set[int]:
        return set(self.state.restocked_categories)

    async def birthdays(self, member_ids: Sequence[int]) -> dict[int, tuple[str, date]]:
        members = self.state.members
        return {
            i: (members[i].name, born)
            for i in member_ids
            if i in members and (born := members[i].birthday) is not None
        }

    async def last_days(self, *, since: date, until: date) -> dict[tuple[int, int, TaskKind], date]:
        last: dict[tuple[int, int, TaskKind], date] = {}
        for t in self.state.clienteling_tasks.values():
            key = (t.staff_id, t.member_id, t.kind)
            if since <= t.day <= until and (key not in last or t.day > last[key]):
                last[key] = t.day
        return last

    async def add_tasks(self, drafts: Sequence[TaskDraft]) -> int:
        existing = {
            (t.staff_id, t.member_id, t.kind, t.day) for t in self.state.clienteling_tasks.values()
        }
        added = 0
        for d in drafts:
            if (d.staff_id, d.member_id, d.kind, d.day) in existing:
                continue
            task_id = self.state.next_id("clienteling_task")
            self.state.clienteling_tasks[task_id] = TaskRecord(
                task_id, d.staff_id, d.member_id, d.kind, d.reason, d.day, TaskState.OPEN
            )
            existing.add((d.staff_id, d.member_id, d.kind, d.day))
            added += 1
        return added

    async def tasks(self, *, staff_id: int, day: date) -> list[TaskRecord]:
        members = self.state.members
        return [
            replace(t, member_name=members[t.member_id].name if t.member_id in members else "")
            for _, t in sorted(self.state.clienteling_tasks.items())
            if t.staff_id == staff_id and t.day == day
        ]

    async def task(self, task_id: int, *, for_update: bool = False) -> TaskRecord | None:
        return self.state.clienteling_tasks.get(task_id)

    async def mark_done(self, task_id: int, *, action: TaskAction, at: datetime) -> TaskRecord:
        task = replace(
            self.state.clienteling_tasks[task_id], state=TaskState.DONE, action=action, done_at=at
        )
        self.state.clienteling_tasks[task_id] = task
        return task
