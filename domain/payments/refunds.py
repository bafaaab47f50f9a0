"""Refunds that pay back: what a reversal owes is split over the tenders that paid, sent to the
provider by the payment worker (the same key on every retry), paid out at a till, and the
order's payment status follows; holds of cancelled orders are released by the same worker.

Where the money goes back (``allocate``), in this order, each tender at most what it received
and has not yet owed back (``captured - refunded - refunds still open on it``):

1. online (card, Alipay, WeChat Pay): to the same card or wallet, by the provider (PENDING,
   sent by the worker);
2. card terminal: to the card at a store's terminal (PENDING until a clerk pays it out with
   ``refundPayOut``: a terminal refund needs the card present at the till);
3. cash: SUCCEEDED at once when the goods come back at a till where the clerk has an open
   session (paid out of that drawer), else PENDING until a clerk pays it out.

Points are not allocated here: the reversal gives back the points' share first (loyalty), and
only the rest is owed in money. A voucher is a discount, not money: a returned line refunds
what was paid for it after the voucher, and the voucher is neither given back nor reissued.
An order paid outside any tender row (``orderMarkPaid``, paid at the counter) owes its refund
with no row to send it through: it stays REFUND_DUE for staff to settle, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from domain.errors import DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.orders.access import STAFF, may_see
from domain.orders.events import OrderRefunded, RefundFailed
from domain.orders.model import Order
from domain.orders.placing import record
from domain.orders.states import Actor, PaymentStatus, check_payment
from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import (
    Payment,
    RefundRecord,
    RefundState,
    Tender,
    TillSession,
)
from domain.payments.terminal import CardTerminal
from domain.ports import UnitOfWork, UnitOfWorkFactory

REFUND_ORDER = (
    Tender.MARKETPLACE,
    Tender.CARD,
    Tender.ALIPAY,
    Tender.WECHAT_PAY,
    Tender.CARD_TERMINAL,
    Tender.CASH,
)
MONEY_TENDERS = frozenset(REFUND_ORDER)
AT_THE_TILL = frozenset({Tender.CASH, Tender.CARD_TERMINAL})  # paid out by a clerk
WORKER = "system:payments"
MAX_BACKOFF_SECONDS = 300


class RefundErrorCode(StrEnum):
    """Stable codes of refund errors."""

    NOT_FAILED = "REFUND_NOT_FAILED"  # only a FAILED refund is retried by hand
    NOT_AT_THE_TILL = "REFUND_NOT_AT_THE_TILL"  # online refunds are sent by the provider
    NOT_PENDING = "REFUND_NOT_PENDING"  # paid out already (or failed)
    TILL_SESSION_REQUIRED = "TILL_SESSION_REQUIRED"  # cash leaves an open drawer only


class Signer(Protocol):
    """Who records what is owed (``domain.orders.reversal.By`` is one)."""

    @property
    def who(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Worker:
    who: str = WORKER


# ---------------------------------------------------------------- allocation (pure)


def open_on(payment: Payment, refunds: Sequence[RefundRecord]) -> int:
    """What is owed on a payment and not yet paid back (PENDING or FAILED refunds)."""
    return sum(
        r.amount
        for r in refunds
        if r.payment_id == payment.id and r.state is not RefundState.SUCCEEDED
    )


def available(payment: Payment, refunds: Sequence[RefundRecord]) -> int:
    """What a money tender can still give back: received, less refunded and still owed."""
    if payment.tender not in MONEY_TENDERS:
        return 0
    return max(0, payment.refundable - open_on(payment, refunds))


def allocate(
    amount: int, payments: Sequence[Payment], refunds: Sequence[RefundRecord]
) -> list[tuple[Payment, int]]:
    """Split ``amount`` over the money tenders in ``REFUND_ORDER`` (oldest first within a
    tender), never above what each can still give back; what cannot be placed is left out."""
    left = max(0, amount)
    split: list[tuple[Payment, int]] = []
    rank = {t: i for i, t in enumerate(REFUND_ORDER)}
    money = sorted(
        (p for p in payments if p.tender in MONEY_TENDERS), key=lambda p: (rank[p.tender], p.id)
    )
    for payment in money:
        take = min(left, available(payment, refunds))
        if take > 0:
            split.append((payment, take))
            left -= take
    return split


def received_not_owed(payments: Sequence[Payment], refunds: Sequence[RefundRecord]) -> int:
    """Money received on the order's tenders that is not yet owed back."""
    return sum(available(p, refunds) for p in payments)


