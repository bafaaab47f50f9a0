"""Till session fields of the Query and Mutation roots (types: schema/payments/till_types.py)."""

from __future__ import annotations

import strawberry

from resolvers import till as resolve
from schema.common import Connection
from schema.payments.till_types import TillSession, TillSessionPayload


@strawberry.type
class TillQuery:
    till_session: TillSession | None = strawberry.field(
        resolver=resolve.till_session,
        description="Staff of its store: a till session (null for anyone else).",
    )
    till_sessions: Connection[TillSession] = strawberry.field(
        resolver=resolve.till_sessions,
        description="Staff of the store: its till sessions, newest first.",
    )


@strawberry.type
class TillMutation:
    till_session_open: TillSessionPayload = strawberry.mutation(
        resolver=resolve.till_session_open,
        description="A clerk opens their till at a store with a float (minor units); one open "
        "session per clerk and store (TILL_SESSION_OPEN).",
    )
    till_session_close: TillSessionPayload = strawberry.mutation(
        resolver=resolve.till_session_close,
        description="The clerk who opened it, or a manager of the store, closes it with the "
        "cash counted (minor units): expected and difference are stored. Closing again with "
        "the same count answers the same.",
    )
