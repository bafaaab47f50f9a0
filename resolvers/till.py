"""Resolvers of till sessions: each calls one use case of domain/payments/till.py."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.payments import till
from resolvers.context import Context
from schema.common import Connection, connection
from schema.payments.till_types import TillSession, TillSessionPayload
from schema.relay import decode_cursor, expect_id


async def _payload(ctx: Context, session_id: int) -> TillSessionPayload:
    report = await till.session_report(ctx.services.uow, ctx.principal, session_id)
    assert report is not None  # the caller just opened or closed it
    return TillSessionPayload(till_session=TillSession.of(report))


async def till_session_open(
    info: Info[Context, None],
    location_id: strawberry.ID,
    opening_float: int,
    idempotency_key: str | None = None,
) -> TillSessionPayload:
    """A clerk opens their till at a store with a float."""
    ctx = info.context
    result = await till.open_session(
        ctx.services.uow,
        ctx.principal,
        location_id=expect_id(location_id, "Location", field="locationId"),
        opening_float=opening_float,
        idempotency_key=idempotency_key,
        clock=ctx.services.clock,
    )
    return await _payload(ctx, result.session_id)


async def till_session_close(
    info: Info[Context, None], session_id: strawberry.ID, counted: int
) -> TillSessionPayload:
    """The clerk who opened it, or a manager of the store, closes a till with the count."""
    ctx = info.context
    result = await till.close_session(
        ctx.services.uow,
        ctx.principal,
        session_id=expect_id(session_id, "TillSession", field="sessionId"),
        counted=counted,
        clock=ctx.services.clock,
    )
    return await _payload(ctx, result.session_id)


async def till_session(info: Info[Context, None], id: strawberry.ID) -> TillSession | None:
    """A till session for staff of its store."""
    ctx = info.context
    report = await till.session_report(
        ctx.services.uow, ctx.principal, expect_id(id, "TillSession")
    )
    return TillSession.of(report) if report is not None else None


async def till_sessions(
    info: Info[Context, None],
    location_id: strawberry.ID,
    first: int = 20,
    after: str | None = None,
) -> Connection[TillSession]:
    """A store's till sessions, newest first, for staff of that store."""
    ctx = info.context
    ctx.check_first(first)
    before = decode_cursor(after, field="after")[1] if after else None
    found = await till.session_reports(
        ctx.services.uow,
        ctx.principal,
        location_id=expect_id(location_id, "Location", field="locationId"),
        before_id=before,
        limit=first + 1,
    )
    return connection(
        found[:first],
        wrap=TillSession.of,
        cursor_of=lambda r: ("id", r.session.id),
        has_next=len(found) > first,
        has_previous=after is not None,
    )
