"""The payment worker's part of refunds and holds: refunds owed through the provider are sent
with one key per refund (the same on every retry, so a worker killed after the provider
answered refunds once), outages back off (2^attempts s, at most five minutes), refusals stay
FAILED until staff retry them; the holds of cancelled orders are released (intent cancelled,
payment CANCELLED, order VOIDED), and money that arrives late for a cancelled order is owed
back. What is owed, and to which tender, is decided in ``domain.payments.refunds``."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from domain.orders.events import OrderPaid, OrderPaymentVoided
from domain.orders.model import Order
from domain.orders.placing import record
from domain.orders.states import Actor, OrderStatus, PaymentStatus, check_payment
from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import (
    Payment,
    PaymentError,
    PaymentState,
    RefundRecord,
    RefundState,
    RefundStatus,
)
from domain.payments.ports import PaymentGateway
from domain.payments.refunds import (
    MAX_BACKOFF_SECONDS,
    WORKER,
    _failed,
    _succeeded,
    _Worker,
    owe,
    owed_on_cancel,
    refund_key,
)
from domain.payments.services import apply_intent
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


def awaiting_provider(refund: RefundRecord) -> bool:
    """Made by the provider, its final state still to come (by webhook): never sent again."""
    return refund.provider_ref is not None and refund.last_error is None


def due_at(refund: RefundRecord) -> datetime | None:
    """When a refund answered "try later" may be sent again: 2^attempts s after its last
    attempt, at most 5 minutes (None: now)."""
    if refund.attempts <= 0 or refund.updated_at is None:
        return None
    delay = min(2**refund.attempts, MAX_BACKOFF_SECONDS)
    return refund.updated_at + timedelta(seconds=delay)


def _ready(refund: RefundRecord, now: datetime) -> bool:
    when = due_at(refund)
    return (
        refund.state is RefundState.PENDING
        and refund.tender.online
        and not awaiting_provider(refund)
        and (when is None or now >= when)
    )


async def execute_due(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, *, clock: Clock, limit: int = 50
) -> int:
    """Send the refunds that are due to the provider, one transaction each (the order and the
    refund locked while the provider answers); returns how many got a final answer."""
    async with uow_factory() as uow:
        due = await uow.payments.refunds_due(limit=limit)
    done = 0
    for candidate in due:
        if _ready(candidate, clock.now()):
            done += await _send(uow_factory, gateway, candidate, clock=clock)
    return done


async def _send(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    candidate: RefundRecord,
    *,
    clock: Clock,
) -> int:
    async with uow_factory() as uow:
        order = await uow.orders.get(candidate.order_id, for_update=True)
        refund = await uow.payments.get_refund(candidate.id, for_update=True)
        if order is None or refund is None or not _ready(refund, clock.now()):
            return 0  # another worker got there first
        payment = await uow.payments.get(refund.payment_id, for_update=True)
        if payment is None or payment.provider_ref is None:
            await _failed(uow, order, refund, error="no provider payment to refund", who=WORKER)
            return 1
        try:
            made = await gateway.refund(
                payment.provider_ref, amount=refund.amount, idempotency_key=refund_key(refund)
            )
        except PaymentError as error:
            message = f"{error.payment_code.value}: {error.message}"
            if error.retryable:
                await uow.payments.save_refund(
                    replace(refund, attempts=refund.attempts + 1, last_error=message[:500])
                )
                return 0
            await _failed(uow, order, replace(refund, attempts=refund.attempts + 1), error=message,
                          who=WORKER)  # fmt: skip
            return 1
        sent = replace(refund, attempts=refund.attempts + 1)
        if made.status is RefundStatus.SUCCEEDED:
            await _succeeded(uow, order, sent, reference=made.id, who=WORKER)
        elif made.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
            sent = replace(sent, provider_ref=made.id)
            await _failed(uow, order, sent, error=f"provider: {made.status.value}", who=WORKER)
        else:  # made, its final state comes by webhook
            await uow.payments.save_refund(replace(sent, provider_ref=made.id, last_error=None))
        return 1


# ---------------------------------------------------------------- the worker: holds released


async def release_due(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, *, clock: Clock, limit: int = 50
) -> int:
    """Cancelled orders whose online payment was neither released nor received: cancel the
    intent at the provider (the order's CANCEL key), payment CANCELLED and order VOIDED; a
    payment the provider captured meanwhile (a late answer) is owed back in full instead. A
    payment whose intent was never stored is left to recovery, which cancels it first."""
    async with uow_factory() as uow:
        due = await uow.payments.releases_due(limit=limit)
    done = 0
    for candidate in due:
        done += await _release(uow_factory, gateway, candidate, clock=clock)
    return done


async def _release(
    uow_factory: UnitOfWorkFactory, gateway: PaymentGateway, candidate: Payment, *, clock: Clock
) -> int:
    async with uow_factory() as uow:
        order = await uow.orders.get(candidate.order_id, for_update=True)
        payment = await uow.payments.get(candidate.id, for_update=True)
        if order is None or payment is None or not _to_release(order):
            return 0
        at = clock.now()
        if payment.state not in (PaymentState.CANCELLED, PaymentState.CAPTURED):
            if payment.provider_ref is None:
                return 0  # its intent may exist unseen: recovery finds and cancels it first
            try:
                key = idempotency_key(order.id, PaymentOperation.CANCEL)
                intent = await gateway.cancel(payment.provider_ref, idempotency_key=key)
            except PaymentError as error:
                if error.retryable:
                    return 0
                intent = await gateway.retrieve(payment.provider_ref)  # captured meanwhile?
            payment = await apply_intent(uow, payment, intent, who=WORKER, at=at)
        if payment.state is PaymentState.CANCELLED:
            await _voided(uow, order, payment)
            return 1
        if payment.state is PaymentState.CAPTURED:
            await _received_late(uow, order, payment)
            return 1
        return 0


def _to_release(order: Order) -> bool:
    return order.status is OrderStatus.CANCELLED and order.payment_status in (
        PaymentStatus.PENDING,
        PaymentStatus.AUTHORISED,
    )


async def _voided(uow: UnitOfWork, order: Order, payment: Payment) -> None:
    order.payment_status = check_payment(
        order.payment_status, PaymentStatus.VOIDED, actor=Actor.SYSTEM
    )
    await uow.orders.save(order)
    event = OrderPaymentVoided(
        order_id=order.id, payment_id=payment.id, amount=payment.authorised or payment.amount
    )
    await record(uow, event, actor=WORKER)


async def _received_late(uow: UnitOfWork, order: Order, payment: Payment) -> None:
    """The provider took money for an order cancelled meanwhile: it is owed back in full."""
    order.payment_status = check_payment(
        order.payment_status, PaymentStatus.PAID, actor=Actor.SYSTEM
    )
    await record(
        uow,
        OrderPaid(order_id=order.id, status=order.status, reference=payment.provider_ref or ""),
        actor=WORKER,
    )
    order.payment_status = check_payment(
        order.payment_status, PaymentStatus.REFUND_DUE, actor=Actor.SYSTEM
    )
    amount = await owed_on_cancel(uow, order)
    order.refunded_total += amount
    await uow.orders.save(order)
    await owe(uow, order, amount, reason="captured after the cancel", return_id=None,
              location_id=None, by=_Worker())  # fmt: skip
