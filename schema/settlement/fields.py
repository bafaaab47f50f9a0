"""Settlement fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import settlement as resolve
from schema.errors import authenticated
from schema.settlement.types import (
    Franchisee,
    FranchiseeAssignLocationPayload,
    FranchiseePayload,
    SettlementClosePayload,
    Statement,
    StatementPayload,
    WholesalePriceBulkSetPayload,
)


@strawberry.type
class SettlementQuery:
    statements: list[Statement] = strawberry.field(
        resolver=resolve.statements,
        description="Statements of a month (YYYY-MM) and beneficiary kind, as far as the caller "
        "may see: a clerk their own, a store manager their stores' and their clerks', the brand "
        "all.",
    )
    franchisees: list[Franchisee] = strawberry.field(resolver=resolve.franchisees)


@strawberry.type
class SettlementMutation:
    settlement_close: SettlementClosePayload = strawberry.mutation(
        resolver=resolve.settlement_close, extensions=[authenticated()]
    )
    statement_approve: StatementPayload = strawberry.mutation(
        resolver=resolve.statement_approve, extensions=[authenticated()]
    )
    statement_mark_paid: StatementPayload = strawberry.mutation(
        resolver=resolve.statement_mark_paid, extensions=[authenticated()]
    )
    franchisee_create: FranchiseePayload = strawberry.mutation(
        resolver=resolve.franchisee_create, extensions=[authenticated()]
    )
    franchisee_assign_location: FranchiseeAssignLocationPayload = strawberry.mutation(
        resolver=resolve.franchisee_assign_location, extensions=[authenticated()]
    )
    wholesale_price_bulk_set: WholesalePriceBulkSetPayload = strawberry.mutation(
        resolver=resolve.wholesale_price_bulk_set, extensions=[authenticated()]
    )
