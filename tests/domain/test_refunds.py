"""Refunds that pay back, on the in-memory fakes: what a return or a cancel owes goes back
through the tender that paid (card by the provider, cash at a till), once, never above what
was received; the payment worker sends refunds with one key per refund and releases the holds
of cancelled orders; a failed refund stays visible until staff retry it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory.clock import FixedClock
from adapters.memory.shop import PRICES, Shop, small_shop
from adapters.payments.fake import FakePaymentGateway
from adapters.payments.terminal_fake import FakeCardTerminal
from domain.cart import services as cart
from domain.cart.services import DeliveryChoice
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind
from domain.loyalty import services as loyalty
from domain.loyalty.model import balance
from domain.orders import services as orders
from domain.orders.checkout import checkout_complete
from domain.orders.model import Address, Buyer
from domain.orders.returns import create_return
from domain.orders.services import FulfilmentStep
from domain.orders.states import FulfilmentStatus, OrderStatus, PaymentStatus
from domain.payments import refund_worker, refunds
from domain.payments.jobs import Round, run_due
from domain.payments.model import (
    IntentStatus,
    Payment,
    PaymentErrorCode,
    PaymentRequest,
    PaymentState,
    RefundRecord,
    RefundState,
    Tender,
    TillSession,
)
from domain.payments.services import apply_intent

GUEST = Principal(PrincipalKind.ANONYMOUS)
F = FulfilmentStatus


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def checkout(
    shop: Shop,
    gateway: FakePaymentGateway,
    *,
    lines: tuple[tuple[int, int], ...] = ((0, 2),),
    pickup: bool = True,
    token: str | None = "pm_card_visa",
) -> tuple[int, str]:
    """An order paid online by card at checkout: (order id, its access token)."""
    delivery = (
        DeliveryChoice(method="PICKUP", location_id=shop.store_id)
        if pickup
        else DeliveryChoice(method="SHIP", address=Address(city="Lyon"))
    )
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[i], q) for i, q in lines],
        buyer=Buyer(email="ada@example.com"),
        delivery=delivery,
        clock=shop.clock,
    )
    placed = await checkout_complete(
        shop.uow, GUEST, token=view.cart.token, idempotency_key=None, clock=shop.clock,
        payment=PaymentRequest(Tender.CARD, token), gateway=gateway, provider="test",
    )  # fmt: skip
    return placed.result.order_id, placed.result.access_token


async def hand_over(shop: Shop, gateway: FakePaymentGateway, order_id: int) -> None:
    """Ready at the store, then picked up with the code: the authorisation is captured."""
    f = shop.state.orders[order_id].fulfilments[0]
    for step in (FulfilmentStep(f.id, F.READY), FulfilmentStep(f.id, F.PICKED_UP, f.pickup_code)):
        await orders.fulfil(
            shop.uow, shop.owner, step=step, idempotency_key=None, clock=shop.clock,
            payments=gateway,
        )  # fmt: skip


async def give_back(
    shop: Shop, order_id: int, quantities: dict[int, int], *, at: int | None = None, by=None
) -> int:
    """Return ``quantities`` (line index -> units) at a location; the refund due."""
    order = shop.state.orders[order_id]
    lines = {order.lines[i].id: q for i, q in quantities.items()}
    done = await create_return(
        shop.uow, by or shop.owner, order_id=order_id, location_id=at or shop.store_id,
        lines=lines, restock=True, idempotency_key=None, clock=shop.clock,
    )  # fmt: skip
    return done.refund_due


def card(shop: Shop, order_id: int) -> Payment:
    return next(
        p for p in shop.state.payments.values() if p.order_id == order_id and p.tender.online
    )


def refunds_of(shop: Shop, order_id: int) -> list[RefundRecord]:
    return [r for _, r in sorted(shop.state.refunds.items()) if r.order_id == order_id]


def history(shop: Shop, order_id: int) -> list[str]:
    return [e.kind for e in shop.state.history if e.order_id == order_id]


async def test_a_partial_return_refunds_the_card_for_those_lines_exactly(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, _ = await checkout(shop, gateway, lines=((0, 2), (1, 1)))
    await hand_over(shop, gateway, order_id)
    intent = card(shop, order_id).provider_ref
    assert intent is not None and card(shop, order_id).captured == 2 * PRICES[0] + PRICES[1]

    due = await give_back(shop, order_id, {0: 1})
    assert due == PRICES[0]
    (owed,) = refunds_of(shop, order_id)
    assert (owed.tender, owed.state, owed.amount) == (Tender.CARD, RefundState.PENDING, PRICES[0])
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUND_DUE
    assert gateway.refunds_of(intent) == []  # sent by the worker, after the return committed

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1)
    (sent,) = gateway.refunds_of(intent)
    assert sent.amount == PRICES[0]
    (done,) = refunds_of(shop, order_id)
    assert (done.state, done.provider_ref) == (RefundState.SUCCEEDED, sent.id)
    assert card(shop, order_id).refunded == PRICES[0]
    order = shop.state.orders[order_id]
    assert order.payment_status is PaymentStatus.PARTIALLY_REFUNDED
    assert "REFUNDED" in history(shop, order_id)
    keys = [k for op, k in gateway.calls if op == "refund"]
    assert keys == [f"order:{order_id}:refund:r{done.id}"]

    # the rest comes back at another location: refunded too, and then nothing is kept
    await give_back(shop, order_id, {0: 1, 1: 1}, at=shop.warehouse_id)
    await run_due(shop.uow, gateway, clock=shop.clock)
    assert sum(r.amount for r in gateway.refunds_of(intent)) == 2 * PRICES[0] + PRICES[1]
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round()


async def test_a_cancelled_authorised_order_releases_the_hold(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, token = await checkout(shop, gateway)
    assert card(shop, order_id).state is PaymentState.AUTHORISED
    await orders.cancel(
        shop.uow, GUEST, order_id=order_id, reason="changed my mind", idempotency_key=None,
        clock=shop.clock, access_token=token,
    )  # fmt: skip
    assert refunds_of(shop, order_id) == []  # nothing was taken: nothing to refund

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(released=1)
    intent = card(shop, order_id).provider_ref
    assert intent is not None
    assert gateway.intents[intent].intent.status is IntentStatus.CANCELED
    assert card(shop, order_id).state is PaymentState.CANCELLED
    assert shop.state.orders[order_id].payment_status is PaymentStatus.VOIDED
    assert ("cancel", f"order:{order_id}:cancel") in gateway.calls
    assert "PAYMENT_VOIDED" in history(shop, order_id)
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round()
    assert [op for op, _ in gateway.calls].count("cancel") == 1


async def test_an_expired_order_with_an_open_payment_is_released(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, _ = await checkout(shop, gateway, token=None)  # the client never confirmed
    assert card(shop, order_id).state is PaymentState.PENDING
    shop.clock.advance(days=3)
    assert await orders.release_expired(shop.uow, clock=shop.clock) == 1
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(released=1)
    assert card(shop, order_id).state is PaymentState.CANCELLED
    assert shop.state.orders[order_id].payment_status is PaymentStatus.VOIDED


async def test_a_late_authorisation_of_a_cancelled_order_is_released(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, token = await checkout(shop, gateway, token=None)
    await orders.cancel(
        shop.uow, GUEST, order_id=order_id, reason="r", idempotency_key=None,
        clock=shop.clock, access_token=token,
    )  # fmt: skip
    intent_id = card(shop, order_id).provider_ref
    assert intent_id is not None
    # the buyer's client confirms anyway; the provider's news arrives after the cancel
    late = await gateway.confirm(intent_id, idempotency_key="client", payment_method_token="pm_x")
    async with shop.uow() as uow:
        await apply_intent(uow, card(shop, order_id), late, who="webhook", at=shop.clock.now())
    assert card(shop, order_id).state is PaymentState.AUTHORISED
    assert shop.state.orders[order_id].status is OrderStatus.CANCELLED

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(released=1)
    assert gateway.intents[intent_id].intent.status is IntentStatus.CANCELED
    assert shop.state.orders[order_id].payment_status is PaymentStatus.VOIDED


async def test_a_late_capture_of_a_cancelled_order_is_refunded(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, token = await checkout(shop, gateway, pickup=False, token=None)  # shipped
    total = shop.state.orders[order_id].total
    await orders.cancel(
        shop.uow, GUEST, order_id=order_id, reason="r", idempotency_key=None,
        clock=shop.clock, access_token=token,
    )  # fmt: skip
    intent_id = card(shop, order_id).provider_ref
    assert intent_id is not None
    late = await gateway.confirm(intent_id, idempotency_key="client", payment_method_token="pm_x")
    assert late.status is IntentStatus.SUCCEEDED  # automatic capture: the money was taken

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1, released=1)
    assert [r.amount for r in gateway.refunds_of(intent_id)] == [total]
    assert card(shop, order_id).refunded == total
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED


async def test_cancelling_a_paid_shipped_order_owes_everything_received(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, token = await checkout(shop, gateway, pickup=False)
    order = shop.state.orders[order_id]
    assert order.payment_status is PaymentStatus.PAID
    await orders.cancel(
        shop.uow, GUEST, order_id=order_id, reason="r", idempotency_key=None,
        clock=shop.clock, access_token=token,
    )  # fmt: skip
    (owed,) = refunds_of(shop, order_id)
    assert owed.amount == order.total == card(shop, order_id).captured
    assert shop.state.orders[order_id].refunded_total == order.total
    await run_due(shop.uow, gateway, clock=shop.clock)
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED


async def test_a_cancel_pays_back_in_money_only_what_points_did_not_pay(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    member_id = await shop.add_member()
    await loyalty.adjust(
        shop.uow, shop.owner, member_id=member_id, points=500, reason="gift", clock=shop.clock
    )
    member = shop.member(member_id)
    view = await cart.create_cart(
        shop.uow, channel_handle="web", lines=[(shop.variant_ids[0], 1)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method="SHIP", address=Address(city="Lyon")),
        clock=shop.clock, member_id=member_id,
    )  # fmt: skip
    await cart.apply_points(
        shop.uow, member, token=view.cart.token, points_wanted=200, clock=shop.clock
    )
    placed = await checkout_complete(
        shop.uow, member, token=view.cart.token, idempotency_key=None, clock=shop.clock,
        payment=PaymentRequest(Tender.CARD, "pm_card_visa"), gateway=gateway, provider="test",
    )  # fmt: skip
    order_id = placed.result.order_id
    order = shop.state.orders[order_id]
    assert order.points_value > 0 and order.payment_status is PaymentStatus.PAID
    money = order.total - order.points_value
    assert card(shop, order_id).captured == money

    await orders.cancel(
        shop.uow, member, order_id=order_id, reason="r", idempotency_key=None,
        clock=shop.clock, access_token=placed.result.access_token,
    )  # fmt: skip
    (owed,) = refunds_of(shop, order_id)
    assert (owed.tender, owed.amount) == (Tender.CARD, money)  # the points came back as points
    async with shop.uow() as uow:
        assert balance(await uow.points.lots(member_id), at=shop.clock.now()) == 500
    await run_due(shop.uow, gateway, clock=shop.clock)
    intent = card(shop, order_id).provider_ref
    assert intent is not None and [r.amount for r in gateway.refunds_of(intent)] == [money]
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED


async def split_with_points(shop: Shop, gateway: FakePaymentGateway) -> tuple[int, int]:
    """A shipped card order of 12 shirts served from two locations, 1000 points spent; both
    parts are then cancelled one by one: (order id, member id)."""
    member_id = await shop.add_member()
    await loyalty.adjust(
        shop.uow, shop.owner, member_id=member_id, points=5000, reason="gift", clock=shop.clock
    )
    member = shop.member(member_id)
    view = await cart.create_cart(
        shop.uow, channel_handle="web", lines=[(shop.variant_ids[0], 12)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method="SHIP", address=Address(city="Lyon")),
        clock=shop.clock, member_id=member_id,
    )  # fmt: skip
    await cart.apply_points(
        shop.uow, member, token=view.cart.token, points_wanted=1000, clock=shop.clock
    )
    placed = await checkout_complete(
        shop.uow, member, token=view.cart.token, idempotency_key=None, clock=shop.clock,
        payment=PaymentRequest(Tender.CARD, "pm_card_visa"), gateway=gateway, provider="test",
    )  # fmt: skip
    order_id = placed.result.order_id
    parts = shop.state.orders[order_id].fulfilments
    assert len(parts) == 2
    for part in parts:
        await orders.cancel_fulfilment(
            shop.uow, shop.owner, fulfilment_id=part.id, reason="r", idempotency_key=None,
            clock=shop.clock,
        )  # fmt: skip
    return order_id, member_id


async def test_cancelling_the_parts_one_by_one_pays_the_money_back_once(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, _ = await split_with_points(shop, gateway)
    order = shop.state.orders[order_id]
    money = order.total - order.points_value
    owed = refunds_of(shop, order_id)
    assert len(owed) == 2 and sum(r.amount for r in owed) == money == card(shop, order_id).captured
    await run_due(shop.uow, gateway, clock=shop.clock)
    intent = card(shop, order_id).provider_ref
    assert intent is not None
    assert sum(r.amount for r in gateway.refunds_of(intent)) == money
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED


async def test_cancelling_the_parts_one_by_one_gives_the_points_back_once(shop: Shop) -> None:
    _, member_id = await split_with_points(shop, FakePaymentGateway())
    async with shop.uow() as uow:
        assert balance(await uow.points.lots(member_id), at=shop.clock.now()) == 5000


async def test_a_failed_refund_stays_failed_until_staff_retry_it(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, _ = await checkout(shop, gateway)
    await hand_over(shop, gateway, order_id)
    await give_back(shop, order_id, {0: 1})
    gateway.fail_next(PaymentErrorCode.AUTHENTICATION_FAILED)

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1)
    (failed,) = refunds_of(shop, order_id)
    assert failed.state is RefundState.FAILED
    assert failed.last_error and "PAYMENT_PROVIDER_AUTHENTICATION" in failed.last_error
    assert "REFUND_FAILED" in history(shop, order_id)
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUND_DUE
    shop.clock.advance(hours=1)
    calls = len(gateway.calls)
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round()  # not by itself
    assert len(gateway.calls) == calls

    with pytest.raises(DomainError) as refused:
        await refunds.retry_refund(shop.uow, GUEST, refund_id=failed.id, idempotency_key=None)
    assert refused.value.code == "PERMISSION_DENIED"
    await refunds.retry_refund(shop.uow, shop.owner, refund_id=failed.id, idempotency_key="k")
    assert refunds_of(shop, order_id)[0].state is RefundState.PENDING
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1)
    assert refunds_of(shop, order_id)[0].state is RefundState.SUCCEEDED
    assert shop.state.orders[order_id].payment_status is PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(DomainError) as again:
        await refunds.retry_refund(shop.uow, shop.owner, refund_id=failed.id, idempotency_key=None)
    assert again.value.code == "REFUND_NOT_FAILED"


async def test_a_provider_outage_is_retried_later_with_the_same_key(shop: Shop) -> None:
    gateway = FakePaymentGateway()
    order_id, _ = await checkout(shop, gateway)
    await hand_over(shop, gateway, order_id)
    await give_back(shop, order_id, {0: 1})
    gateway.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round()
    (waiting,) = refunds_of(shop, order_id)
    assert (waiting.state, waiting.attempts) == (RefundState.PENDING, 1)
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round()  # backing off
    assert [op for op, _ in gateway.calls].count("refund") == 1
    shop.clock.advance(seconds=2)
    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1)
    keys = [k for op, k in gateway.calls if op == "refund"]
    assert len(keys) == 2 and len(set(keys)) == 1
    assert refunds_of(shop, order_id)[0].state is RefundState.SUCCEEDED


def test_the_backoff_doubles_up_to_five_minutes() -> None:
    at = FixedClock().now()
    base = RefundRecord(1, 1, 1, Tender.CARD, 100, "EUR", RefundState.PENDING, "r", updated_at=at)
    assert refund_worker.due_at(base) is None
    waits = [refund_worker.due_at(replace(base, attempts=n)) for n in (1, 3, 9)]
    assert [w - at for w in waits if w] == [
        timedelta(seconds=2),
        timedelta(seconds=8),
        timedelta(seconds=300),
    ]


class CrashAfterRefund(FakePaymentGateway):
    """The provider refunds, then the worker dies before it can store the answer (once)."""

    crash = True

    async def refund(self, intent_id: str, *, amount: int, idempotency_key: str) -> Any:
        made = await super().refund(intent_id, amount=amount, idempotency_key=idempotency_key)
        if self.crash:
            self.crash = False
            raise SystemExit("worker killed after the provider answered")
        return made


async def test_a_worker_killed_after_the_provider_answered_refunds_once(shop: Shop) -> None:
    gateway = CrashAfterRefund()
    order_id, _ = await checkout(shop, gateway)
    await hand_over(shop, gateway, order_id)
    await give_back(shop, order_id, {0: 1})
    intent = card(shop, order_id).provider_ref
    assert intent is not None

    with pytest.raises(SystemExit):
        await run_due(shop.uow, gateway, clock=shop.clock)
    (still,) = refunds_of(shop, order_id)
    assert (still.state, still.provider_ref) == (RefundState.PENDING, None)  # rolled back
    assert len(gateway.refunds_of(intent)) == 1  # but the provider did refund

    assert await run_due(shop.uow, gateway, clock=shop.clock) == Round(refunds=1)
    (made,) = gateway.refunds_of(intent)  # one refund at the provider, not two
    (done,) = refunds_of(shop, order_id)
    assert (done.state, done.provider_ref) == (RefundState.SUCCEEDED, made.id)
    assert card(shop, order_id).refunded == made.amount == PRICES[0]
    keys = [k for op, k in gateway.calls if op == "refund"]
    assert keys == [f"order:{order_id}:refund:r{done.id}"] * 2


async def cash_order(shop: Shop, quantity: int = 2) -> int:
    """A completed order paid in cash at the store's till (its tender row)."""
    async with shop.uow() as uow:
        order_id = await uow.orders.add(shop.web_order(quantity=quantity))
        await uow.payments.add(
            Payment(
                0, order_id, Tender.CASH, PRICES[0] * quantity, "EUR", PaymentState.CAPTURED,
                captured=PRICES[0] * quantity, location_id=shop.store_id,
            )
        )  # fmt: skip
    return order_id


