"""Types of clienteling: a clerk's tasks and what completing one did."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from domain.clienteling import model as cm
from domain.clienteling.services import Completion
from schema.common import UserError
from schema.relay import to_global_id

ClientelingTaskKind = strawberry.enum(
    Enum("ClientelingTaskKind", {k.name: k.value for k in cm.TaskKind}),  # type: ignore[misc]
    description="CHURN_RISK (buying much later than they used to), BACK_IN_STOCK (a "
    "category they buy from got stock back) or BIRTHDAY (within the next 7 days).",
)
ClientelingTaskState = strawberry.enum(
    Enum("ClientelingTaskState", {k.name: k.value for k in cm.TaskState}),  # type: ignore[misc]
)
ClientelingAction = strawberry.enum(
    Enum("ClientelingAction", {k.name: k.value for k in cm.TaskAction}),  # type: ignore[misc]
    description="VOUCHER (issued to the member), MESSAGE (queued for the notifier), CALL.",
)


@strawberry.type(description="A clerk's task for one bound member on one day.")
class ClientelingTask:
    id: strawberry.ID
    staff_id: strawberry.ID
    member_id: strawberry.ID
    member_name: str
    kind: ClientelingTaskKind  # type: ignore[valid-type]
    reason: str
    day: date
    state: ClientelingTaskState  # type: ignore[valid-type]
    action: ClientelingAction | None  # type: ignore[valid-type]
    done_at: datetime | None

    @classmethod
    def of(cls, task: cm.TaskRecord) -> ClientelingTask:
        return cls(
            id=strawberry.ID(to_global_id("ClientelingTask", task.id)),
            staff_id=strawberry.ID(to_global_id("StaffUser", task.staff_id)),
            member_id=strawberry.ID(to_global_id("Member", task.member_id)),
            member_name=task.member_name,
            kind=task.kind,
            reason=task.reason,
            day=task.day,
            state=task.state,
            action=task.action,
            done_at=task.done_at,
        )


@strawberry.type
class ClientelingTaskCompletePayload:
    task: ClientelingTask | None = None
    voucher_id: strawberry.ID | None = None
    pending_grant_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The voucher is above the daily cap: this grant waits for an owner.",
    )
    message_sent: bool = False
    replayed: bool = strawberry.field(
        default=False, description="The task was done already: nothing was done again."
    )
    user_errors: list[UserError]

    @classmethod
    def of(cls, done: Completion) -> ClientelingTaskCompletePayload:
        return cls(
            task=ClientelingTask.of(done.task),
            voucher_id=strawberry.ID(to_global_id("Voucher", done.voucher_id))
            if done.voucher_id is not None
            else None,
            pending_grant_id=strawberry.ID(to_global_id("ValueGrant", done.pending_grant_id))
            if done.pending_grant_id is not None
            else None,
            message_sent=done.message_sent,
            replayed=done.replayed,
            user_errors=[],
        )


@strawberry.type
class ClientelingTasksBuildPayload:
    added: int = 0
    user_errors: list[UserError]