# ---------------------------------------------------------------- owing (in the reversal)


async def owe(
    uow: UnitOfWork,
    order: Order,
    amount: int,
    *,
    reason: str,
    return_id: int | None,
    location_id: int | None,
    by: Signer,
) -> list[RefundRecord]:
    """Record ``amount`` owed back to the buyer as refunds per tender (see the module), in the
    reversal's transaction; cash at a till with the clerk's open session is paid out at once.
    Returns the refunds recorded; the order's payment status follows (``settle``)."""
    if amount <= 0:
        await settle(uow, order, who=by.who)  # nothing in money (points, vouchers): settled
        return []
    payments = await uow.payments.for_order(order.id, for_update=True)
    refunds = await uow.payments.refunds_for_order(order.id)
    split = allocate(amount, payments, refunds)
    session = None
    if location_id is not None and any(p.tender is Tender.CASH for p, _ in split):
        session = await uow.payments.open_session_of(by.who, location_id)
    made: list[RefundRecord] = []
    for payment, part in split:
        refund = await uow.payments.add_refund(
            RefundRecord(
                id=0,
                order_id=order.id,
                payment_id=payment.id,
                tender=payment.tender,
                amount=part,
                currency=payment.currency,
                state=RefundState.PENDING,
                reason=reason[:500],
                return_id=return_id,
                location_id=location_id,
            )
        )
        if payment.tender is Tender.CASH and session is not None:
            refund = replace(refund, till_session_id=session.id, location_id=session.location_id)
            refund = await _succeeded(
                uow, order, refund, reference=None, who=by.who, settle_now=False
            )
        made.append(refund)
    if sum(r.amount for r in made) == amount:  # all of it placed: the status may follow now
        await settle(uow, order, who=by.who)
    return made


async def owed_on_cancel(uow: UnitOfWork, order: Order) -> int:
    """What a full cancel owes back in money: every money tender's receipts not owed back
    yet (points are given back as points by the cancel, vouchers are not money); for an order
    paid outside any tender row, its total less points less what was owed before."""
    if order.payment_status not in (
        PaymentStatus.PAID,
        PaymentStatus.REFUND_DUE,
        PaymentStatus.PARTIALLY_REFUNDED,
    ):
        return 0
    payments = await uow.payments.for_order(order.id)
    if any(p.tender in MONEY_TENDERS and p.captured > 0 for p in payments):
        return received_not_owed(payments, await uow.payments.refunds_for_order(order.id))
    if payments:  # paid in kind only (points, voucher): no money to send back
        return 0
    return max(0, order.total - order.points_value - order.refunded_total)


async def settle(uow: UnitOfWork, order: Order, *, who: str) -> None:
    """The order's payment status follows its refunds: REFUND_DUE while one is PENDING or
    FAILED; once all went back, REFUNDED when no money received is kept, else
    PARTIALLY_REFUNDED."""
    if order.payment_status is not PaymentStatus.REFUND_DUE:
        return
    refunds = await uow.payments.refunds_for_order(order.id)
    if any(r.state is not RefundState.SUCCEEDED for r in refunds):
        return
    payments = await uow.payments.for_order(order.id)
    if not payments:
        return  # paid outside any tender row: staff settle it
    money = [p for p in payments if p.tender in MONEY_TENDERS]
    kept = any(p.refunded < p.captured for p in money)
    target = PaymentStatus.PARTIALLY_REFUNDED if kept else PaymentStatus.REFUNDED
    order.payment_status = check_payment(order.payment_status, target, actor=Actor.SYSTEM)
    await uow.orders.save(order)


