"""Online payment of an order: the tenders recorded at checkout, the provider's intent opened
and confirmed, its answers applied (forward only), and the authorisation captured at hand-over.

The order row and its payment rows are written first, in the checkout's transaction; the
provider is called after that commit, with idempotency keys derived from the order, and its
answer is stored in a second transaction. A crash in between leaves a payment PENDING without a
provider reference, which ``recovery`` finds and attaches (the same key gives the same intent):
no money is ever taken for an order that is not stored.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.errors import DomainError, NotFound
from domain.identity.model import Principal
from domain.orders.access import may_see
from domain.orders.events import OrderPaid, OrderPaymentAuthorised
from domain.orders.model import Order
from domain.orders.placing import record
from domain.orders.states import (
    LEFT,
    Actor,
    FulfilmentMethod,
    FulfilmentStatus,
    OrderStatus,
    PaymentStatus,
    check_order,
    check_payment,
)
from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import (
    PROVIDER_METHOD,
    RANK,
    SETTLED,
    CaptureMethod,
    Payment,
    PaymentError,
    PaymentErrorCode,
    PaymentIntent,
    PaymentRequest,
    PaymentState,
    PaymentStep,
    Tender,
    state_of,
)
from domain.payments.ports import PaymentGateway
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotions.services import VOUCHER_OFFSET

HELD_UNTIL_HANDOVER = frozenset({FulfilmentMethod.PICKUP, FulfilmentMethod.LOCAL_DELIVERY})
PAYABLE = frozenset({OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.READY_FOR_PICKUP})


def capture_method_for(order: Order) -> CaptureMethod:
    """Manual (authorise now, capture what is handed over) when every part is picked up or
    delivered locally; automatic (charged at confirmation) when anything is shipped."""
    if order.fulfilments and all(f.method in HELD_UNTIL_HANDOVER for f in order.fulfilments):
        return CaptureMethod.MANUAL
    return CaptureMethod.AUTOMATIC


def online_payment(payments: list[Payment]) -> Payment | None:
    """The order's payment through the provider, if it has one."""
    return next((p for p in reversed(payments) if p.tender.online), None)


async def record_tenders(
    uow: UnitOfWork, order: Order, request: PaymentRequest | None, *, provider: str
) -> Payment | None:
    """Record how an order placed at checkout is paid, one row per tender: its voucher and
    points (in kind, already spent), and the rest through the provider (``request``), opened
    PENDING; the provider is only called once this transaction has committed."""
    await record_in_kind(uow, order)
    if request is None:
        return None
    rest = order.total - order.points_value
    if rest <= 0:  # points and vouchers paid it all
        await _paid(uow, order, reference="points", who="system:payments")
        return None
    return await uow.payments.add(
        Payment(
            id=0,
            order_id=order.id,
            tender=request.tender,
            amount=rest,
            currency=order.currency,
            state=PaymentState.PENDING,
            capture_method=capture_method_for(order),
            provider=provider,
        )
    )


async def record_in_kind(
    uow: UnitOfWork, order: Order, *, location_id: int | None = None
) -> list[Payment]:
    """One CAPTURED row for what the member's vouchers and points paid of an order (already
    spent when it was placed), at checkout and at the till (``location_id``: the store)."""
    voucher = sum(d.amount for d in order.discounts if d.promotion_id >= VOUCHER_OFFSET)
    in_kind = ((Tender.VOUCHER, voucher), (Tender.POINTS, order.points_value))
    return [
        await uow.payments.add(_in_kind(order, tender, amount, location_id=location_id))
        for tender, amount in in_kind
        if amount > 0
    ]


def _in_kind(order: Order, tender: Tender, amount: int, *, location_id: int | None) -> Payment:
    return Payment(
        id=0,
        order_id=order.id,
        tender=tender,
        amount=amount,
        currency=order.currency,
        state=PaymentState.CAPTURED,
        captured=amount,
        location_id=location_id,
    )


async def start_payment(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    *,
    payment_id: int,
    request: PaymentRequest,
    clock: Clock,
) -> PaymentStep:
    """Open the provider's intent of a payment (once: a replay finds it stored, or the same
    idempotency key gives the same intent) and confirm it when the request allows."""
    async with uow_factory() as uow:
        payment = await uow.payments.get(payment_id)
    if payment is None:
        raise NotFound("payment", field="paymentId")
    if payment.provider_ref is None:
        intent = await open_intent(gateway, payment)
        payment = await store_intent(uow_factory, payment.id, intent, clock=clock)
    if payment.state is PaymentState.PENDING and _confirmable(payment, request):
        payment = await _confirm(uow_factory, gateway, payment, request, clock=clock)
    return step_of(payment)


