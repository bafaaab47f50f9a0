"""Statements and the franchise contract, in plain Python.

A statement is what one beneficiary (a clerk, a store, a partner venue, a franchisee) is owed
for one month, in one currency: the sum of its lines, positive when the brand owes the
beneficiary, negative when the beneficiary owes the brand. It is a DRAFT while the month is
being closed (a close refreshes it), APPROVED once checked (locked: its lines and the
commission entries it took never change again), then PAID with the payment's reference.

A franchisee's statement adds, to the commissions credited to it, the franchise contract's
lines (``FranchiseTerms``): what its stores took at the till (the franchisee holds that money:
owed to the brand), what they handed over or sent of the brand's online orders (the brand holds
that money: credited to the franchisee), and the goods the brand transferred to its stores at
the wholesale price (owed to the brand; goods sent back are credited at the same price).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.commissions.model import net_paid
from domain.errors import DomainError
from domain.money import Money


class StatementState(StrEnum):
    """Where a statement stands."""

    DRAFT = "DRAFT"  # refreshed by every close of its period
    APPROVED = "APPROVED"  # locked: lines and entries frozen
    PAID = "PAID"  # the money went out (or came in), with a reference


class LineKind(StrEnum):
    """What a statement line stands for."""

    COMMISSION = "COMMISSION"  # one commission entry (an accrual, or a return's reversal)
    TILL_SALES = "TILL_SALES"  # a franchised store's till sale: the franchisee holds the money
    TILL_RETURN = "TILL_RETURN"  # a refund paid at a franchised store's till for a till sale
    FULFILLED = "FULFILLED"  # an online order a franchised store handed over or sent
    WHOLESALE = "WHOLESALE"  # goods transferred to (or back from) a franchised store


FRANCHISE_KINDS = frozenset(
    {LineKind.TILL_SALES, LineKind.TILL_RETURN, LineKind.FULFILLED, LineKind.WHOLESALE}
)


class SettlementErrorCode(StrEnum):
    """Stable codes of settlement and franchise userErrors."""

    INVALID_PERIOD = "INVALID_PERIOD"
    INVALID_STATE = "INVALID_STATE"  # e.g. paying a draft
    REFERENCE_REQUIRED = "REFERENCE_REQUIRED"
    UNKNOWN_FRANCHISEE = "UNKNOWN_FRANCHISEE"
    UNKNOWN_LOCATION = "UNKNOWN_LOCATION"
    NOT_A_STORE = "NOT_A_STORE"
    INVALID_PRICE = "INVALID_PRICE"
    UNKNOWN_VARIANT = "UNKNOWN_VARIANT"


_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def check_period(period: str, *, field_name: str = "period") -> str:
    """A month as YYYY-MM, or INVALID_PERIOD."""
    found = _PERIOD.match(period.strip()) if isinstance(period, str) else None
    if not found or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 2000:
        raise DomainError(
            SettlementErrorCode.INVALID_PERIOD, "a month as YYYY-MM, e.g. 2026-11", field=field_name
        )
    return period.strip()


def period_of(at: datetime, tz: str) -> str:
    """The month (YYYY-MM) ``at`` falls in, on the brand's clock."""
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def period_bounds(period: str, tz: str) -> tuple[datetime, datetime]:
    """The first instant of the month and of the next one, on the brand's clock."""
    year, month = (int(p) for p in check_period(period).split("-"))
    zone = ZoneInfo(tz)
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end


@dataclass(frozen=True, slots=True)
class Franchisee:
    """A dealer owning one or more stores of the brand."""

    id: int
    handle: str
    name: str
    location_ids: tuple[int, ...] = ()
    contact: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """Who a statement is for."""

    kind: str  # domain.attribution.model.BeneficiaryKind
    id: int
    currency: str


@dataclass(slots=True)
class Statement:
    """What one beneficiary is owed for one month in one currency."""

    id: int
    beneficiary_kind: str
    beneficiary_id: int
    period: str
    currency: str
    state: StatementState = StatementState.DRAFT
    total: int = 0
    created_at: datetime | None = None
    approved_at: datetime | None = None
    approved_by: str | None = None
    paid_at: datetime | None = None
    paid_reference: str | None = None


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One line: signed amount (+ owed to the beneficiary), traced to its source."""

    kind: LineKind
    amount: int
    description: str = ""
    entry_id: int | None = None
    order_id: int | None = None
    movement_id: int | None = None
    order_number: str | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OpenEntry:
    """A commission entry not yet on any statement."""

    id: int
    order_id: int
    order_number: str | None
    role: str
    kind: str  # ACCRUAL or REVERSAL
    amount: int
    period: str


# ------------------------------------------------------------------ the franchise contract


@dataclass(frozen=True, slots=True)
class FranchiseTerms:
    """How a franchisee is settled, as data. The brand credits a franchised store that hands
    over or sends one of the brand's online orders ``fulfilment_share_bp`` of the goods' net
    paid amount (after discounts, vouchers and points), less their wholesale value when
    ``deduct_wholesale``: the store gave up goods it had bought at the wholesale price, so by
    default it gets the whole net amount back (it is paid as if it had sold them itself) and
    the brand keeps its margin through the wholesale price."""

    fulfilment_share_bp: int = 10_000
    deduct_wholesale: bool = False


DEFAULT_TERMS = FranchiseTerms()


@dataclass(frozen=True, slots=True)
class TillSale:
    """A till sale at a franchised store, completed in the period."""

    order_id: int
    order_number: str
    currency: str
    total: int
    location_name: str


@dataclass(frozen=True, slots=True)
class TillRefund:
    """A return taken at a franchised store's till for one of its till sales."""

    return_id: int
    order_id: int
    order_number: str
    currency: str
    refund_due: int


