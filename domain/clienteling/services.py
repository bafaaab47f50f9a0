"""Clienteling use cases: build each clerk's daily list, show it, and complete a task with a
voucher (within the managers' daily cap), a message (to members who accepted marketing) or a
call."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.audit.grants import start_of_day
from domain.audit.model import GrantKind, GrantLimits, GrantStatus, ValueGrant, over_cap
from domain.clienteling.events import ClerkMessageQueued
from domain.clienteling.model import (
    COOLDOWN_DAYS,
    MESSAGE_MAX,
    ClientelingErrorCode,
    TaskAction,
    TaskRecord,
    TaskState,
    tasks_for,
)
from domain.errors import CommonErrorCode, DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal, Role
from domain.insights.model import OrderSummary, member_insight
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.promotions.services import add_member_voucher

MANAGERS = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
CHUNK = 500  # members whose history is read at once


async def build_tasks(
    uow_factory: UnitOfWorkFactory,
    *,
    day: date,
    tz: str,
    staff_ids: Sequence[int] | None = None,
) -> int:
    """The day's tasks of every clerk (or of ``staff_ids``) for their bound members; run again
    the same day, it adds only what is new. Returns how many tasks were added."""
    start = datetime.combine(day, time(), ZoneInfo(tz))
    longest = max(COOLDOWN_DAYS.values())
    added = 0
    async with uow_factory() as uow:
        pairs = await uow.clienteling.bound_members(staff_ids=staff_ids, at=start)
        if not pairs:
            return 0
        restocked = await uow.clienteling.restocked_categories(
            start=start - timedelta(days=1), end=start
        )
        last = await uow.clienteling.last_days(
            since=day - timedelta(days=longest), until=day - timedelta(days=1)
        )
        handles = await uow.members.category_handles()
        for i in range(0, len(pairs), CHUNK):
            chunk = pairs[i : i + CHUNK]
            history: dict[int, list[OrderSummary]] = defaultdict(list)
            members = sorted({member for _, member in chunk})
            for summary in await uow.members.order_summaries(member_ids=members, location_ids=None):
                history[summary.member_id].append(summary)
            birthdays = await uow.clienteling.birthdays(members)
            drafts = []
            for staff_id, member_id in chunk:
                insight = member_insight(history[member_id], now=start)
                for draft in tasks_for(
                    staff_id=staff_id,
                    member_id=member_id,
                    insight=insight,
                    restocked=restocked,
                    handles=handles,
                    day=day,
                    birthday=birthdays.get(member_id),
                ):
                    seen = last.get((staff_id, member_id, draft.kind))
                    if seen is None or (day - seen).days > COOLDOWN_DAYS[draft.kind]:
                        drafts.append(draft)
            added += await uow.clienteling.add_tasks(drafts)
    return added


async def my_tasks(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, day: date
) -> list[TaskRecord]:
    """A clerk's (or any staff member's own) tasks of the day."""
    principal.require_staff()
    if principal.staff_id is None:
        raise DomainError(ClientelingErrorCode.NOT_A_CLERK, "no staff account", field="day")
    async with uow_factory() as uow:
        return await uow.clienteling.tasks(staff_id=principal.staff_id, day=day)


async def clerk_tasks(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, staff_id: int, day: date
) -> list[TaskRecord]:
    """A clerk's tasks of the day, for the managers of their stores (and for themselves)."""
    principal.require_staff()
    async with uow_factory() as uow:
        await _check_clerk(uow, principal, staff_id)
        return await uow.clienteling.tasks(staff_id=staff_id, day=day)


async def _check_clerk(uow: UnitOfWork, principal: Principal, staff_id: int) -> None:
    """The caller is the clerk, a manager of one of the clerk's stores, or brand-wide."""
    if principal.staff_id == staff_id or principal.brand_wide:
        return
    if principal.role is not Role.STORE_MANAGER:
        raise PermissionDenied("a clerk sees their own tasks", field="staffId")
    staff = await uow.identity.staff_by_id(staff_id)
    if staff is None:
        raise NotFound("clerk", field="staffId")
    if not set(staff.location_ids) & principal.location_ids:
        raise PermissionDenied("not a clerk of your stores", field="staffId")


