"""Settlement use cases: closing a month into statements, approving and paying them, reading
them as each role may; franchisees, their stores and the wholesale prices."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from domain.attribution.model import BeneficiaryKind
from domain.catalog.model import check_handle, check_title
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Role
from domain.money import Money
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.settlement.model import (
    DEFAULT_TERMS,
    FRANCHISE_KINDS,
    Beneficiary,
    Franchisee,
    FranchiseTerms,
    SettlementErrorCode,
    Statement,
    StatementLine,
    StatementState,
    check_period,
    commission_line,
    franchise_lines,
    period_bounds,
)

BRAND = (Role.OWNER, Role.ADMIN)
MAX_WHOLESALE_ROWS = 1000


@dataclass(frozen=True, slots=True)
class CloseReport:
    """What a close did: the statements it created or refreshed, and those it left locked."""

    period: str
    refreshed: tuple[int, ...]
    locked: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class StatementView:
    """A statement with its lines."""

    statement: Statement
    lines: tuple[StatementLine, ...]
    name: str = ""


# ------------------------------------------------------------------ closing a month


async def beneficiaries(uow_factory: UnitOfWorkFactory, period: str) -> list[Beneficiary]:
    """Who a close of ``period`` makes statements for: everyone with unsettled commission
    entries of the period or before, and every franchisee (in each currency its stores sell)."""
    check_period(period)
    async with uow_factory() as uow:
        found = set(await uow.settlement.beneficiaries_with_open_entries(period))
        for franchisee in await uow.franchise.franchisees():
            for currency in await uow.settlement.franchise_currencies(franchisee.location_ids):
                found.add(Beneficiary(BeneficiaryKind.FRANCHISEE.value, franchisee.id, currency))
    return sorted(found, key=lambda b: (b.kind, b.id, b.currency))


async def close_one(
    uow: UnitOfWork,
    beneficiary: Beneficiary,
    period: str,
    *,
    tz: str,
    terms: FranchiseTerms = DEFAULT_TERMS,
) -> Statement:
    """Create or refresh one beneficiary's DRAFT statement of ``period`` (an APPROVED or PAID
    one is returned as it is): it takes every commission entry of the period or before that
    is on no statement yet and, for a franchisee, recomputes the contract's lines."""
    statement = await uow.settlement.open_statement(beneficiary, period, create=True)
    assert statement is not None  # created when missing
    if statement.state is not StatementState.DRAFT:
        return statement  # locked: what comes later lands in the next open period
    entries = await uow.settlement.take_open_entries(beneficiary, period)
    if entries:
        await uow.settlement.assign_entries([e.id for e in entries], statement.id)
        await uow.settlement.add_lines(statement.id, [commission_line(e) for e in entries])
    if beneficiary.kind == BeneficiaryKind.FRANCHISEE:
        await uow.settlement.remove_lines(statement.id, sorted(FRANCHISE_KINDS))
        franchisee = await uow.franchise.franchisee(beneficiary.id)
        stores = franchisee.location_ids if franchisee else ()
        if stores:
            start, end = period_bounds(period, tz)
            s = uow.settlement
            lines = franchise_lines(
                till_sales=await s.till_sales(stores, start, end),
                refunds=await s.till_refunds(stores, start, end),
                fulfilled=await s.fulfilled_orders(stores, start, end, beneficiary.currency),
                transfers=await s.transfers(stores, start, end),
                currency=beneficiary.currency,
                terms=terms,
            )
            await uow.settlement.add_lines(statement.id, lines)
    statement.total = await uow.settlement.line_total(statement.id)
    await uow.settlement.save_statement(statement)
    return statement


async def close_period(
    uow_factory: UnitOfWorkFactory,
    principal: Principal | None,
    *,
    period: str,
    tz: str,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], object] | None = None,
    terms: FranchiseTerms = DEFAULT_TERMS,
) -> CloseReport:
    """Close a month: every beneficiary's statement created or refreshed, one transaction
    each. ``principal`` None: the command line (the operator of the machine)."""
    if principal is not None:
        principal.require_staff(*BRAND)
    period = check_period(period)
    who = await beneficiaries(uow_factory, period)
    if on_total is not None:
        on_total(len(who))
    refreshed: list[int] = []
    locked: list[int] = []
    for beneficiary in who:
        async with uow_factory() as uow:
            statement = await close_one(uow, beneficiary, period, tz=tz, terms=terms)
        (refreshed if statement.state is StatementState.DRAFT else locked).append(statement.id)
        if progress is not None:
            progress(1)
    return CloseReport(period, tuple(refreshed), tuple(locked))