@dataclass(frozen=True, slots=True)
class FulfilledLine:
    """One order line with what of it a franchised store handed over or sent."""

    line_total: int
    discount: int
    quantity: int
    fulfilled: int
    wholesale_unit: int  # 0 when the variant has no wholesale price in this currency


@dataclass(frozen=True, slots=True)
class FulfilledOrder:
    """An online order completed in the period that a franchised store served (in part)."""

    order_id: int
    order_number: str
    currency: str
    points_value: int
    lines: tuple[FulfilledLine, ...]  # every line of the order (its points share needs them)
    location_name: str


@dataclass(frozen=True, slots=True)
class Transfer:
    """Goods moved into (``quantity`` > 0) or out of (< 0) a franchised store from or to a
    location the franchisee does not own."""

    movement_id: int
    sku: str
    quantity: int
    currency: str
    wholesale_unit: int | None  # None: no wholesale price in the store's currency
    location_name: str


def fulfilment_credit(order: FulfilledOrder, terms: FranchiseTerms) -> int:
    """What the brand owes the store for the goods it served of ``order``: its share of the
    served units' net paid amount (spread exactly over the units), less their wholesale value
    when the terms say so."""
    nets = net_paid(
        [x.line_total for x in order.lines], [x.discount for x in order.lines], order.points_value
    )
    served, wholesale = 0, 0
    for line, net in zip(order.lines, nets, strict=True):
        if line.fulfilled <= 0 or line.quantity <= 0:
            continue
        units = min(line.fulfilled, line.quantity)
        served += net * units // line.quantity if units < line.quantity else net
        wholesale += line.wholesale_unit * units
    share = (served * terms.fulfilment_share_bp + 5_000) // 10_000
    return share - wholesale if terms.deduct_wholesale else share


def franchise_lines(
    *,
    till_sales: Iterable[TillSale],
    refunds: Iterable[TillRefund],
    fulfilled: Iterable[FulfilledOrder],
    transfers: Iterable[Transfer],
    currency: str,
    terms: FranchiseTerms = DEFAULT_TERMS,
) -> list[StatementLine]:
    """A franchisee's contract lines in ``currency`` for one month."""
    lines: list[StatementLine] = []
    for s in till_sales:
        if s.currency == currency and s.total:
            lines.append(
                StatementLine(
                    LineKind.TILL_SALES,
                    -s.total,
                    f"till sale at {s.location_name}",
                    order_id=s.order_id,
                    order_number=s.order_number,
                )
            )
    for r in refunds:
        if r.currency == currency and r.refund_due:
            lines.append(
                StatementLine(
                    LineKind.TILL_RETURN,
                    r.refund_due,
                    f"refund at the till (return {r.return_id})",
                    order_id=r.order_id,
                    order_number=r.order_number,
                )
            )
    for o in fulfilled:
        if o.currency != currency:
            continue
        credit = fulfilment_credit(o, terms)
        if credit:
            lines.append(
                StatementLine(
                    LineKind.FULFILLED,
                    credit,
                    f"online order served by {o.location_name}",
                    order_id=o.order_id,
                    order_number=o.order_number,
                )
            )
    for t in transfers:
        if t.currency != currency or not t.wholesale_unit or not t.quantity:
            continue
        what = "received" if t.quantity > 0 else "sent back"
        lines.append(
            StatementLine(
                LineKind.WHOLESALE,
                -t.quantity * t.wholesale_unit,
                f"{abs(t.quantity)} x {t.sku} {what} by {t.location_name} at "
                f"{Money(t.wholesale_unit, currency).to_decimal_string()}",
                movement_id=t.movement_id,
            )
        )
    return lines


def commission_line(entry: OpenEntry) -> StatementLine:
    """The statement line of one commission entry."""
    what = "commission" if entry.kind == "ACCRUAL" else "commission reversed (return)"
    return StatementLine(
        LineKind.COMMISSION,
        entry.amount,
        f"{what}: {entry.role.lower().replace('_', ' ')} ({entry.period})",
        entry_id=entry.id,
        order_id=entry.order_id,
        order_number=entry.order_number,
    )


# ------------------------------------------------------------------ the CSV


CSV_HEADER = (
    "statement",
    "beneficiary_kind",
    "beneficiary_id",
    "period",
    "kind",
    "order_number",
    "description",
    "amount",
    "currency",
)


def statement_csv(statement: Statement, lines: Sequence[StatementLine]) -> str:
    """The statement as CSV: the header, then one row per line (amounts as decimal strings,
    + owed to the beneficiary, - owed to the brand)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for line in lines:
        writer.writerow(
            (
                statement.id,
                statement.beneficiary_kind,
                statement.beneficiary_id,
                statement.period,
                line.kind.value,
                line.order_number or "",
                line.description,
                Money(line.amount, statement.currency).to_decimal_string(),
                statement.currency,
            )
        )
    return out.getvalue()


def csv_file_name(statement: Statement) -> str:
    """The file a statement's CSV is written to by ``app.py settlement close --csv DIR``."""
    return (
        f"{statement.period}_{statement.beneficiary_kind.lower()}-{statement.beneficiary_id}"
        f"_{statement.currency}.csv"
    )