@dataclass(frozen=True, slots=True)
class Completion:
    """A task done, and what its action did (``replayed``: it was done already; nothing new)."""

    task: TaskRecord
    voucher_id: int | None = None
    pending_grant_id: int | None = None  # the voucher waits for an owner (above the cap)
    message_sent: bool = False
    replayed: bool = False


async def complete_task(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    task_id: int,
    action: TaskAction,
    voucher: Money | None,
    message: str | None,
    limits: GrantLimits,
    at: datetime,
) -> Completion:
    """Mark a task done: VOUCHER issues one to the member (capped as a manager's vouchers are),
    MESSAGE queues one for the notifier (members who accepted marketing), CALL records it. The
    task row is locked: a retried or concurrent completion does nothing twice."""
    principal.require_staff()
    if action is TaskAction.VOUCHER and (voucher is None or voucher.amount <= 0):
        raise DomainError(CommonErrorCode.REQUIRED, "a voucher needs an amount", field="voucher")
    text = (message or "").strip()
    if action is TaskAction.MESSAGE and not 0 < len(text) <= MESSAGE_MAX:
        raise DomainError(
            CommonErrorCode.REQUIRED,
            f"a message has 1 to {MESSAGE_MAX} characters",
            field="message",
        )
    async with uow_factory() as uow:
        task = await uow.clienteling.task(task_id, for_update=True)
        if task is None:
            raise NotFound("task", field="taskId")
        await _check_clerk(uow, principal, task.staff_id)
        if task.state is TaskState.DONE:
            return Completion(task=task, replayed=True)
        done = Completion(task=task)
        if action is TaskAction.VOUCHER:
            assert voucher is not None
            done = await _voucher(uow, principal, task=task, amount=voucher, limits=limits, at=at)
        elif action is TaskAction.MESSAGE:
            await _message(uow, task=task, body=text)
            done = replace(done, message_sent=True)
        return replace(done, task=await uow.clienteling.mark_done(task.id, action=action, at=at))


async def _voucher(
    uow: UnitOfWork,
    principal: Principal,
    *,
    task: TaskRecord,
    amount: Money,
    limits: GrantLimits,
    at: datetime,
) -> Completion:
    """A voucher for the task's member, recorded as a value grant: clerks and store managers
    within the managers' daily voucher cap (above it, the grant waits for an owner)."""
    member = await uow.members.by_id(task.member_id)
    if member is None:
        raise NotFound("member", field="taskId")
    status = GrantStatus.APPLIED
    if not principal.brand_wide:
        if principal.staff_id is not None:  # two completions at once still stay within the cap
            await uow.audit.lock_requester(principal.staff_id)
        used = await uow.audit.applied_since(
            principal.subject, kind=GrantKind.VOUCHER, since=start_of_day(at)
        )
        if over_cap(used_today=used, value=amount.amount, cap=limits.voucher_minor_per_day):
            status = GrantStatus.PENDING
    grant_id = await uow.audit.add_grant(
        ValueGrant(
            kind=GrantKind.VOUCHER,
            member_id=member.id,
            requested_by=principal.subject,
            value=amount.amount,
            currency=amount.currency,
            reason=f"clienteling task {task.id}",
            status=status,
            created_at=at,
            voucher_expires_at=None,
        )
    )
    if status is GrantStatus.PENDING:
        return Completion(task=task, pending_grant_id=grant_id)
    issued = await add_member_voucher(
        uow, member_id=member.id, amount=amount, expires_at=None, issued_by=principal.subject
    )
    return Completion(task=task, voucher_id=issued.id)


async def _message(uow: UnitOfWork, *, task: TaskRecord, body: str) -> None:
    """Queue a message for the notifier, to a member who accepted marketing messages."""
    member = await uow.members.by_id(task.member_id)
    if member is None:
        raise NotFound("member", field="taskId")
    if not member.consents.get("marketing"):
        raise DomainError(
            ClientelingErrorCode.NO_CONSENT,
            "this member did not accept marketing messages: call instead",
            field="action",
        )
    if member.email:
        channel, to = "EMAIL", member.email
    elif member.phone:
        channel, to = "PHONE", member.phone
    else:
        raise DomainError(ClientelingErrorCode.NO_CONTACT, "no email nor phone", field="action")
    await uow.members.add_message(member.id, channel=channel, to=to, body=body)
    await uow.outbox.add(ClerkMessageQueued(member_id=member.id, channel=channel))