async def _succeeded(
    uow: UnitOfWork,
    order: Order,
    refund: RefundRecord,
    *,
    reference: str | None,
    who: str,
    settle_now: bool = True,
) -> RefundRecord:
    """The money went back: the refund SUCCEEDED, its payment's ``refunded`` grows."""
    done = replace(
        refund,
        state=RefundState.SUCCEEDED,
        provider_ref=reference or refund.provider_ref,
        last_error=None,
    )
    await uow.payments.save_refund(done)
    payment = await uow.payments.get(refund.payment_id, for_update=True)
    assert payment is not None
    await uow.payments.save(replace(payment, refunded=payment.refunded + refund.amount))
    if settle_now:
        await settle(uow, order, who=who)
    event = OrderRefunded(
        order_id=order.id,
        refund_id=done.id,
        tender=done.tender.value,
        amount=done.amount,
        reference=done.provider_ref,
        payment_status=order.payment_status.value,
    )
    await record(uow, event, actor=who)
    return done


async def _failed(
    uow: UnitOfWork, order: Order, refund: RefundRecord, *, error: str, who: str
) -> RefundRecord:
    """The provider refused for good: FAILED, visible on the order until retried by hand."""
    failed = replace(refund, state=RefundState.FAILED, last_error=error[:500])
    await uow.payments.save_refund(failed)
    event = RefundFailed(
        order_id=order.id,
        refund_id=failed.id,
        tender=failed.tender.value,
        amount=failed.amount,
        error=failed.last_error or "",
    )
    await record(uow, event, actor=who)
    return failed


async def refund_answered(
    uow: UnitOfWork, refund: RefundRecord, *, succeeded: bool, reference: str, error: str, who: str
) -> RefundRecord:
    """Apply the provider's final word on a refund it made (a webhook): SUCCEEDED or FAILED,
    once; a refund already settled is left as it is."""
    order = await uow.orders.get(refund.order_id, for_update=True)
    current = await uow.payments.get_refund(refund.id, for_update=True)
    assert order is not None and current is not None
    if current.state is RefundState.SUCCEEDED:
        return current
    if succeeded:  # forward: a FAILED refund may still succeed
        return await _succeeded(uow, order, current, reference=reference, who=who)
    if current.state is RefundState.FAILED:
        return current
    return await _failed(uow, order, replace(current, provider_ref=reference), error=error, who=who)


# ---------------------------------------------------------------- the worker: refunds


def refund_key(refund: RefundRecord) -> str:
    """The provider key of a refund: the same on every retry of the worker; after a refund the
    provider made and then failed was retried by hand, the failed one's id makes a new key."""
    part = f"r{refund.id}"
    if refund.provider_ref is not None and refund.last_error is not None:
        part += f"-{refund.provider_ref}"
    return idempotency_key(refund.order_id, PaymentOperation.REFUND, part=part)


# ---------------------------------------------------------------- by hand: retry, pay out


@dataclass(frozen=True, slots=True)
class RefundResult:
    """The order and the refund a use case changed."""

    order_id: int
    refund_id: int


async def retry_refund(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    refund_id: int,
    idempotency_key: str | None,
) -> RefundResult:
    """Staff of the order's stores: a FAILED refund goes back to PENDING for the worker."""
    principal.require_staff(*STAFF)

    async def work(uow: UnitOfWork) -> RefundResult:
        order, refund = await _refund_of(uow, principal, refund_id)
        if refund.state is not RefundState.FAILED:
            raise DomainError(
                RefundErrorCode.NOT_FAILED,
                f"the refund is {refund.state.value}: only a FAILED refund is retried",
                field="refundId",
            )
        retried = replace(refund, state=RefundState.PENDING, attempts=0)
        if refund.provider_ref is None:  # refused before the provider made anything
            retried = replace(retried, last_error=None)
        await uow.payments.save_refund(retried)
        return RefundResult(order.id, refund.id)

    return await run_once(
        uow_factory,
        scope=f"refundRetry:{refund_id}",
        caller=principal.subject,
        key=idempotency_key,
        payload={"r": refund_id},
        work=work,
        result=RefundResult,
        check=lambda uow: _refund_of(uow, principal, refund_id),
    )


