"""Types of settlement: franchisees, statements and their lines, inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.money import Money
from domain.settlement.model import Statement as DStatement
from domain.settlement.model import StatementLine as DStatementLine
from domain.settlement.model import statement_csv
from schema.channels.types import Franchisee, Location
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id

# the global ID type of each beneficiary kind
BENEFICIARY_TYPES = {
    "STAFF": "StaffUser",
    "LOCATION": "Location",
    "VENUE": "AttributionCode",
    "FRANCHISEE": "Franchisee",
}


@strawberry.type(description="One line of a statement: + owed to the beneficiary, - to the brand.")
class StatementLine:
    _line: strawberry.Private[DStatementLine]
    _currency: strawberry.Private[str]

    @strawberry.field(
        description="COMMISSION, TILL_SALES, TILL_RETURN, FULFILLED (franchised stores) or "
        "WHOLESALE (goods transferred to a franchised store)."
    )
    def kind(self) -> str:
        return self._line.kind.value

    @strawberry.field
    def amount(self) -> MoneyV2:
        return MoneyV2.of(Money(self._line.amount, self._currency))

    @strawberry.field
    def description(self) -> str:
        return self._line.description

    @strawberry.field(description="The order the line comes from, if any.")
    def order_number(self) -> str | None:
        return self._line.order_number

    @strawberry.field
    def order_id(self) -> strawberry.ID | None:
        order_id = self._line.order_id
        return strawberry.ID(to_global_id("Order", order_id)) if order_id else None

    @strawberry.field(description="The commission entry of a COMMISSION line.")
    def commission_entry_id(self) -> int | None:
        return self._line.entry_id

    @strawberry.field(description="The stock movement of a WHOLESALE line.")
    def stock_movement_id(self) -> strawberry.ID | None:
        movement = self._line.movement_id
        return strawberry.ID(to_global_id("StockMovement", movement)) if movement else None


@strawberry.type(
    description="What one beneficiary is owed for one month: DRAFT (refreshed by each close), "
    "APPROVED (locked), PAID. The total is the sum of the lines."
)
class Statement:
    _statement: strawberry.Private[DStatement]
    _lines: strawberry.Private[tuple[DStatementLine, ...]]
    _name: strawberry.Private[str] = ""

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Statement", self._statement.id))

    @strawberry.field(description="STAFF, LOCATION, VENUE or FRANCHISEE.")
    def beneficiary_kind(self) -> str:
        return self._statement.beneficiary_kind

    @strawberry.field(description="A StaffUser, Location, AttributionCode or Franchisee ID.")
    def beneficiary_id(self) -> strawberry.ID:
        s = self._statement
        kind = BENEFICIARY_TYPES.get(s.beneficiary_kind, s.beneficiary_kind.title())
        return strawberry.ID(to_global_id(kind, s.beneficiary_id))

    @strawberry.field(description="The clerk's, store's, venue's or franchisee's name.")
    def beneficiary_name(self) -> str:
        return self._name

    @strawberry.field(description="The month, YYYY-MM.")
    def period(self) -> str:
        return self._statement.period

    @strawberry.field(description="DRAFT, APPROVED or PAID.")
    def state(self) -> str:
        return self._statement.state.value

    @strawberry.field(description="Net owed: + to the beneficiary, - to the brand.")
    def total(self) -> MoneyV2:
        return MoneyV2.of(Money(self._statement.total, self._statement.currency))

    @strawberry.field
    def approved_at(self) -> datetime | None:
        return self._statement.approved_at

    @strawberry.field
    def paid_at(self) -> datetime | None:
        return self._statement.paid_at

    @strawberry.field(description="The payment's reference, once PAID.")
    def paid_reference(self) -> str | None:
        return self._statement.paid_reference

    @strawberry.field
    def lines(self) -> list[StatementLine]:
        currency = self._statement.currency
        return [StatementLine(_line=x, _currency=currency) for x in self._lines]

    @strawberry.field(
        description="The statement as CSV (header, one row per line, amounts as decimal "
        "strings): what `app.py settlement close PERIOD --csv DIR` writes."
    )
    def csv(self) -> str:
        return statement_csv(self._statement, self._lines)


@strawberry.input
class FranchiseeInput:
    handle: str
    name: str


@strawberry.input(description="A variant's wholesale price in one currency.")
class WholesalePriceInput:
    variant_id: strawberry.ID
    amount: str = strawberry.field(description="Decimal, e.g. 14.95")
    currency_code: str = "EUR"


@strawberry.type
class FranchiseePayload:
    franchisee: Franchisee | None = None
    user_errors: list[UserError]


@strawberry.type
class FranchiseeAssignLocationPayload:
    location: Location | None = None
    franchisee: Franchisee | None = strawberry.field(
        default=None, description="Its owner now (null: company-owned)."
    )
    user_errors: list[UserError]


@strawberry.type
class WholesalePriceBulkSetPayload:
    count: int = 0
    user_errors: list[UserError]


@strawberry.type
class SettlementClosePayload:
    period: str | None = None
    statements: list[Statement] | None = strawberry.field(
        default=None, description="The period's statements, refreshed or locked."
    )
    user_errors: list[UserError]


@strawberry.type
class StatementPayload:
    statement: Statement | None = None
    user_errors: list[UserError]
