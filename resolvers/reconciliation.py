"""Resolver of the daily payment reconciliation (staff)."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from adapters.db.reconciliation_queries import TortoiseReconciliationQueries
from domain.payments.reconciliation import report_for
from resolvers.context import Context
from schema.payments.reconciliation_types import PaymentReconciliation
from schema.relay import expect_id


async def payment_reconciliation(
    info: Info[Context, None],
    date: date,
    channel: str | None = None,
    location_id: strawberry.ID | None = None,
) -> PaymentReconciliation:
    """Owners and admins: the brand's day (or one channel / store); a store manager: their
    stores only."""
    ctx = info.context
    services = ctx.services
    report = await report_for(
        services.uow,
        services.payments,
        TortoiseReconciliationQueries(),
        ctx.principal,
        day=date,
        tz=services.settings.reconcile_timezone,
        channel=channel.strip() or None if channel is not None else None,
        location_id=expect_id(location_id, "Location", field="locationId") if location_id else None,
    )
    return PaymentReconciliation.of(report)
