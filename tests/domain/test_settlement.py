"""Settlement use cases against the in-memory fakes: months as YYYY-MM on the brand's clock,
the statement state machine and who may move it, the CSV, and (property-based) that closing
months in any order of entries, refreshes and approvals puts every commission entry on exactly
one statement, a statement's total being the sum of its lines."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory.clock import FixedClock
from adapters.memory.unit_of_work import InMemoryUnitOfWorkFactory
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.settlement import services as svc
from domain.settlement.model import (
    LineKind,
    Statement,
    StatementLine,
    StatementState,
    check_period,
    period_bounds,
    period_of,
    statement_csv,
)

TZ = "Europe/Paris"
OWNER = Principal(kind=PrincipalKind.STAFF, subject="staff:1", role=Role.OWNER)
CLERK = Principal(
    kind=PrincipalKind.STAFF, subject="staff:5", role=Role.CLERK, location_ids=frozenset({2})
)
MANAGER = Principal(
    kind=PrincipalKind.STAFF,
    subject="staff:6",
    role=Role.STORE_MANAGER,
    location_ids=frozenset({2}),
)


def add_entry(
    uow: InMemoryUnitOfWorkFactory, kind: str, ident: int, amount: int, period: str
) -> int:
    state = uow.state
    entry_id = state.next_id("commission_entry")
    state.settlement_entries[entry_id] = {
        "id": entry_id,
        "order_id": 1,
        "role": "BOUND_CLERK",
        "beneficiary_kind": kind,
        "beneficiary_id": ident,
        "kind": "ACCRUAL" if amount >= 0 else "REVERSAL",
        "amount": amount,
        "currency": "EUR",
        "period": period,
        "statement_id": None,
    }
    return entry_id


def test_months_on_the_brands_clock():
    assert check_period("2026-03") == "2026-03"
    for bad in ("2026-3", "2026-13", "1999-12", "march", ""):
        with pytest.raises(DomainError) as refused:
            check_period(bad)
        assert refused.value.code == "INVALID_PERIOD"
    start, end = period_bounds("2026-03", TZ)
    assert start == datetime(2026, 2, 28, 23, tzinfo=UTC)  # CET
    assert end == datetime(2026, 3, 31, 22, tzinfo=UTC)  # CEST from 29 March
    assert period_bounds("2026-12", TZ)[1] == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert period_of(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), TZ) == "2026-11"


def test_the_csv_quotes_what_needs_it_and_writes_decimal_amounts():
    statement = Statement(3, "STAFF", 5, "2026-10", "EUR")
    lines = [
        StatementLine(LineKind.COMMISSION, 1205, 'a "quoted", description', order_number="O-1"),
        StatementLine(LineKind.WHOLESALE, -5, "goods"),
    ]
    assert statement_csv(statement, lines).splitlines() == [
        "statement,beneficiary_kind,beneficiary_id,period,kind,order_number,description,"
        "amount,currency",
        '3,STAFF,5,2026-10,COMMISSION,O-1,"a ""quoted"", description",12.05,EUR',
        "3,STAFF,5,2026-10,WHOLESALE,,goods,-0.05,EUR",
    ]


async def test_draft_approved_paid_and_who_may_move_it():
    uow = InMemoryUnitOfWorkFactory()
    clock = FixedClock()
    add_entry(uow, "STAFF", 5, 700, "2026-10")
    for principal in (CLERK, MANAGER):
        with pytest.raises(DomainError) as refused:
            await svc.close_period(uow, principal, period="2026-10", tz=TZ)
        assert refused.value.code == "PERMISSION_DENIED"
    report = await svc.close_period(uow, OWNER, period="2026-10", tz=TZ)
    [statement_id] = report.refreshed
    for principal in (CLERK, MANAGER):
        with pytest.raises(DomainError):
            await svc.approve(uow, principal, statement_id=statement_id, clock=clock)
    with pytest.raises(DomainError) as early:
        await svc.mark_paid(uow, OWNER, statement_id=statement_id, reference="R1", clock=clock)
    assert early.value.code == "INVALID_STATE"
    approved = await svc.approve(uow, OWNER, statement_id=statement_id, clock=clock)
    assert (approved.state, approved.approved_by) == (StatementState.APPROVED, "staff:1")
    add_entry(uow, "STAFF", 5, -300, "2026-10")  # written after the approval
    again = await svc.close_period(uow, OWNER, period="2026-10", tz=TZ)
    assert again.locked == (statement_id,) and again.refreshed == ()
    paid = await svc.mark_paid(uow, OWNER, statement_id=statement_id, reference="R1", clock=clock)
    assert (paid.state, paid.paid_reference, paid.total) == (StatementState.PAID, "R1", 700)
    [next_month] = (await svc.close_period(uow, OWNER, period="2026-11", tz=TZ)).refreshed
    [view] = [
        v for v in await svc.statements(uow, CLERK, period="2026-11", kind=None)
    ]  # the clerk (staff:5) reads their own
    assert view.statement.id == next_month and view.statement.total == -300
    assert await svc.statements(uow, MANAGER, period="2026-11", kind="LOCATION") == []


entries_strategy = st.lists(
    st.tuples(
        st.sampled_from([("STAFF", 5), ("STAFF", 6), ("LOCATION", 2), ("VENUE", 9)]),
        st.integers(-5_000, 20_000),
        st.sampled_from(["2026-10", "2026-11", "2026-12"]),
    ),
    max_size=30,
)
steps_strategy = st.lists(
    st.tuples(st.sampled_from(["2026-10", "2026-11", "2026-12"]), st.booleans()), max_size=6
)


@settings(max_examples=120, deadline=None)
@given(first=entries_strategy, later=entries_strategy, steps=steps_strategy)
async def test_every_entry_lands_on_exactly_one_statement(first, later, steps):
    uow = InMemoryUnitOfWorkFactory()
    clock = FixedClock()
    for (kind, ident), amount, period in first:
        add_entry(uow, kind, ident, amount, period)
    for period, approve in steps:  # closes in any order, some statements approved
        report = await svc.close_period(uow, None, period=period, tz=TZ)
        if approve:
            for statement_id in report.refreshed:
                await svc.approve(uow, OWNER, statement_id=statement_id, clock=clock)
    for (kind, ident), amount, period in later:  # e.g. returns after those closes
        add_entry(uow, kind, ident, amount, period)
    await svc.close_period(uow, None, period="2026-12", tz=TZ)
    await svc.close_period(uow, None, period="2027-01", tz=TZ)  # locked December: next month
    state = uow.state
    lines = [x for found in state.statement_lines.values() for x in found]
    assert sorted(x.entry_id for x in lines if x.entry_id) == sorted(state.settlement_entries)
    assert sum(x.amount for x in lines) == sum(
        int(e["amount"]) for e in state.settlement_entries.values()
    )
    for statement in state.statements.values():
        mine = state.statement_lines.get(statement.id, [])
        assert statement.total == sum(x.amount for x in mine)
        periods = {state.settlement_entries[x.entry_id]["period"] for x in mine if x.entry_id}
        assert all(p <= statement.period for p in periods)  # never an entry of a later month
    per_beneficiary: dict[tuple[str, int], int] = defaultdict(int)
    for e in state.settlement_entries.values():
        per_beneficiary[(str(e["beneficiary_kind"]), int(e["beneficiary_id"]))] += int(e["amount"])
    for key, amount in per_beneficiary.items():
        assert amount == sum(
            s.total
            for s in state.statements.values()
            if (s.beneficiary_kind, s.beneficiary_id) == key
        )