# ------------------------------------------------------------------ approving and paying


async def approve(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, statement_id: int, clock: Clock
) -> Statement:
    """Lock a DRAFT statement (approving an approved or paid one changes nothing)."""
    principal.require_staff(*BRAND)
    async with uow_factory() as uow:
        statement = await _locked(uow, statement_id)
        if statement.state is StatementState.DRAFT:
            statement.state = StatementState.APPROVED
            statement.approved_at = clock.now()
            statement.approved_by = principal.subject
            await uow.settlement.save_statement(statement)
        return statement


async def mark_paid(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    statement_id: int,
    reference: str,
    clock: Clock,
) -> Statement:
    """Record the payment of an APPROVED statement; paying it again with the same reference
    changes nothing, with another reference is refused."""
    principal.require_staff(*BRAND)
    reference = (reference or "").strip()
    if not reference or len(reference) > 120:
        raise DomainError(
            SettlementErrorCode.REFERENCE_REQUIRED,
            "the payment's reference (1 to 120 characters)",
            field="reference",
        )
    async with uow_factory() as uow:
        statement = await _locked(uow, statement_id)
        if statement.state is StatementState.PAID:
            if statement.paid_reference == reference:
                return statement
            raise DomainError(
                SettlementErrorCode.INVALID_STATE,
                f"already paid with reference {statement.paid_reference}",
                field="reference",
            )
        if statement.state is not StatementState.APPROVED:
            raise DomainError(
                SettlementErrorCode.INVALID_STATE,
                "approve the statement before paying it",
                field="statementId",
            )
        statement.state = StatementState.PAID
        statement.paid_at = clock.now()
        statement.paid_reference = reference
        await uow.settlement.save_statement(statement)
        return statement


async def _locked(uow: UnitOfWork, statement_id: int) -> Statement:
    statement = await uow.settlement.statement(statement_id, lock=True)
    if statement is None:
        raise NotFound("statement", field="statementId")
    return statement


# ------------------------------------------------------------------ reading


async def visible_beneficiaries(
    uow: UnitOfWork, principal: Principal
) -> Mapping[str, Sequence[int]] | None:
    """Whose statements the caller may read: None for the brand (all); a store manager their
    stores' and the staff of their stores'; a clerk their own."""
    principal.require_staff()
    if principal.role in BRAND:
        return None
    me = [principal.staff_id] if principal.staff_id is not None else []
    if principal.role is Role.STORE_MANAGER:
        stores = sorted(principal.location_ids)
        staff = set(await uow.settlement.staff_at(stores)) | set(me)
        return {BeneficiaryKind.LOCATION.value: stores, BeneficiaryKind.STAFF.value: sorted(staff)}
    return {BeneficiaryKind.STAFF.value: me}


async def statements(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    period: str | None,
    kind: str | None,
) -> list[StatementView]:
    """Statements of a month and kind, as far as the caller may see them, with their lines."""
    if period is not None:
        period = check_period(period)
    if kind is not None and kind not in BeneficiaryKind.__members__:
        raise DomainError(
            SettlementErrorCode.INVALID_STATE,
            "STAFF, LOCATION, VENUE or FRANCHISEE",
            field="beneficiaryKind",
        )
    async with uow_factory() as uow:
        ids = await visible_beneficiaries(uow, principal)
        found = await uow.settlement.statements(period=period, kind=kind, ids=ids)
        return await _views(uow, found)


async def _views(uow: UnitOfWork, found: Sequence[Statement]) -> list[StatementView]:
    if not found:
        return []
    lines = await uow.settlement.lines([s.id for s in found])
    names = await uow.settlement.names(
        sorted({(s.beneficiary_kind, s.beneficiary_id) for s in found})
    )
    return [
        StatementView(
            s, tuple(lines.get(s.id, ())), names.get((s.beneficiary_kind, s.beneficiary_id), "")
        )
        for s in found
    ]


