"""Performance reports for staff, scoped by role: a clerk sees their own, a store manager their
stores, their clerks and their stores' till channels, owners and admins everything."""

from __future__ import annotations

import asyncio
from datetime import date

from domain.channels.model import ChannelKind
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal, Role
from domain.ports import UnitOfWorkFactory
from domain.reports.model import Performance, ReportErrorCode, Scope, ScopeKind, period_of
from domain.reports.ports import PerformanceQueries

STAFF = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)


async def performance(
    uow_factory: UnitOfWorkFactory,
    queries: PerformanceQueries,
    principal: Principal,
    *,
    store_id: int | None,
    staff_id: int | None,
    channel: str | None,
    month: str | None,
    first: date | None,
    last: date | None,
    currency: str,
    tz: str,
) -> Performance:
    """One store's, clerk's or channel's report (none named: the brand's) for a month or a
    date range, after checking the caller may see it."""
    principal.require_staff(*STAFF)
    if sum(x is not None for x in (store_id, staff_id, channel)) > 1:
        raise DomainError(
            ReportErrorCode.BAD_SCOPE, "name one store, one clerk or one channel", field="store"
        )
    period = period_of(month=month, first=first, last=last, tz=tz)
    scope = await _scope(
        uow_factory, principal, store_id=store_id, staff_id=staff_id, channel=channel
    )
    currency = currency.strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError(ReportErrorCode.BAD_SCOPE, "a currency is 3 letters", field="currency")
    # the figures are independent reads: read together (each on its own connection)
    sales, influenced, acquired, commission, tasks = await asyncio.gather(
        queries.sales(scope, period, currency=currency),
        queries.online_influenced(scope, period, currency=currency),
        queries.acquired(scope, period),
        queries.commission(scope, period, currency=currency),
        queries.tasks_done(scope, period),
    )
    return Performance(
        scope=scope,
        period=period,
        currency=currency,
        sales=sales,
        online_influenced=influenced,
        acquired=tuple(acquired),
        commission=commission,
        tasks_done=tasks,
    )


async def _scope(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    store_id: int | None,
    staff_id: int | None,
    channel: str | None,
) -> Scope:
    """The scope named, if the caller may see it."""
    mine = principal.location_ids
    if staff_id is not None:
        if principal.role is Role.CLERK:
            if staff_id != principal.staff_id:
                raise PermissionDenied("a clerk sees their own performance", field="clerk")
            return Scope(ScopeKind.CLERK, staff_id)
        async with uow_factory() as uow:
            staff = await uow.identity.staff_by_id(staff_id)
        if staff is None:
            raise NotFound("clerk", field="clerk")
        if not principal.brand_wide and not (set(staff.location_ids) & mine):
            raise PermissionDenied("not a clerk of your stores", field="clerk")
        return Scope(ScopeKind.CLERK, staff_id)
    if principal.role is Role.CLERK:
        raise PermissionDenied("a clerk sees their own performance", field="clerk")
    if store_id is not None:
        if not principal.brand_wide and store_id not in mine:
            raise PermissionDenied("not one of your stores", field="store")
        async with uow_factory() as uow:
            location = await uow.locations.location(store_id)
        if location is None:
            raise NotFound("store", field="store")
        return Scope(ScopeKind.STORE, store_id)
    if channel is not None:
        async with uow_factory() as uow:
            found = await uow.locations.channel(channel.strip())
        if found is None:
            raise NotFound("channel", field="channel")
        if not principal.brand_wide and not (
            found.kind is ChannelKind.STORE and found.store_location_id in mine
        ):
            raise PermissionDenied("a store manager sees their stores' tills", field="channel")
        return Scope(ScopeKind.CHANNEL, found.id)
    if not principal.brand_wide:
        raise PermissionDenied("name one of your stores", field="store")
    return Scope(ScopeKind.BRAND)
