"""The daily reconciliation: what was sold, what was received and paid back, what the tills
counted and what the payment provider booked, per channel and store, and where they disagree.

A day is the calendar day in the brand's timezone (``tz``): [00:00, next 00:00). Orders count on
the day they were placed, with every tender recorded for them; refunds on the day they were
recorded; till sessions on the day they were opened or closed; the provider's intents and
balance transactions on the day the provider created them.

Mismatch kinds (stable, for alerts and tests):

- ``ORDER_WITHOUT_PAYMENT``: an order paid online says PAID / AUTHORISED with no authorised or
  captured payment behind it; or it says PENDING while the provider's intent succeeded (a
  webhook lost, the recovery not yet run).
- ``PAYMENT_WITHOUT_ORDER``: the provider took money on an intent whose ``order_ref`` is no
  order of ours, or whose order is cancelled and the money was neither refunded nor owed back.
- ``AMOUNT_DIFFERS``: the provider captured another amount than our payment says; or an
  order's total is not the sum of its tenders (vouchers are discounts: not counted).
- ``TILL_DIFFERENCE``: a closed till session whose count is not what was expected.
- ``REFUND_FAILED``: a refund that failed (it stays retryable).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from domain.errors import PermissionDenied
from domain.identity.model import Principal, Role
from domain.orders.states import OrderStatus, PaymentStatus
from domain.payments.model import (
    BalanceTransaction,
    BalanceType,
    IntentStatus,
    Payment,
    PaymentIntent,
    PaymentState,
    RefundState,
    Tender,
    TillSession,
)
from domain.payments.ports import PaymentGateway
from domain.ports import UnitOfWorkFactory

PROVIDER = "stripe"  # whose webhook refusals the report counts
HELD_OR_TAKEN = frozenset({PaymentState.AUTHORISED, PaymentState.CAPTURED})
SAYS_PAID = frozenset({PaymentStatus.PAID, PaymentStatus.AUTHORISED})
PROVIDER_TOOK = frozenset({IntentStatus.SUCCEEDED, IntentStatus.REQUIRES_CAPTURE})


class MismatchKind(StrEnum):
    """What disagrees; see the module docstring."""

    ORDER_WITHOUT_PAYMENT = "ORDER_WITHOUT_PAYMENT"
    PAYMENT_WITHOUT_ORDER = "PAYMENT_WITHOUT_ORDER"
    AMOUNT_DIFFERS = "AMOUNT_DIFFERS"
    TILL_DIFFERENCE = "TILL_DIFFERENCE"
    REFUND_FAILED = "REFUND_FAILED"


# -- what the read side answers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    """An order as the reconciliation sees it."""

    id: int
    number: str
    channel: str
    location_id: int | None  # the store it counts for: where it is served (or attributed)
    status: OrderStatus
    payment_status: PaymentStatus
    payment_tender: str | None
    total: int
    currency: str


@dataclass(frozen=True, slots=True)
class TenderRow:
    """The payments of one order through one tender in one state, summed."""

    order_id: int
    tender: Tender
    state: PaymentState
    count: int
    amount: int
    captured: int
    refunded: int


@dataclass(frozen=True, slots=True)
class RefundRow:
    """A refund recorded on the day, with its order's channel and store."""

    id: int
    order_id: int
    payment_id: int
    tender: Tender
    amount: int
    state: RefundState
    channel: str
    location_id: int | None
    provider_ref: str | None = None
    last_error: str | None = None


