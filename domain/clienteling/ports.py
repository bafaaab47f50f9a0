"""What clienteling needs from storage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

from domain.clienteling.model import TaskAction, TaskDraft, TaskKind, TaskRecord


class ClientelingRepository(Protocol):
    """Clerks' tasks and the facts they are built from."""

    async def bound_members(
        self, *, staff_ids: Sequence[int] | None, at: datetime
    ) -> list[tuple[int, int]]:
        """(staff id, member id) of every binding to a clerk in force at ``at`` (of the given
        clerks only, when named), ordered."""
        ...

    async def restocked_categories(self, *, start: datetime, end: datetime) -> set[int]:
        """Categories of the variants whose stock at some location went from nothing to some
        in [start, end) (a receipt, a return, a transfer in, a count)."""
        ...

    async def birthdays(self, member_ids: Sequence[int]) -> dict[int, tuple[str, date]]:
        """The name and birthday of those of ``member_ids`` who gave a birthday."""
        ...

    async def last_days(self, *, since: date, until: date) -> dict[tuple[int, int, TaskKind], date]:
        """The last day of each (staff, member, kind) that had a task in since..until
        (inclusive)."""
        ...

    async def add_tasks(self, drafts: Sequence[TaskDraft]) -> int:
        """Store the tasks not already there (one per clerk, member, kind and day); how many
        were new."""
        ...

    async def tasks(self, *, staff_id: int, day: date) -> list[TaskRecord]:
        """A clerk's tasks of a day, with their members' names, in id order."""
        ...

    async def task(self, task_id: int, *, for_update: bool = False) -> TaskRecord | None:
        """One task (locked for the transaction when ``for_update``)."""
        ...

    async def mark_done(self, task_id: int, *, action: TaskAction, at: datetime) -> TaskRecord:
        """The task DONE with ``action``, at ``at``."""
        ...
