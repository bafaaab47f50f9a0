"""Resolver of the performance reports (staff)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.types import Info

from adapters.db.report_queries import TortoisePerformanceQueries
from domain.reports.services import performance
from resolvers.context import Context
from schema.relay import expect_id
from schema.reports.types import PerformanceReport


async def performance_report(
    info: Info[Context, None],
    store: strawberry.ID | None = None,
    clerk: strawberry.ID | None = None,
    channel: str | None = None,
    month: str | None = None,
    from_: Annotated[date | None, strawberry.argument(name="from")] = None,
    to: date | None = None,
    currency_code: str = "EUR",
) -> PerformanceReport:
    """Staff: one scope's performance for a period, scoped by role."""
    ctx = info.context
    services = ctx.services
    report = await performance(
        services.uow,
        TortoisePerformanceQueries(),
        ctx.principal,
        store_id=expect_id(store, "Location", field="store") if store else None,
        staff_id=expect_id(clerk, "StaffUser", field="clerk") if clerk else None,
        channel=channel,
        month=month,
        first=from_,
        last=to,
        currency=currency_code,
        tz=services.settings.reconcile_timezone,
    )
    return PerformanceReport.of(report)