async def open_till(shop: Shop, who: Principal) -> TillSession:
    async with shop.uow() as uow:
        return await uow.payments.open_session(
            TillSession(0, shop.store_id, who.subject, 10_000, "EUR", shop.clock.now())
        )


async def test_a_cash_refund_at_a_till_with_a_session_is_paid_out_at_once(shop: Shop) -> None:
    order_id = await cash_order(shop)
    session = await open_till(shop, shop.clerk)
    await give_back(shop, order_id, {0: 1}, by=shop.clerk)

    (paid,) = refunds_of(shop, order_id)
    assert (paid.tender, paid.state, paid.amount) == (Tender.CASH, RefundState.SUCCEEDED, PRICES[0])
    assert (paid.till_session_id, paid.location_id) == (session.id, shop.store_id)
    async with shop.uow() as uow:
        assert await uow.payments.cash_in_session(session.id) == (0, PRICES[0])
    cash = next(p for p in shop.state.payments.values() if p.order_id == order_id)
    assert cash.refunded == PRICES[0]
    assert shop.state.orders[order_id].payment_status is PaymentStatus.PARTIALLY_REFUNDED


async def test_a_cash_refund_without_a_session_waits_for_a_clerk_to_pay_it_out(
    shop: Shop,
) -> None:
    order_id = await cash_order(shop)
    await give_back(shop, order_id, {0: 2}, by=shop.clerk)  # no till open: owed, not paid
    (owed,) = refunds_of(shop, order_id)
    assert (owed.tender, owed.state) == (Tender.CASH, RefundState.PENDING)
    assert await run_due(shop.uow, FakePaymentGateway(), clock=shop.clock) == Round()

    with pytest.raises(DomainError) as refused:
        await refunds.pay_out(
            shop.uow, shop.clerk, refund_id=owed.id, location_id=None, idempotency_key=None
        )
    assert refused.value.code == "TILL_SESSION_REQUIRED"
    session = await open_till(shop, shop.clerk)
    await refunds.pay_out(
        shop.uow, shop.clerk, refund_id=owed.id, location_id=None, idempotency_key="p1"
    )
    (paid,) = refunds_of(shop, order_id)
    assert (paid.state, paid.till_session_id) == (RefundState.SUCCEEDED, session.id)
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED
    # a replay of the same request answers the same; another request finds it paid
    await refunds.pay_out(
        shop.uow, shop.clerk, refund_id=owed.id, location_id=None, idempotency_key="p1"
    )
    with pytest.raises(DomainError) as twice:
        await refunds.pay_out(
            shop.uow, shop.clerk, refund_id=owed.id, location_id=None, idempotency_key=None
        )
    assert twice.value.code == "REFUND_NOT_PENDING"
    async with shop.uow() as uow:
        assert await uow.payments.cash_in_session(session.id) == (0, 2 * PRICES[0])