async def open_intent(gateway: PaymentGateway, payment: Payment) -> PaymentIntent:
    """The provider's intent of a payment, created unconfirmed: no money moves before its id
    is stored. The key is the order's: a second call gives the first intent back."""
    assert payment.capture_method is not None
    return await gateway.create_intent(
        order_ref=str(payment.order_id),
        amount=payment.amount,
        currency=payment.currency.lower(),
        method=PROVIDER_METHOD[payment.tender],
        capture=payment.capture_method,
        idempotency_key=idempotency_key(payment.order_id, PaymentOperation.INTENT),
    )


async def store_intent(
    uow_factory: UnitOfWorkFactory, payment_id: int, intent: PaymentIntent, *, clock: Clock
) -> Payment:
    """Attach a provider intent to its payment and apply what it says."""
    async with uow_factory() as uow:
        payment = await uow.payments.get(payment_id, for_update=True)
        if payment is None:
            raise NotFound("payment", field="paymentId")
        return await apply_intent(uow, payment, intent, who="system:payments", at=clock.now())


def _confirmable(payment: Payment, request: PaymentRequest) -> bool:
    """Confirm on the server: a card with a token, or a wallet (its next action follows)."""
    return bool(request.payment_method_token) or payment.tender is not Tender.CARD


async def _confirm(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    payment: Payment,
    request: PaymentRequest,
    *,
    clock: Clock,
) -> Payment:
    """Confirm the payment's intent (attempt n: its own key), storing a decline as FAILED."""
    assert payment.provider_ref is not None
    attempt = payment.attempt + 1
    async with uow_factory() as uow:
        await uow.payments.save(replace(payment, attempt=attempt))
    key = idempotency_key(payment.order_id, PaymentOperation.CONFIRM, part=attempt)
    try:
        intent = await gateway.confirm(
            payment.provider_ref,
            idempotency_key=key,
            return_url=request.return_url,
            payment_method_token=request.payment_method_token,
        )
    except PaymentError as error:
        if error.payment_code is not PaymentErrorCode.CARD_DECLINED:
            raise
        async with uow_factory() as uow:
            failed = await uow.payments.get(payment.id, for_update=True)
            assert failed is not None
            failed = replace(
                failed,
                state=PaymentState.FAILED,
                decline_code=error.decline_code or "declined",
                next_action=None,
            )
            await uow.payments.save(failed)
            return failed
    return await store_intent(uow_factory, payment.id, intent, clock=clock)


async def confirm_payment(
    uow_factory: UnitOfWorkFactory,
    gateway: PaymentGateway,
    principal: Principal,
    *,
    order_id: int,
    request: PaymentRequest,
    access_token: str | None,
    clock: Clock,
) -> PaymentStep:
    """The buyer (or staff) pays an order placed at checkout: after a decline with another
    card, after a redirect to see where it stands, or to pay with another wallet."""
    async with uow_factory() as uow:
        order = await uow.orders.get(order_id)
        if order is None or not may_see(principal, order, access_token):
            raise NotFound("order", field="orderId")
        payment = online_payment(await uow.payments.for_order(order_id))
    if payment is None or order.status not in PAYABLE:
        raise DomainError(
            PaymentErrorCode.INVALID_STATE, "this order has no payment to make", field="orderId"
        )
    if payment.tender is not request.tender:
        raise DomainError(
            PaymentErrorCode.INVALID_REQUEST,
            f"this order is paid by {payment.tender.value}",
            field="payment.method",
        )
    ref = payment.provider_ref
    if ref is None:  # the first attempt was cut short: open it now
        return await start_payment(
            uow_factory, gateway, payment_id=payment.id, request=request, clock=clock
        )
    if (
        payment.state in (PaymentState.PENDING, PaymentState.FAILED)
        and request.payment_method_token
    ):
        payment = await _confirm(uow_factory, gateway, payment, request, clock=clock)
    elif payment.state in (PaymentState.PENDING, PaymentState.REQUIRES_ACTION):
        # back from a redirect or a QR scan: read where the provider stands
        intent = await gateway.retrieve(ref)
        payment = await store_intent(uow_factory, payment.id, intent, clock=clock)
    return step_of(payment)


def step_of(payment: Payment) -> PaymentStep:
    """What the client does next about a payment."""
    return PaymentStep(
        payment_id=payment.id,
        state=payment.state,
        amount=payment.amount,
        currency=payment.currency,
        client_secret=payment.client_secret,
        next_action=payment.next_action,
        decline_code=payment.decline_code,
    )


