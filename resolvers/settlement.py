"""Resolvers of settlement: statements (read, close, approve, pay), franchisees and their
stores, wholesale prices."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.settlement import services as svc
from resolvers.context import Context
from schema.channels.types import Location
from schema.relay import expect_id
from schema.settlement.types import (
    Franchisee,
    FranchiseeAssignLocationPayload,
    FranchiseeInput,
    FranchiseePayload,
    SettlementClosePayload,
    Statement,
    StatementPayload,
    WholesalePriceBulkSetPayload,
    WholesalePriceInput,
)


def _statement(view: svc.StatementView) -> Statement:
    return Statement(_statement=view.statement, _lines=view.lines, _name=view.name)


async def statements(
    info: Info[Context, None],
    period: str | None = None,
    beneficiary_kind: str | None = None,
) -> list[Statement]:
    """Statements of a month and kind, scoped by role."""
    ctx = info.context
    found = await svc.statements(
        ctx.services.uow, ctx.principal, period=period, kind=beneficiary_kind
    )
    return [_statement(v) for v in found]


async def franchisees(info: Info[Context, None]) -> list[Franchisee]:
    """Every franchisee with its stores (the brand)."""
    ctx = info.context
    return [
        Franchisee(_franchisee=f) for f in await svc.franchisees(ctx.services.uow, ctx.principal)
    ]


async def settlement_close(info: Info[Context, None], period: str) -> SettlementClosePayload:
    """The brand: create or refresh the month's DRAFT statements (locked ones are kept)."""
    ctx = info.context
    s = ctx.services
    report = await svc.close_period(
        s.uow, ctx.principal, period=period, tz=s.settings.reconcile_timezone
    )
    found = await svc.statements(s.uow, ctx.principal, period=report.period, kind=None)
    return SettlementClosePayload(
        period=report.period, statements=[_statement(v) for v in found], user_errors=[]
    )


async def _one(info: Info[Context, None], statement: svc.Statement) -> StatementPayload:
    [view] = await svc.with_lines(info.context.services.uow, [statement])
    return StatementPayload(statement=_statement(view), user_errors=[])


async def statement_approve(
    info: Info[Context, None], statement_id: strawberry.ID
) -> StatementPayload:
    """The brand: lock a DRAFT statement (again: nothing changes)."""
    ctx = info.context
    statement = await svc.approve(
        ctx.services.uow,
        ctx.principal,
        statement_id=expect_id(statement_id, "Statement", field="statementId"),
        clock=ctx.services.clock,
    )
    return await _one(info, statement)


async def statement_mark_paid(
    info: Info[Context, None], statement_id: strawberry.ID, reference: str
) -> StatementPayload:
    """The brand: record the payment of an APPROVED statement (again with the same reference:
    nothing changes)."""
    ctx = info.context
    statement = await svc.mark_paid(
        ctx.services.uow,
        ctx.principal,
        statement_id=expect_id(statement_id, "Statement", field="statementId"),
        reference=reference,
        clock=ctx.services.clock,
    )
    return await _one(info, statement)


async def franchisee_create(info: Info[Context, None], input: FranchiseeInput) -> FranchiseePayload:
    """The brand: a new franchisee."""
    ctx = info.context
    created = await svc.create_franchisee(
        ctx.services.uow, ctx.principal, handle=input.handle, name=input.name, contact={}
    )
    return FranchiseePayload(franchisee=Franchisee(_franchisee=created), user_errors=[])


async def franchisee_assign_location(
    info: Info[Context, None],
    location_id: strawberry.ID,
    franchisee_id: strawberry.ID | None = None,
) -> FranchiseeAssignLocationPayload:
    """The brand: give a store to a franchisee (no franchisee: company-owned again)."""
    ctx = info.context
    location = expect_id(location_id, "Location", field="locationId")
    owner = await svc.assign_location(
        ctx.services.uow,
        ctx.principal,
        location_id=location,
        franchisee_id=expect_id(franchisee_id, "Franchisee", field="franchiseeId")
        if franchisee_id
        else None,
    )
    async with ctx.services.uow() as uow:
        found = await uow.locations.location(location)
    return FranchiseeAssignLocationPayload(
        location=Location(_location=found) if found else None,
        franchisee=Franchisee(_franchisee=owner) if owner else None,
        user_errors=[],
    )


async def wholesale_price_bulk_set(
    info: Info[Context, None], prices: list[WholesalePriceInput]
) -> WholesalePriceBulkSetPayload:
    """The brand: set wholesale prices (all or none)."""
    ctx = info.context
    rows = [
        svc.WholesaleInput(
            variant_id=expect_id(p.variant_id, "ProductVariant", field=f"prices.{i}.variantId"),
            amount=p.amount,
            currency=p.currency_code,
        )
        for i, p in enumerate(prices)
    ]
    count = await svc.set_wholesale_prices(ctx.services.uow, ctx.principal, prices=rows)
    return WholesalePriceBulkSetPayload(count=count, user_errors=[])