async def test_a_card_terminal_refund_is_paid_out_on_the_terminal(shop: Shop) -> None:
    terminal = FakeCardTerminal()
    amount = PRICES[0] * 2
    approval = await terminal.charge(
        location_id=shop.store_id,
        amount=amount,
        currency="EUR",
        reference="till",
        idempotency_key="c",
    )
    async with shop.uow() as uow:
        order_id = await uow.orders.add(shop.web_order(quantity=2))
        await uow.payments.add(
            Payment(
                0, order_id, Tender.CARD_TERMINAL, amount, "EUR", PaymentState.CAPTURED,
                provider="terminal", provider_ref=approval.approval_code, captured=amount,
            )
        )  # fmt: skip
    await open_till(shop, shop.clerk)
    await give_back(shop, order_id, {0: 1}, by=shop.clerk)
    (owed,) = refunds_of(shop, order_id)
    assert (owed.tender, owed.state) == (Tender.CARD_TERMINAL, RefundState.PENDING)
    assert await run_due(shop.uow, FakePaymentGateway(), clock=shop.clock) == Round()

    for _ in range(2):  # a replayed pay-out answers the first: the card is refunded once
        await refunds.pay_out(
            shop.uow, shop.clerk, refund_id=owed.id, location_id=None, idempotency_key="t1",
            terminal=terminal,
        )  # fmt: skip
    (made,) = terminal.refunds
    assert (made.amount, made.reference) == (PRICES[0], approval.approval_code)
    (paid,) = refunds_of(shop, order_id)
    assert (paid.state, paid.provider_ref) == (RefundState.SUCCEEDED, made.approval_code)
    assert shop.state.orders[order_id].payment_status is PaymentStatus.PARTIALLY_REFUNDED


