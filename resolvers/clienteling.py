"""Resolvers of clienteling: a clerk's tasks, a manager's view of them, completing one."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from domain.clienteling import services as svc
from domain.clienteling.model import TaskAction
from domain.identity.model import Role
from resolvers.audit import grant_limits
from resolvers.context import Context
from resolvers.inputs import decimal_money
from schema.clienteling.types import (
    ClientelingAction,
    ClientelingTask,
    ClientelingTaskCompletePayload,
    ClientelingTasksBuildPayload,
)
from schema.relay import expect_id


def _today(ctx: Context) -> date:
    tz = ZoneInfo(ctx.services.settings.reconcile_timezone)
    return ctx.services.clock.now().astimezone(tz).date()


async def my_tasks(info: Info[Context, None], day: date | None = None) -> list[ClientelingTask]:
    """The caller's own tasks of a day."""
    ctx = info.context
    tasks = await svc.my_tasks(ctx.services.uow, ctx.principal, day=day or _today(ctx))
    return [ClientelingTask.of(t) for t in tasks]


async def clerk_tasks(
    info: Info[Context, None], staff_id: strawberry.ID, day: date | None = None
) -> list[ClientelingTask]:
    """A clerk's tasks of a day, for the managers of their stores."""
    ctx = info.context
    tasks = await svc.clerk_tasks(
        ctx.services.uow,
        ctx.principal,
        staff_id=expect_id(staff_id, "StaffUser", field="staffId"),
        day=day or _today(ctx),
    )
    return [ClientelingTask.of(t) for t in tasks]


async def task_complete(
    info: Info[Context, None],
    task_id: strawberry.ID,
    action: ClientelingAction,  # type: ignore[valid-type]
    voucher_amount: str | None = None,
    currency_code: str = "EUR",
    message: str | None = None,
) -> ClientelingTaskCompletePayload:
    """Mark a task done with its action."""
    ctx = info.context
    voucher = (
        decimal_money(voucher_amount, currency_code, field="voucherAmount", example="10.00")
        if voucher_amount is not None
        else None
    )
    done = await svc.complete_task(
        ctx.services.uow,
        ctx.principal,
        task_id=expect_id(task_id, "ClientelingTask", field="taskId"),
        action=TaskAction(action.value),
        voucher=voucher,
        message=message,
        limits=grant_limits(ctx.services.settings),
        at=ctx.services.clock.now(),
    )
    return ClientelingTaskCompletePayload.of(done)


async def clienteling_tasks_build(
    info: Info[Context, None], day: date | None = None
) -> ClientelingTasksBuildPayload:
    """Owners and admins: the day's tasks built now."""
    ctx = info.context
    ctx.principal.require_staff(Role.OWNER, Role.ADMIN)
    added = await svc.build_tasks(
        ctx.services.uow, day=day or _today(ctx), tz=ctx.services.settings.reconcile_timezone
    )
    return ClientelingTasksBuildPayload(added=added, user_errors=[])