async def apply_intent(
    uow: UnitOfWork, payment: Payment, intent: PaymentIntent, *, who: str, at: datetime
) -> Payment:
    """What the provider says of a payment's intent, applied forward only: an answer that
    arrives late (an older webhook, a slow confirmation) never moves a payment back. The
    order's payment status follows: AUTHORISED, then PAID once captured."""
    if payment.provider_ref not in (None, intent.id):
        raise DomainError(PaymentErrorCode.INVALID_STATE, "another intent", field="paymentId")
    new = state_of(intent)
    current = payment.state
    if RANK[new] < RANK[current] or current in SETTLED:
        new = current  # stale news: keep what we know, take only the reference
    updated = replace(
        payment,
        provider_ref=intent.id,
        client_secret=intent.client_secret or payment.client_secret,
        state=new,
        next_action=intent.next_action if new is PaymentState.REQUIRES_ACTION else None,
        authorised=max(payment.authorised, intent.amount_capturable),
        captured=max(payment.captured, intent.amount_received),
        decline_code=intent.decline_code if new is PaymentState.FAILED else None,
    )
    await uow.payments.save(updated)
    if new is not current:
        order = await uow.orders.get(payment.order_id, for_update=True)
        assert order is not None
        await _follow(uow, order, updated, who=who)
    return updated


async def _follow(uow: UnitOfWork, order: Order, payment: Payment, *, who: str) -> None:
    """Move the order's payment status after its online payment moved."""
    if order.status is OrderStatus.CANCELLED:
        return  # money for a cancelled order: the cancel's own flow releases or refunds it
    status = order.payment_status
    if payment.state is PaymentState.AUTHORISED and status is PaymentStatus.PENDING:
        order.payment_status = check_payment(status, PaymentStatus.AUTHORISED, actor=Actor.SYSTEM)
        await uow.orders.save(order)
        event = OrderPaymentAuthorised(
            order_id=order.id, status=order.status, amount=payment.authorised
        )
        await record(uow, event, actor=who)
    elif payment.state is PaymentState.CAPTURED and status in (
        PaymentStatus.PENDING,
        PaymentStatus.AUTHORISED,
    ):
        await _paid(uow, order, reference=payment.provider_ref or "", who=who)


async def _paid(uow: UnitOfWork, order: Order, *, reference: str, who: str) -> None:
    order.payment_status = check_payment(
        order.payment_status, PaymentStatus.PAID, actor=Actor.SYSTEM
    )
    if order.status is OrderStatus.PLACED:
        order.status = check_order(order.status, OrderStatus.PAID, actor=Actor.SYSTEM)
    await uow.orders.save(order)
    await record(
        uow, OrderPaid(order_id=order.id, status=order.status, reference=reference), actor=who
    )


async def capture_for_handover(
    uow: UnitOfWork,
    gateway: PaymentGateway | None,
    order: Order,
    *,
    fulfilment_id: int,
    who: str,
    at: datetime,
) -> None:
    """At the hand-over that leaves no part of the order unserved, capture what the buyer
    keeps: the authorised amount less what cancelled parts released. Called inside the
    hand-over's transaction before it commits: a refused capture refuses the hand-over, and a
    retried hand-over sends the same key, so the money is taken once."""
    if not order.others_all(fulfilment_id, *LEFT, FulfilmentStatus.CANCELLED):
        return  # parts still to serve: captured at the last hand-over
    payment = online_payment(await uow.payments.for_order(order.id, for_update=True))
    if payment is None or payment.state is not PaymentState.AUTHORISED:
        return
    if gateway is None or payment.provider_ref is None:
        raise DomainError(
            PaymentErrorCode.PROVIDER_UNAVAILABLE, "payments are not configured", field="payment"
        )
    amount = min(payment.authorised, payment.amount - order.refunded_total)
    key = idempotency_key(order.id, PaymentOperation.CAPTURE, part=f"f{fulfilment_id}")
    if amount <= 0:  # nothing handed over that was paid for: release the hold
        cancel_key = idempotency_key(order.id, PaymentOperation.CANCEL)
        intent = await gateway.cancel(payment.provider_ref, idempotency_key=cancel_key)
    else:
        intent = await gateway.capture(
            payment.provider_ref, amount_to_capture=amount, idempotency_key=key
        )
    await apply_intent(uow, payment, intent, who=who, at=at)
    order_now = await uow.orders.get(order.id)
    assert order_now is not None
    order.payment_status, order.status = order_now.payment_status, order_now.status