def test_allocation_goes_online_first_then_terminal_then_cash() -> None:
    def paid(i: int, tender: Tender, captured: int, refunded: int = 0) -> Payment:
        return Payment(i, 1, tender, captured, "EUR", PaymentState.CAPTURED,
                       captured=captured, refunded=refunded)  # fmt: skip

    tenders = [
        paid(1, Tender.CASH, 500),
        paid(2, Tender.POINTS, 300),
        paid(3, Tender.VOUCHER, 200),
        paid(4, Tender.CARD_TERMINAL, 400),
        paid(5, Tender.CARD, 600, refunded=100),
    ]
    owed = [RefundRecord(1, 1, 5, Tender.CARD, 200, "EUR", RefundState.FAILED, "r")]
    split = [(p.tender, n) for p, n in refunds.allocate(1_000, tenders, owed)]
    assert split == [(Tender.CARD, 300), (Tender.CARD_TERMINAL, 400), (Tender.CASH, 300)]
    assert refunds.allocate(10_000, tenders, owed)[-1][1] == 500  # never above what came in


# ---------------------------------------------------------------- never more than received

returns = st.lists(
    st.tuples(
        st.integers(0, 1),  # which line
        st.integers(1, 2),  # how many units
        st.sampled_from(["ok", "outage", "refused", "crash"]),  # what the provider does next
        st.booleans(),  # staff retry failed refunds afterwards
    ),
    min_size=1,
    max_size=8,
)


