"""Clienteling fields of the Query and Mutation roots (staff)."""

from __future__ import annotations

import strawberry

from resolvers import clienteling as resolve
from schema.clienteling.types import (
    ClientelingTask,
    ClientelingTaskCompletePayload,
    ClientelingTasksBuildPayload,
)


@strawberry.type
class ClientelingQuery:
    my_tasks: list[ClientelingTask] = strawberry.field(
        resolver=resolve.my_tasks,
        description="A clerk's clienteling tasks of a day (default: today, brand time zone).",
    )
    clerk_tasks: list[ClientelingTask] = strawberry.field(
        resolver=resolve.clerk_tasks,
        description="Managers: a clerk of their stores' tasks of a day.",
    )


@strawberry.type
class ClientelingMutation:
    task_complete: ClientelingTaskCompletePayload = strawberry.mutation(
        resolver=resolve.task_complete,
        description="Mark a task done with a voucher (within the managers' daily voucher cap), "
        "a message (members who accepted marketing) or a call; done once, however retried.",
    )
    clienteling_tasks_build: ClientelingTasksBuildPayload = strawberry.mutation(
        resolver=resolve.clienteling_tasks_build,
        description="Owners and admins: build the day's tasks now (the worker does it daily).",
    )