async def pay_out(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    refund_id: int,
    location_id: int | None,
    idempotency_key: str | None,
    terminal: CardTerminal | None = None,
) -> RefundResult:
    """A clerk with an open till session pays out a PENDING cash refund, or a card-terminal
    refund with the buyer's card at the store's terminal (through ``terminal`` when the store
    has one wired, else done on a standalone terminal and recorded): SUCCEEDED, in that till
    session. A terminal that declines leaves the refund PENDING."""
    principal.require_staff(*STAFF)

    async def work(uow: UnitOfWork) -> RefundResult:
        order, refund = await _refund_of(uow, principal, refund_id)
        if refund.tender not in AT_THE_TILL:
            raise DomainError(
                RefundErrorCode.NOT_AT_THE_TILL,
                f"a {refund.tender.value} refund is sent by the payment provider",
                field="refundId",
            )
        if refund.state is not RefundState.PENDING:
            raise DomainError(
                RefundErrorCode.NOT_PENDING, f"the refund is {refund.state.value}", field="refundId"
            )
        session = await _till_of(uow, principal, refund, location_id)
        paid = replace(refund, till_session_id=session.id, location_id=session.location_id)
        reference = None
        if refund.tender is Tender.CARD_TERMINAL and terminal is not None:
            payment = await uow.payments.get(refund.payment_id)
            assert payment is not None
            approval = await terminal.refund(
                location_id=session.location_id,
                amount=refund.amount,
                currency=refund.currency,
                reference=payment.provider_ref or f"order:{order.id}",
                idempotency_key=refund_key(refund),
            )  # in the transaction: a retried pay-out sends the same key, refunds once
            reference = approval.approval_code
        await _succeeded(uow, order, paid, reference=reference, who=principal.subject)
        return RefundResult(order.id, refund.id)

    return await run_once(
        uow_factory,
        scope=f"refundPayOut:{refund_id}",
        caller=principal.subject,
        key=idempotency_key,
        payload={"r": refund_id, "l": location_id},
        work=work,
        result=RefundResult,
        check=lambda uow: _refund_of(uow, principal, refund_id),
    )


async def _refund_of(
    uow: UnitOfWork, principal: Principal, refund_id: int
) -> tuple[Order, RefundRecord]:
    """The refund and its order (locked), when the caller is staff of the order's stores or
    of the store the goods came back to."""
    found = await uow.payments.get_refund(refund_id)
    if found is None:
        raise NotFound("refund", field="refundId")
    order = await uow.orders.get(found.order_id, for_update=True)
    refund = await uow.payments.get_refund(refund_id, for_update=True)
    assert order is not None and refund is not None
    returned_here = refund.location_id is not None and refund.location_id in principal.location_ids
    if not (may_see(principal, order, None) or returned_here):
        raise PermissionDenied("not a refund of your stores", field="refundId")
    return order, refund


async def _till_of(
    uow: UnitOfWork, principal: Principal, refund: RefundRecord, at: int | None
) -> TillSession:
    """The clerk's open till session where the refund is paid out: at ``at`` or, unnamed, at
    the store the goods came back to, else one of the clerk's stores."""
    places = [at] if at is not None else [refund.location_id, *sorted(principal.location_ids)]
    for location_id in places:
        if location_id is None:
            continue
        if not principal.brand_wide and location_id not in principal.location_ids:
            continue
        session = await uow.payments.open_session_of(principal.subject, location_id)
        if session is not None:
            return session
    raise DomainError(
        RefundErrorCode.TILL_SESSION_REQUIRED,
        "open a till session at your store to pay this refund out",
        field="refundId",
    )