async def _random_returns(quantities: tuple[int, int], steps: list) -> None:
    shop = await small_shop()
    gateway = CrashAfterRefund()
    gateway.crash = False
    order_id, _ = await checkout(shop, gateway, lines=((0, quantities[0]), (1, quantities[1])))
    await hand_over(shop, gateway, order_id)
    payment = card(shop, order_id)
    assert payment.provider_ref is not None
    received = payment.captured
    for line, units, provider, retry in steps:
        try:
            await give_back(shop, order_id, {line: units})
        except DomainError:
            pass  # more than was bought: refused whole
        if provider == "outage":
            gateway.fail_next(PaymentErrorCode.PROVIDER_UNAVAILABLE)
        elif provider == "refused":
            gateway.fail_next(PaymentErrorCode.INVALID_REQUEST)
        gateway.crash = provider == "crash"
        try:
            await run_due(shop.uow, gateway, clock=shop.clock)
        except SystemExit:
            pass
        if retry:
            for r in refunds_of(shop, order_id):
                if r.state is RefundState.FAILED:
                    await refunds.retry_refund(
                        shop.uow, shop.owner, refund_id=r.id, idempotency_key=None
                    )
        shop.clock.advance(seconds=301)
        owed = refunds_of(shop, order_id)
        sent = sum(r.amount for r in gateway.refunds_of(payment.provider_ref))
        assert sum(r.amount for r in owed) <= received
        refunded = card(shop, order_id).refunded  # a crash leaves the provider ahead of us
        assert refunded <= sent <= received
        assert refunded == sum(r.amount for r in owed if r.state is RefundState.SUCCEEDED)
        assert shop.state.orders[order_id].refunded_total <= received
    # finally everything comes back and the provider answers: exactly what was paid goes back
    order = shop.state.orders[order_id]
    rest = {i: ln.quantity - ln.returned_quantity for i, ln in enumerate(order.lines)}
    if any(rest.values()):
        await give_back(shop, order_id, {i: q for i, q in rest.items() if q})
    for r in refunds_of(shop, order_id):
        if r.state is RefundState.FAILED:
            await refunds.retry_refund(shop.uow, shop.owner, refund_id=r.id, idempotency_key=None)
    gateway.crash = False
    for _ in range(len(steps) + 1):  # failures injected earlier may still be waiting
        shop.clock.advance(seconds=301)
        await run_due(shop.uow, gateway, clock=shop.clock)
        for r in refunds_of(shop, order_id):
            if r.state is RefundState.FAILED:
                await refunds.retry_refund(
                    shop.uow, shop.owner, refund_id=r.id, idempotency_key=None
                )
    assert sum(r.amount for r in gateway.refunds_of(payment.provider_ref)) == received
    assert card(shop, order_id).refunded == received
    assert shop.state.orders[order_id].payment_status is PaymentStatus.REFUNDED


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quantities=st.tuples(st.integers(1, 3), st.integers(1, 3)), steps=returns)
def test_random_partial_returns_never_refund_more_than_received(quantities, steps) -> None:
    asyncio.run(_random_returns(quantities, steps))