class ReconciliationQueries(Protocol):
    """The read side of the reconciliation. ``start``/``end`` are aware datetimes, the day is
    [start, end); ``channel`` (a handle) and ``location_ids`` narrow when given (an order is at
    a location when it is served or attributed there)."""

    async def orders_placed(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[OrderRow]:
        """Orders placed in the window."""
        ...

    async def tender_totals(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[TenderRow]:
        """The payments of the orders placed in the window, summed per order, tender, state."""
        ...

    async def refunds_recorded(
        self,
        *,
        start: datetime,
        end: datetime,
        channel: str | None,
        location_ids: Sequence[int] | None,
    ) -> list[RefundRow]:
        """Refunds recorded in the window."""
        ...

    async def till_sessions(
        self, *, start: datetime, end: datetime, location_ids: Sequence[int] | None
    ) -> list[TillSession]:
        """Till sessions opened or closed in the window."""
        ...

    async def orders_by_ids(self, order_ids: Sequence[int]) -> dict[int, OrderRow]:
        """Orders by id, whenever placed (the provider's intents name them)."""
        ...

    async def payments_by_refs(self, refs: Sequence[str]) -> dict[str, Payment]:
        """Our payments by the provider's intent id."""
        ...


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TenderTotal:
    """Money of one tender in a scope: ``amount`` due, ``received`` taken, ``refunded``."""

    tender: Tender
    payments: int
    amount: int
    received: int
    refunded: int

    @property
    def in_kind(self) -> bool:
        """Points or vouchers: no money moved."""
        return self.tender.in_kind


@dataclass(frozen=True, slots=True)
class RefundTotals:
    """Refunds by state: how many and how much."""

    succeeded: int = 0
    succeeded_count: int = 0
    pending: int = 0
    pending_count: int = 0
    failed: int = 0
    failed_count: int = 0


@dataclass(frozen=True, slots=True)
class ScopeSummary:
    """One channel at one store (``location_id`` None: not served by a location)."""

    channel: str
    location_id: int | None
    currency: str
    orders: int
    orders_total: int
    tenders: tuple[TenderTotal, ...]
    refunds: RefundTotals


@dataclass(frozen=True, slots=True)
class ProviderSummary:
    """What the provider booked on the day."""

    intents: int
    captured: int  # received on intents created that day
    authorised: int  # still held on them
    charges: int  # gross of charge balance transactions
    refunds: int  # sent back (positive)
    fees: int
    net: int  # what reached the balance, payouts left out
    payouts: int  # sent to the bank (positive)
    payout_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One disagreement, with the ids to look at."""

    kind: MismatchKind
    detail: str
    order_id: int | None = None
    payment_id: int | None = None
    refund_id: int | None = None
    till_session_id: int | None = None
    provider_ref: str | None = None
    expected: int | None = None
    actual: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """The day's reconciliation."""

    day: date
    timezone: str
    channel: str | None
    location_ids: tuple[int, ...] | None
    scopes: tuple[ScopeSummary, ...]
    tills: tuple[TillSession, ...]
    provider: ProviderSummary | None  # None: no provider, or a store-level report
    refusals: dict[str, int] = field(default_factory=dict)
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def clean(self) -> bool:
        """Nothing disagrees."""
        return not self.mismatches


def day_window(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in a timezone, in UTC (23 or 25 hours on DST days)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def scheduled_day(now: datetime, *, tz: str, hour: int) -> date:
    """The day the scheduled run writes at ``now``: yesterday in the brand's timezone once
    its clock passed ``hour``; before that, the day before (already written unless missed)."""
    local = now.astimezone(ZoneInfo(tz))
    back = 1 if local.hour >= hour else 2
    return local.date() - timedelta(days=back)


async def report_for(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway | None,
    queries: ReconciliationQueries,
    principal: Principal,
    *,
    day: date,
    tz: str,
    channel: str | None,
    location_id: int | None,
) -> Report:
    """Staff: owners and admins brand-wide; a store manager only their stores, without the
    provider's account-wide figures."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    location_ids: tuple[int, ...] | None = (location_id,) if location_id is not None else None
    if not principal.brand_wide:
        if location_id is not None and location_id not in principal.location_ids:
            raise PermissionDenied("not one of your stores", field="locationId")
        location_ids = location_ids or tuple(sorted(principal.location_ids))
    return await _report(
        uow_factory, gateway, queries, day=day, tz=tz, channel=channel, location_ids=location_ids
    )


async def daily_report(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway | None,
    *,
    queries: ReconciliationQueries,
    day: date,
    tz: str,
    channel: str | None = None,
    location_id: int | None = None,
) -> Report:
    """The day's reconciliation (the command line and the scheduled run: no caller to check)."""
    location_ids = (location_id,) if location_id is not None else None
    return await _report(
        uow_factory, gateway, queries, day=day, tz=tz, channel=channel, location_ids=location_ids
    )


async def _report(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway | None,
    queries: ReconciliationQueries,
    *,
    day: date,
    tz: str,
    channel: str | None,
    location_ids: tuple[int, ...] | None,
) -> Report:
    start, end = day_window(day, tz)
    orders = await queries.orders_placed(
        start=start, end=end, channel=channel, location_ids=location_ids
    )
    tenders = await queries.tender_totals(
        start=start, end=end, channel=channel, location_ids=location_ids
    )
    refunds = await queries.refunds_recorded(
        start=start, end=end, channel=channel, location_ids=location_ids
    )
    tills = await queries.till_sessions(start=start, end=end, location_ids=location_ids)
    async with uow_factory() as uow:
        refusals = await uow.payments.refusals(PROVIDER, day=day.isoformat())
    found = [*_order_mismatches(orders, tenders), *_till_mismatches(tills)]
    found += [_refund_failed(r) for r in refunds if r.state is RefundState.FAILED]
    provider: ProviderSummary | None = None
    if gateway is not None:
        last = end - timedelta(seconds=1)
        intents = await gateway.list_intents(created_from=start, created_to=last)
        checked = await _provider_mismatches(
            uow_factory, queries, intents, channel=channel, location_ids=location_ids
        )
        found += checked.mismatches
        if location_ids is None:  # account-wide figures: not for a store-level report
            moves = await gateway.balance_transactions(created_from=start, created_to=last)
            provider = _provider_summary(checked.intents, moves)
    return Report(
        day=day,
        timezone=tz,
        channel=channel,
        location_ids=location_ids,
        scopes=_scopes(orders, tenders, refunds, location_ids=location_ids),
        tills=tuple(sorted(tills, key=lambda s: s.id)),
        provider=provider,
        refusals=dict(sorted(refusals.items())),
        mismatches=tuple(found),
    )


# -- figures -----------------------------------------------------------------------------------


def _scopes(
    orders: list[OrderRow],
    tenders: list[TenderRow],
    refunds: list[RefundRow],
    *,
    location_ids: tuple[int, ...] | None,
) -> tuple[ScopeSummary, ...]:
    """Figures per (channel, store); a store-level report counts the orders at its stores."""

    def scope(channel: str, location_id: int | None) -> tuple[str, int | None]:
        if location_ids is not None and len(location_ids) == 1:
            return channel, location_ids[0]
        return channel, location_id

    by_order = {o.id: scope(o.channel, o.location_id) for o in orders}
    currency = {by_order[o.id]: o.currency for o in orders}
    placed: dict[tuple[str, int | None], list[OrderRow]] = defaultdict(list)
    for o in orders:
        placed[by_order[o.id]].append(o)
    paid: dict[tuple[str, int | None], list[TenderRow]] = defaultdict(list)
    for t in tenders:
        if t.order_id in by_order:
            paid[by_order[t.order_id]].append(t)
    back: dict[tuple[str, int | None], list[RefundRow]] = defaultdict(list)
    for r in refunds:
        back[scope(r.channel, r.location_id)].append(r)
    keys = sorted({*placed, *back}, key=lambda k: (k[0], k[1] is None, k[1] or 0))
    return tuple(
        ScopeSummary(
            channel=k[0],
            location_id=k[1],
            currency=currency.get(k, ""),
            orders=len(placed[k]),
            orders_total=sum(o.total for o in placed[k]),
            tenders=_tender_totals(paid[k]),
            refunds=_refund_totals(back[k]),
        )
        for k in keys
    )


def _tender_totals(rows: Iterable[TenderRow]) -> tuple[TenderTotal, ...]:
    sums: dict[Tender, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in rows:
        if r.state in (PaymentState.FAILED, PaymentState.CANCELLED):
            continue  # nothing received through it
        s = sums[r.tender]
        s[0] += r.count
        s[1] += r.amount
        s[2] += r.captured
        s[3] += r.refunded
    return tuple(
        TenderTotal(tender=t, payments=s[0], amount=s[1], received=s[2], refunded=s[3])
        for t, s in sorted(sums.items(), key=lambda kv: list(Tender).index(kv[0]))
    )


def _refund_totals(rows: Iterable[RefundRow]) -> RefundTotals:
    sums: dict[RefundState, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        sums[r.state][0] += r.amount
        sums[r.state][1] += 1
    ok, due, bad = (
        sums[s] for s in (RefundState.SUCCEEDED, RefundState.PENDING, RefundState.FAILED)
    )
    return RefundTotals(ok[0], ok[1], due[0], due[1], bad[0], bad[1])


def _provider_summary(
    intents: list[PaymentIntent], moves: list[BalanceTransaction]
) -> ProviderSummary:
    kind = {t: [m for m in moves if m.type is t] for t in BalanceType}
    payouts = kind[BalanceType.PAYOUT]
    return ProviderSummary(
        intents=len(intents),
        captured=sum(i.amount_received for i in intents if i.status is IntentStatus.SUCCEEDED),
        authorised=sum(i.amount_capturable for i in intents if i.authorised),
        charges=sum(m.amount for m in kind[BalanceType.CHARGE]),
        refunds=-sum(m.amount for m in kind[BalanceType.REFUND]),
        fees=sum(m.fee for m in moves),
        net=sum(m.net for m in moves if m.type is not BalanceType.PAYOUT),
        payouts=-sum(m.amount for m in payouts),
        payout_ids=tuple(m.payout_id or m.id for m in payouts),
    )


# -- mismatches ------------------------------------------------------------------------------


def _order_mismatches(orders: list[OrderRow], tenders: list[TenderRow]) -> list[Mismatch]:
    rows: dict[int, list[TenderRow]] = defaultdict(list)
    for t in tenders:
        rows[t.order_id].append(t)
    found: list[Mismatch] = []
    for o in orders:
        mine = rows.get(o.id, [])
        paying = [t for t in mine if t.tender is not Tender.VOUCHER]  # vouchers are discounts
        if o.payment_tender and o.payment_status in SAYS_PAID:
            online = any(t.tender.online and t.state in HELD_OR_TAKEN for t in mine)
            otherwise = sum(t.amount for t in paying if not t.tender.online)
            if not online and otherwise < o.total:
                found.append(
                    Mismatch(
                        MismatchKind.ORDER_WITHOUT_PAYMENT,
                        f"order {o.number} is {o.payment_status.value} with no payment behind it",
                        order_id=o.id,
                        expected=o.total,
                        actual=otherwise,
                    )
                )
        recorded = sum(t.amount for t in paying)
        if mine and recorded != o.total:
            found.append(
                Mismatch(
                    MismatchKind.AMOUNT_DIFFERS,
                    f"order {o.number}: total {o.total}, tenders {recorded}",
                    order_id=o.id,
                    expected=o.total,
                    actual=recorded,
                )
            )
    return found


def _till_mismatches(tills: list[TillSession]) -> list[Mismatch]:
    return [
        Mismatch(
            MismatchKind.TILL_DIFFERENCE,
            f"till session {s.id} at location {s.location_id}: counted {s.counted}, "
            f"expected {s.expected}",
            till_session_id=s.id,
            expected=s.expected,
            actual=s.counted,
        )
        for s in sorted(tills, key=lambda s: s.id)
        if s.closed_at is not None and s.difference
    ]


def _refund_failed(r: RefundRow) -> Mismatch:
    return Mismatch(
        MismatchKind.REFUND_FAILED,
        f"refund {r.id} of {r.amount} through {r.tender.value} failed: {r.last_error or '?'}",
        order_id=r.order_id,
        payment_id=r.payment_id,
        refund_id=r.id,
        provider_ref=r.provider_ref,
        expected=r.amount,
        actual=0,
    )


@dataclass(frozen=True, slots=True)
class _Checked:
    intents: list[PaymentIntent]  # those in the report's scope
    mismatches: list[Mismatch]


async def _provider_mismatches(
    uow_factory: UnitOfWorkFactory,
    queries: ReconciliationQueries,
    intents: list[PaymentIntent],
    *,
    channel: str | None,
    location_ids: tuple[int, ...] | None,
) -> _Checked:
    """The provider's intents against our orders and payments."""
    refs = [i.order_ref or "" for i in intents]
    ids = sorted({int(ref) for ref in refs if ref.isdigit()})
    orders = await queries.orders_by_ids(ids)
    payments = await queries.payments_by_refs([i.id for i in intents])
    async with uow_factory() as uow:
        refunds = await uow.payments.refunds_for_orders(ids)
    in_scope: list[PaymentIntent] = []
    found: list[Mismatch] = []
    for intent in intents:
        ref = intent.order_ref or ""
        order = orders.get(int(ref)) if ref.isdigit() else None
        if order is None:
            if channel is None and location_ids is None:
                in_scope.append(intent)
                if intent.amount_received > 0:
                    found.append(_orphan(intent, f"names no order of ours ({ref or 'no ref'})"))
            continue
        if (channel is not None and order.channel != channel) or (
            location_ids is not None and order.location_id not in location_ids
        ):
            continue
        in_scope.append(intent)
        payment = payments.get(intent.id)
        owed_back = sum(
            r.amount
            for r in refunds.get(order.id, [])
            if r.state is not RefundState.FAILED and (payment is None or r.payment_id == payment.id)
        )
        found += _intent_mismatches(intent, order, payment, owed_back)
    return _Checked(in_scope, found)


def _intent_mismatches(
    intent: PaymentIntent, order: OrderRow, payment: Payment | None, owed_back: int
) -> list[Mismatch]:
    if order.status is OrderStatus.CANCELLED:
        kept = intent.amount_received - owed_back
        if kept > 0:
            return [
                _orphan(intent, f"order {order.number} is cancelled and {kept} was kept", order)
            ]
        return []
    if order.payment_status is PaymentStatus.PENDING and intent.status in PROVIDER_TOOK:
        return [
            Mismatch(
                MismatchKind.ORDER_WITHOUT_PAYMENT,
                f"order {order.number} is PENDING but the provider's intent {intent.id} is "
                f"{intent.status.value} (a lost webhook: recovery not yet run)",
                order_id=order.id,
                payment_id=payment.id if payment else None,
                provider_ref=intent.id,
                expected=intent.amount_received or intent.amount_capturable,
                actual=payment.captured if payment else 0,
            )
        ]
    if (
        payment is not None
        and payment.state is PaymentState.CAPTURED
        and payment.captured != intent.amount_received
    ):
        return [
            Mismatch(
                MismatchKind.AMOUNT_DIFFERS,
                f"payment {payment.id}: the provider captured {intent.amount_received}, "
                f"we recorded {payment.captured}",
                order_id=order.id,
                payment_id=payment.id,
                provider_ref=intent.id,
                expected=intent.amount_received,
                actual=payment.captured,
            )
        ]
    return []


def _orphan(intent: PaymentIntent, why: str, order: OrderRow | None = None) -> Mismatch:
    return Mismatch(
        MismatchKind.PAYMENT_WITHOUT_ORDER,
        f"intent {intent.id} took {intent.amount_received}: {why}",
        order_id=order.id if order else None,
        provider_ref=intent.id,
        expected=0,
        actual=intent.amount_received,
    )
