"""Till sessions: a clerk's cash drawer at a store, opened with a float and closed with a count.

One session is open per clerk and store at a time. Cash sales go into the clerk's open session
(``domain/orders/pos.py``), cash refunds paid out at the till come out of it; at closing the
expected cash is the float plus the cash taken (net of change) minus the cash paid out, and the
difference is what was counted minus that. A closed session takes no more cash.

Two opens at once by one clerk give one session: each open first claims the clerk's next
session slot at the store (an idempotency record named after the clerk's last session there),
so the second waits on the first's claim, fails, and retries to find the first one open.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from domain.errors import CommonErrorCode, DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity.model import Principal, Role
from domain.orders.access import STAFF
from domain.payments.model import TillSession
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

MAX_CASH = 100_000_000  # one million in minor units: a float or a count above is a typo
MANAGERS = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)


class TillErrorCode(StrEnum):
    """Stable codes of the till: sessions and tenders."""

    TILL_SESSION_OPEN = "TILL_SESSION_OPEN"  # the clerk already has one open at this store
    TILL_SESSION_REQUIRED = "TILL_SESSION_REQUIRED"  # cash needs the clerk's open session
    TILL_SESSION_CLOSED = "TILL_SESSION_CLOSED"  # closed before, with another count
    TENDER_SHORT = "TENDER_SHORT"  # the tenders pay less than the sale
    TENDER_OVER = "TENDER_OVER"  # the tenders pay more (cash given above is change, not this)


@dataclass(frozen=True, slots=True)
class SessionResult:
    """The session a use case opened or closed (what an idempotent replay answers)."""

    session_id: int


@dataclass(frozen=True, slots=True)
class SessionReport:
    """A till session with the cash that went through it so far."""

    session: TillSession
    cash_taken: int  # net of change
    cash_paid_out: int  # cash refunds paid at this till

    @property
    def expected_now(self) -> int:
        """What the drawer should hold now (the stored ``expected`` once closed)."""
        if self.session.expected is not None:
            return self.session.expected
        return self.session.opening_float + self.cash_taken - self.cash_paid_out


def require_store_staff_at(principal: Principal, location_id: int) -> None:
    """Staff of the store (brand-wide staff everywhere), else PERMISSION_DENIED."""
    principal.require_staff(*STAFF)
    if not principal.brand_wide and location_id not in principal.location_ids:
        raise PermissionDenied("you do not work at this store", field="locationId")


def may_close(principal: Principal, session: TillSession) -> bool:
    """The clerk who opened it, or a manager of its store (brand-wide staff anywhere)."""
    if principal.subject == session.staff_subject:
        return True
    if principal.brand_wide:
        return True
    return principal.role is Role.STORE_MANAGER and session.location_id in principal.location_ids


def may_read(principal: Principal, session: TillSession) -> bool:
    """Staff of the session's store, brand-wide staff, and the clerk who opened it."""
    if principal.role is None:
        return False
    return (
        principal.brand_wide
        or session.location_id in principal.location_ids
        or principal.subject == session.staff_subject
    )


def _check_cash(amount: int, field: str) -> None:
    if not 0 <= amount <= MAX_CASH:
        raise DomainError(CommonErrorCode.INVALID, f"0 to {MAX_CASH} minor units", field=field)


async def open_session(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int,
    opening_float: int,
    idempotency_key: str | None,
    clock: Clock,
) -> SessionResult:
    """Open the clerk's till session at a store with a float; TILL_SESSION_OPEN when one is."""
    require_store_staff_at(principal, location_id)
    _check_cash(opening_float, "openingFloat")

    async def work(uow: UnitOfWork) -> SessionResult:
        channel = await uow.locations.store_channel(location_id)
        if channel is None:
            raise DomainError(
                CommonErrorCode.INVALID, "this location has no till", field="locationId"
            )
        last = await uow.payments.sessions(
            location_id=location_id, staff_subject=principal.subject, limit=1
        )
        if last and last[0].closed_at is None:
            raise DomainError(
                TillErrorCode.TILL_SESSION_OPEN,
                "close your open till session first",
                field="locationId",
            )
        # the clerk's next slot here: a twin open waits on this claim, then fails and retries
        slot = f"{location_id}:after:{last[0].id if last else 0}"
        await uow.idempotency.claim(f"till-slot|{principal.subject}", slot, "-")
        opened = await uow.payments.open_session(
            TillSession(
                id=0,
                location_id=location_id,
                staff_subject=principal.subject,
                opening_float=opening_float,
                currency=channel.currency,
                opened_at=clock.now(),
            )
        )
        return SessionResult(opened.id)

    return await run_once(
        uow_factory,
        scope="till-open",
        caller=principal.subject,
        key=idempotency_key,
        payload={"l": location_id, "f": opening_float},
        work=work,
        result=SessionResult,
    )


async def close_session(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    session_id: int,
    counted: int,
    clock: Clock,
) -> SessionResult:
    """Close a till session with the cash counted: expected and difference are stored; closing
    again with the same count answers the same, with another count TILL_SESSION_CLOSED."""
    principal.require_staff(*STAFF)
    _check_cash(counted, "counted")
    async with uow_factory() as uow:
        session = await uow.payments.session(session_id, for_update=True)
        if session is None or not may_read(principal, session):
            raise NotFound("till session", field="sessionId")
        if not may_close(principal, session):
            raise PermissionDenied(
                "the clerk who opened it or a manager of the store closes it", field="sessionId"
            )
        if session.closed_at is not None:
            if session.counted != counted:
                raise DomainError(
                    TillErrorCode.TILL_SESSION_CLOSED,
                    "this session was closed with another count",
                    field="counted",
                )
            return SessionResult(session.id)
        taken, paid_out = await uow.payments.cash_in_session(session.id)
        closed = replace(
            session,
            closed_at=clock.now(),
            counted=counted,
            expected=session.opening_float + taken - paid_out,
        )
        await uow.payments.save_session(closed)
        return SessionResult(closed.id)


async def session_report(
    uow_factory: UnitOfWorkFactory, principal: Principal, session_id: int
) -> SessionReport | None:
    """A till session for staff of its store (None for anyone else, or when there is none)."""
    async with uow_factory() as uow:
        session = await uow.payments.session(session_id)
        if session is None or not may_read(principal, session):
            return None
        taken, paid_out = await uow.payments.cash_in_session(session.id)
    return SessionReport(session, taken, paid_out)


async def session_reports(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int,
    before_id: int | None,
    limit: int,
) -> list[SessionReport]:
    """A store's till sessions, newest first, for staff of that store."""
    require_store_staff_at(principal, location_id)
    async with uow_factory() as uow:
        sessions = await uow.payments.sessions(
            location_id=location_id, before_id=before_id, limit=limit
        )
        reports = []
        for session in sessions:  # a page is short: two sums per session
            taken, paid_out = await uow.payments.cash_in_session(session.id)
            reports.append(SessionReport(session, taken, paid_out))
    return reports
