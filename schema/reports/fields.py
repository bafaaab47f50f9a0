"""Report fields of the Query root (staff)."""

from __future__ import annotations

import strawberry

from resolvers import reports as resolve
from schema.reports.types import PerformanceReport


@strawberry.type
class ReportQuery:
    performance_report: PerformanceReport = strawberry.field(
        resolver=resolve.performance_report,
        description="Staff: a store's, a clerk's or a channel's performance (none named: the "
        "brand's) for a month (YYYY-MM) or a date range in the brand's time zone. A clerk sees "
        "their own; a store manager their stores, their clerks and their tills; owners all.",
    )
