"""Till session types: a clerk's cash drawer opened with a float and closed with a count, what
it should hold and what it took in and paid out."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.money import Money
from domain.payments.till import SessionReport
from resolvers.context import Context
from schema.channels.types import Location
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id


@strawberry.type(description="A clerk's cash drawer at a store, from opening to closing.")
class TillSession:
    id: strawberry.ID
    clerk: str = strawberry.field(description="The staff subject who opened it (staff:<id>).")
    opening_float: MoneyV2
    opened_at: datetime
    closed_at: datetime | None
    cash_taken: MoneyV2 = strawberry.field(description="Cash sales, net of change.")
    cash_paid_out: MoneyV2 = strawberry.field(description="Cash refunds paid at this till.")
    expected: MoneyV2 = strawberry.field(
        description="Float + cash taken - cash paid out: stored at closing, live while open."
    )
    counted: MoneyV2 | None = strawberry.field(description="Counted at closing.")
    difference: MoneyV2 | None = strawberry.field(
        description="Counted - expected once closed (negative: cash is missing)."
    )
    _location_id: strawberry.Private[int]

    @strawberry.field
    async def location(self, info: Info[Context, None]) -> Location | None:
        found = (await info.context.locations()).get(self._location_id)
        return Location(_location=found) if found else None

    @classmethod
    def of(cls, report: SessionReport) -> TillSession:
        s = report.session

        def money(amount: int) -> MoneyV2:
            return MoneyV2.of(Money(amount, s.currency))

        return cls(
            id=strawberry.ID(to_global_id("TillSession", s.id)),
            clerk=s.staff_subject,
            opening_float=money(s.opening_float),
            opened_at=s.opened_at,
            closed_at=s.closed_at,
            cash_taken=money(report.cash_taken),
            cash_paid_out=money(report.cash_paid_out),
            expected=money(report.expected_now),
            counted=money(s.counted) if s.counted is not None else None,
            difference=money(s.difference) if s.difference is not None else None,
            _location_id=s.location_id,
        )


@strawberry.type
class TillSessionPayload:
    till_session: TillSession | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
