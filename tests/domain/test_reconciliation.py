"""The daily reconciliation on the in-memory fakes and the fake provider: a clean day, a lost
webhook seen as ORDER_WITHOUT_PAYMENT until the recovery stores the intent, a till difference,
a failed refund, money without an order, amounts that differ, the day's boundaries in the
brand's timezone, and a store manager's narrower view."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.memory.clock import FixedClock
from adapters.memory.reconciliation import reconciliation_queries
from adapters.memory.shop import PRICES, Shop, small_shop
from adapters.payments.fake import FakePaymentGateway
from domain.cart import services as cart
from domain.cart.services import DeliveryChoice
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.orders.checkout import PaidCheckout, checkout_complete
from domain.orders.model import Address, Buyer
from domain.orders.states import PaymentStatus
from domain.payments import services as payments
from domain.payments.model import (
    CaptureMethod,
    PaymentMethod,
    PaymentRequest,
    PaymentState,
    RefundRecord,
    RefundState,
    Tender,
    TillSession,
)
from domain.payments.reconciliation import (
    MismatchKind,
    Report,
    daily_report,
    day_window,
    report_for,
)

TZ = "Europe/Paris"
DAY = date(2025, 6, 2)  # the shop's clock: 2025-06-02 09:30 UTC, 11:30 in Paris
GUEST = Principal(PrincipalKind.ANONYMOUS)


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


@pytest.fixture
def gateway(shop: Shop) -> FakePaymentGateway:
    return FakePaymentGateway(now=shop.clock.now)


async def _checkout(
    shop: Shop,
    gateway: FakePaymentGateway,
    *,
    token: str | None = "pm_card_visa",
    method: str = "SHIP",
    key: str = "k",
) -> PaidCheckout:
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], 1)],
        buyer=Buyer(email="ada@example.com"),
        delivery=DeliveryChoice(method=method, location_id=shop.store_id)
        if method == "PICKUP"
        else DeliveryChoice(method=method, address=Address(city="Lyon")),
        clock=shop.clock,
    )
    return await checkout_complete(
        shop.uow,
        GUEST,
        token=view.cart.token,
        idempotency_key=key,
        clock=shop.clock,
        payment=PaymentRequest(Tender.CARD, token),
        gateway=gateway,
        provider="test",
    )


async def _report(shop: Shop, gateway: FakePaymentGateway | None, **kw: object) -> Report:
    return await daily_report(
        shop.uow,
        gateway,
        queries=reconciliation_queries(shop.state),
        day=kw.pop("day", DAY),  # type: ignore[arg-type]
        tz=TZ,
        **kw,  # type: ignore[arg-type]
    )


def _kinds(report: Report) -> list[MismatchKind]:
    return [m.kind for m in report.mismatches]


async def test_a_clean_day_has_no_mismatch_and_adds_up(
    shop: Shop, gateway: FakePaymentGateway
) -> None:
    shipped = await _checkout(shop, gateway, key="a")
    held = await _checkout(shop, gateway, method="PICKUP", key="b")
    report = await _report(shop, gateway)

    assert report.clean, report.mismatches
    sent = shop.state.orders[shipped.result.order_id]
    kept = shop.state.orders[held.result.order_id]
    # per channel and store: the shipped order from the warehouse, the pick-up at the store
    assert [(s.channel, s.location_id, s.orders, s.orders_total) for s in report.scopes] == [
        ("web", shop.warehouse_id, 1, sent.total),
        ("web", shop.store_id, 1, kept.total),
    ]
    (shipped_card,) = report.scopes[0].tenders
    (held_card,) = report.scopes[1].tenders
    assert (shipped_card.tender, shipped_card.amount, shipped_card.received) == (
        Tender.CARD,
        sent.total,
        sent.total,
    )
    assert (held_card.amount, held_card.received) == (PRICES[0], 0)  # captured at hand-over
    provider = report.provider
    assert provider is not None
    assert (provider.intents, provider.captured, provider.authorised) == (2, sent.total, PRICES[0])
    fee = round(sent.total * 1.5 / 100) + 25
    assert (provider.charges, provider.fees, provider.net) == (sent.total, fee, sent.total - fee)


async def test_a_lost_webhook_shows_until_the_recovery_stores_the_intent(
    shop: Shop, gateway: FakePaymentGateway
) -> None:
    done = await _checkout(shop, gateway, token=None)  # intent opened, not yet paid
    (payment,) = [p for p in shop.state.payments.values() if p.tender is Tender.CARD]
    assert payment.state is PaymentState.PENDING and payment.provider_ref
    assert (await _report(shop, gateway)).clean

    # the shopper pays; the provider's webhook never arrives
    await gateway.confirm(
        payment.provider_ref, idempotency_key="browser", payment_method_token="pm_card_visa"
    )
    report = await _report(shop, gateway)
    (lost,) = report.mismatches
    assert lost.kind is MismatchKind.ORDER_WITHOUT_PAYMENT
    assert (lost.order_id, lost.payment_id, lost.provider_ref) == (
        done.result.order_id,
        payment.id,
        payment.provider_ref,
    )
    assert (lost.expected, lost.actual) == (payment.amount, 0)

    intent = await gateway.retrieve(payment.provider_ref)  # what the recovery step does
    await payments.store_intent(shop.uow, payment.id, intent, clock=shop.clock)
    assert shop.state.orders[done.result.order_id].payment_status is PaymentStatus.PAID
    assert (await _report(shop, gateway)).clean


async def test_a_till_difference_is_reported(shop: Shop) -> None:
    now = shop.clock.now()
    async with shop.uow() as uow:
        even = await uow.payments.open_session(
            TillSession(0, shop.store_id, "staff:9", 10_000, "EUR", opened_at=now)
        )
        short = await uow.payments.open_session(
            TillSession(0, shop.store_id, "staff:9", 10_000, "EUR", opened_at=now)
        )
        closed = now + timedelta(hours=8)
        await uow.payments.save_session(
            replace(even, closed_at=closed, expected=12_000, counted=12_000)
        )
        await uow.payments.save_session(
            replace(short, closed_at=closed, expected=12_000, counted=11_500)
        )
    report = await _report(shop, None)
    (diff,) = report.mismatches
    assert diff.kind is MismatchKind.TILL_DIFFERENCE
    assert (diff.till_session_id, diff.expected, diff.actual) == (short.id, 12_000, 11_500)
    assert [s.difference for s in report.tills] == [0, -500]
    assert report.provider is None


async def test_a_failed_refund_is_reported(shop: Shop, gateway: FakePaymentGateway) -> None:
    done = await _checkout(shop, gateway)
    (payment,) = shop.state.payments.values()
    async with shop.uow() as uow:
        refund = await uow.payments.add_refund(
            RefundRecord(
                id=0,
                order_id=done.result.order_id,
                payment_id=payment.id,
                tender=Tender.CARD,
                amount=1000,
                currency="EUR",
                state=RefundState.FAILED,
                reason="return",
                last_error="card expired",
            )
        )
    report = await _report(shop, gateway)
    (failed,) = report.mismatches
    assert failed.kind is MismatchKind.REFUND_FAILED
    assert (failed.refund_id, failed.order_id, failed.payment_id) == (
        refund.id,
        done.result.order_id,
        payment.id,
    )
    (web,) = report.scopes
    assert (web.refunds.failed, web.refunds.failed_count, web.refunds.succeeded) == (1000, 1, 0)


async def test_money_taken_for_no_order_of_ours(shop: Shop, gateway: FakePaymentGateway) -> None:
    stray = await gateway.create_intent(
        order_ref="999999",
        amount=4200,
        currency="eur",
        method=PaymentMethod.CARD,
        capture=CaptureMethod.AUTOMATIC,
        idempotency_key="elsewhere",
        payment_method_token="pm_card_visa",
        confirm=True,
    )
    report = await _report(shop, gateway)
    (orphan,) = report.mismatches
    assert orphan.kind is MismatchKind.PAYMENT_WITHOUT_ORDER
    assert (orphan.provider_ref, orphan.actual, orphan.order_id) == (stray.id, 4200, None)


async def test_amounts_that_differ(shop: Shop, gateway: FakePaymentGateway) -> None:
    done = await _checkout(shop, gateway)
    (payment,) = shop.state.payments.values()
    shop.state.payments[payment.id] = replace(payment, captured=payment.captured - 100)
    order = shop.state.orders[done.result.order_id]
    shop.state.orders[order.id] = replace(order, total=order.total + 1)
    report = await _report(shop, gateway)
    assert _kinds(report) == [MismatchKind.AMOUNT_DIFFERS, MismatchKind.AMOUNT_DIFFERS]
    total, captured = report.mismatches
    assert (total.order_id, total.expected, total.actual) == (
        order.id,
        order.total + 1,
        order.total,
    )
    assert (captured.payment_id, captured.expected, captured.actual) == (
        payment.id,
        payment.captured,
        payment.captured - 100,
    )


async def test_an_order_paid_with_no_payment_behind_it(
    shop: Shop, gateway: FakePaymentGateway
) -> None:
    done = await _checkout(shop, gateway, token=None)
    order = shop.state.orders[done.result.order_id]
    shop.state.orders[order.id] = replace(order, payment_status=PaymentStatus.PAID)
    report = await _report(shop, None)
    (paid,) = report.mismatches
    assert (paid.kind, paid.order_id) == (MismatchKind.ORDER_WITHOUT_PAYMENT, order.id)


async def test_the_day_is_the_brands_calendar_day() -> None:
    late = FixedClock(datetime(2025, 6, 1, 21, 30, tzinfo=UTC))  # 23:30 in Paris, June 1st
    shop = await small_shop(late)
    gateway = FakePaymentGateway(now=late.now)
    await _checkout(shop, gateway, key="june-1")
    late.at = datetime(2025, 6, 1, 22, 30, tzinfo=UTC)  # 00:30 in Paris, June 2nd
    await _checkout(shop, gateway, key="june-2")
    first = await _report(shop, gateway, day=date(2025, 6, 1))
    second = await _report(shop, gateway, day=date(2025, 6, 2))
    assert [s.orders for s in first.scopes] == [1] and [s.orders for s in second.scopes] == [1]
    assert first.provider and first.provider.intents == 1
    assert second.provider and second.provider.intents == 1
    assert day_window(date(2025, 3, 30), TZ)[1] - day_window(date(2025, 3, 30), TZ)[0] == (
        timedelta(hours=23)
    )


async def test_a_store_manager_sees_their_store_without_provider_figures(
    shop: Shop, gateway: FakePaymentGateway
) -> None:
    await _checkout(shop, gateway, method="PICKUP", key="store")
    await _checkout(shop, gateway, key="warehouse")  # shipped from the warehouse
    manager = Principal(
        PrincipalKind.STAFF,
        subject="staff:77",
        role=Role.STORE_MANAGER,
        location_ids=frozenset({shop.store_id}),
    )
    queries = reconciliation_queries(shop.state)
    mine = await report_for(
        shop.uow, gateway, queries, manager, day=DAY, tz=TZ, channel=None, location_id=None
    )
    assert [(s.location_id, s.orders) for s in mine.scopes] == [(shop.store_id, 1)]
    assert mine.provider is None
    brand = await report_for(
        shop.uow, gateway, queries, shop.owner, day=DAY, tz=TZ, channel=None, location_id=None
    )
    assert sum(s.orders for s in brand.scopes) == 2 and brand.provider is not None
    with pytest.raises(DomainError) as refused:
        await report_for(
            shop.uow,
            gateway,
            queries,
            manager,
            day=DAY,
            tz=TZ,
            channel=None,
            location_id=shop.warehouse_id,
        )
    assert refused.value.code == "PERMISSION_DENIED"
    with pytest.raises(DomainError):
        await report_for(
            shop.uow, gateway, queries, shop.clerk, day=DAY, tz=TZ, channel=None, location_id=None
        )