# ------------------------------------------------------------------ franchise


async def franchisees(uow_factory: UnitOfWorkFactory, principal: Principal) -> list[Franchisee]:
    """Every franchisee with its stores (the brand)."""
    principal.require_staff(*BRAND)
    async with uow_factory() as uow:
        return await uow.franchise.franchisees()


async def create_franchisee(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    handle: str,
    name: str,
    contact: dict[str, str],
) -> Franchisee:
    """A new franchisee (a handle already taken answers DUPLICATE_HANDLE)."""
    principal.require_staff(*BRAND)
    check_handle(handle)
    name = check_title(name, field_name="name")
    async with uow_factory() as uow:
        if await uow.franchise.handle_taken(handle):
            raise DomainError("DUPLICATE_HANDLE", "handle is taken", field="handle")
        return await uow.franchise.create(handle=handle, name=name, contact=contact)


async def assign_location(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int,
    franchisee_id: int | None,
) -> Franchisee | None:
    """Give a store to a franchisee (None: back to the brand); answers its new owner."""
    principal.require_staff(*BRAND)
    async with uow_factory() as uow:
        location = await uow.locations.location(location_id)
        if location is None:
            raise DomainError(
                SettlementErrorCode.UNKNOWN_LOCATION, "no such location", field="locationId"
            )
        if location.kind.value != "STORE":
            raise DomainError(
                SettlementErrorCode.NOT_A_STORE, "only stores are franchised", field="locationId"
            )
        if franchisee_id is not None and await uow.franchise.franchisee(franchisee_id) is None:
            raise DomainError(
                SettlementErrorCode.UNKNOWN_FRANCHISEE, "no such franchisee", field="franchiseeId"
            )
        await uow.franchise.assign(location_id, franchisee_id)
        if franchisee_id is None:
            return None
        return await uow.franchise.franchisee(franchisee_id)


@dataclass(frozen=True, slots=True)
class WholesaleInput:
    """One wholesale price to set: a decimal amount in a currency."""

    variant_id: int
    amount: str
    currency: str


async def set_wholesale_prices(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, prices: Sequence[WholesaleInput]
) -> int:
    """Set wholesale prices (all or none: one bad row refuses the lot); answers how many."""
    principal.require_staff(*BRAND)
    if len(prices) > MAX_WHOLESALE_ROWS:
        raise DomainError("INVALID", f"at most {MAX_WHOLESALE_ROWS} prices", field="prices")
    parsed: dict[tuple[int, str], int] = {}
    for i, p in enumerate(prices):
        try:
            money = Money.from_decimal_string(p.amount, p.currency.upper())
        except (ValueError, ArithmeticError) as error:
            raise DomainError(
                SettlementErrorCode.INVALID_PRICE, str(error), field=f"prices.{i}.amount"
            ) from error
        if money.amount < 0 or money.amount > 10**12:
            raise DomainError(
                SettlementErrorCode.INVALID_PRICE, "0 or more", field=f"prices.{i}.amount"
            )
        parsed[(p.variant_id, money.currency)] = money.amount
    async with uow_factory() as uow:
        ids = sorted({v for v, _ in parsed})
        missing = set(ids) - await uow.franchise.known_variants(ids)
        if missing:
            raise DomainError(
                SettlementErrorCode.UNKNOWN_VARIANT,
                f"unknown variants: {sorted(missing)[:5]}",
                field="prices",
            )
        await uow.franchise.set_wholesale(parsed)
    return len(parsed)


async def owners_of(
    uow_factory: UnitOfWorkFactory, location_ids: Sequence[int]
) -> dict[int, Franchisee]:
    """The franchisee owning each location (company-owned ones left out)."""
    async with uow_factory() as uow:
        return await uow.franchise.owners_of(location_ids)


async def with_lines(
    uow_factory: UnitOfWorkFactory, found: Sequence[Statement]
) -> list[StatementView]:
    """Statements with their lines (read after the change that returned them)."""
    async with uow_factory() as uow:
        return await _views(uow, found)
