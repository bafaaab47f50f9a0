"""Till sales paid with several tenders (cash with change, the card terminal, points), the
clerk's till session they need, and closing a session with its expected cash — on the
in-memory shop."""

from __future__ import annotations

from dataclasses import replace

import pytest

from adapters.memory.shop import PRICES, STOCK, Shop, small_shop
from adapters.payments.terminal_fake import FakeCardTerminal
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.loyalty.services import adjust
from domain.members.presence import issue_presence_code
from domain.orders.model import Buyer
from domain.orders.pos import PosResult, TillSale, TillTender, pos_sale
from domain.orders.states import PaymentStatus
from domain.payments.model import Payment, PaymentState, RefundRecord, RefundState, Tender
from domain.payments.till import (
    close_session,
    open_session,
    session_report,
    session_reports,
)

PRICE = PRICES[0]  # one small shirt, tax included: the sale's total


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


@pytest.fixture
def terminal() -> FakeCardTerminal:
    return FakeCardTerminal()


def other_clerk(
    shop: Shop, *, location_id: int | None = None, role: Role = Role.CLERK
) -> Principal:
    where = shop.store_id if location_id is None else location_id
    return Principal(
        PrincipalKind.STAFF,
        subject=f"staff:{900 + len(role)}-{where}",
        role=role,
        location_ids=frozenset({where}),
    )


async def sell(
    shop: Shop,
    terminal: FakeCardTerminal,
    *tenders: TillTender,
    key: str | None = None,
    clerk: Principal | None = None,
    **extra: object,
) -> PosResult:
    sale = TillSale(
        location_id=shop.store_id,
        lines=[(shop.variant_ids[0], 1)],
        buyer=Buyer(),
        tenders=tenders,
        **extra,
    )
    return await pos_sale(
        shop.uow,
        clerk or shop.clerk,
        sale=sale,
        idempotency_key=key,
        clock=shop.clock,
        terminal=terminal,
    )


async def refused(coro: object) -> DomainError:
    with pytest.raises(DomainError) as error:
        await coro  # type: ignore[misc]
    return error.value


async def open_till(shop: Shop, opening_float: int = 10_000, clerk: Principal | None = None) -> int:
    opened = await open_session(
        shop.uow,
        clerk or shop.clerk,
        location_id=shop.store_id,
        opening_float=opening_float,
        idempotency_key=None,
        clock=shop.clock,
    )
    return opened.session_id


def payments(shop: Shop, order_id: int) -> dict[Tender, Payment]:
    return {p.tender: p for p in shop.state.payments.values() if p.order_id == order_id}


def nothing_sold(shop: Shop, terminal: FakeCardTerminal) -> None:
    assert shop.state.orders == {} and shop.state.payments == {}
    assert shop.stock(shop.variant_ids[0], shop.store_id).on_hand == STOCK["store"]
    charged = sum(c.amount for c in terminal.charges) - sum(r.amount for r in terminal.refunds)
    assert charged == 0


async def test_cash_and_points_pay_the_sale_and_the_change_is_given(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    session_id = await open_till(shop)
    ada = await shop.add_member()
    await adjust(shop.uow, shop.owner, member_id=ada, points=1000, reason="hi", clock=shop.clock)
    here, _ = await issue_presence_code(shop.uow, shop.member(ada), clock=shop.clock)

    done = await sell(
        shop,
        terminal,
        TillTender("POINTS"),
        TillTender("CASH", PRICE - 500, given=3000),  # 500 points pay 5.00
        member_code="000000000000",
        member_presence=here,
        points_to_redeem=500,
    )

    assert (done.change, done.currency) == (3000 - (PRICE - 500), "EUR")
    order = shop.state.orders[done.order_id]
    assert (order.payment_status, order.points_value) == (PaymentStatus.PAID, 500)
    paid = payments(shop, done.order_id)
    assert set(paid) == {Tender.POINTS, Tender.CASH}
    cash = paid[Tender.CASH]
    assert (cash.amount, cash.captured, cash.cash_given, cash.change) == (
        PRICE - 500,
        PRICE - 500,
        3000,
        done.change,
    )
    assert (cash.state, cash.till_session_id, cash.location_id) == (
        PaymentState.CAPTURED,
        session_id,
        shop.store_id,
    )
    assert (paid[Tender.POINTS].amount, paid[Tender.POINTS].state) == (500, PaymentState.CAPTURED)
    async with shop.uow() as uow:
        assert await uow.payments.cash_in_session(session_id) == (PRICE - 500, 0)


async def test_cash_needs_the_clerks_open_till_session(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    no_session = await refused(sell(shop, terminal, TillTender("CASH", PRICE)))
    assert (no_session.code, no_session.field) == ("TILL_SESSION_REQUIRED", "tenders.0.kind")

    theirs = await open_till(shop, clerk=other_clerk(shop))  # a colleague's drawer is not hers
    mine_closed = await open_till(shop)
    await close_session(
        shop.uow, shop.clerk, session_id=mine_closed, counted=10_000, clock=shop.clock
    )
    closed = await refused(sell(shop, terminal, TillTender("CASH", PRICE)))

    assert closed.code == "TILL_SESSION_REQUIRED" and theirs
    nothing_sold(shop, terminal)


async def test_a_declined_card_refuses_the_sale_and_loses_nothing(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    session_id = await open_till(shop)
    declined = await refused(  # the fake declines amounts ending in 13 cents
        sell(shop, terminal, TillTender("CASH", PRICE - 1013), TillTender("CARD_TERMINAL", 1013))
    )
    assert (declined.code, declined.field) == ("CARD_DECLINED", "tenders.1")

    second = await refused(  # two cards: the first, approved, is voided when the second fails
        sell(
            shop,
            terminal,
            TillTender("CARD_TERMINAL", PRICE - 1013),
            TillTender("CARD_TERMINAL", 1013),
        )
    )

    assert second.code == "CARD_DECLINED"
    assert [c.amount for c in terminal.charges] == [PRICE - 1013]
    assert [r.amount for r in terminal.refunds] == [PRICE - 1013]
    assert terminal.refunds[0].reference == terminal.charges[0].approval_code
    nothing_sold(shop, terminal)
    async with shop.uow() as uow:
        assert await uow.payments.cash_in_session(session_id) == (0, 0)


async def test_cash_and_a_card_split_the_sale_exactly(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    await open_till(shop)

    done = await sell(
        shop,
        terminal,
        TillTender("CASH", PRICE - 2000, given=PRICE - 2000 + 10),
        TillTender("CARD_TERMINAL", 2000),
    )

    assert done.change == 10
    paid = payments(shop, done.order_id)
    card = paid[Tender.CARD_TERMINAL]
    assert [(c.amount, c.approval_code) for c in terminal.charges] == [(2000, card.provider_ref)]
    assert (card.provider, card.amount, card.captured, card.till_session_id) == (
        "terminal",
        2000,
        2000,
        None,
    )
    assert paid[Tender.CASH].amount + card.amount == shop.state.orders[done.order_id].total


async def test_tenders_paying_less_or_more_than_the_sale_are_refused(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    await open_till(shop)

    short = await refused(
        sell(shop, terminal, TillTender("CASH", 1000), TillTender("CARD_TERMINAL", 1000))
    )
    over = await refused(
        sell(shop, terminal, TillTender("CASH", PRICE), TillTender("CARD_TERMINAL", 1000))
    )
    given_short = await refused(sell(shop, terminal, TillTender("CASH", PRICE, given=PRICE - 1)))
    no_tender = await refused(sell(shop, terminal))

    assert (short.code, short.field) == ("TENDER_SHORT", "tenders")
    assert (over.code, over.field) == ("TENDER_OVER", "tenders")
    assert (given_short.code, given_short.field) == ("INVALID", "tenders.0.given")
    assert (no_tender.code, no_tender.field) == ("REQUIRED", "tenders")
    assert terminal.charges == []  # refused before any card was charged
    nothing_sold(shop, terminal)


async def test_a_replayed_sale_charges_the_terminal_once(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    await open_till(shop)
    tenders = (TillTender("CASH", 990, given=1000), TillTender("CARD_TERMINAL", PRICE - 990))

    first = await sell(shop, terminal, *tenders, key="sale-1")
    again = await sell(shop, terminal, *tenders, key="sale-1")

    assert again == first and first.change == 10
    assert len(shop.state.orders) == 1 and len(terminal.charges) == 1
    assert len(shop.state.payments) == 2


async def test_a_sale_retried_after_a_lost_answer_gets_the_first_approval(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    """The terminal approved, then the sale's transaction was lost (a crash before commit): the
    retry with the same key finds the same approval, and the card is charged once."""
    tenders = (TillTender("CARD_TERMINAL", PRICE),)

    class Lost(Exception):
        pass

    async def lose(payment: Payment) -> Payment:
        raise Lost

    async with shop.uow() as uow:
        repo = type(uow.payments)
    original = repo.add
    repo.add = lambda self, payment: lose(payment)  # type: ignore[method-assign,assignment]
    try:
        with pytest.raises(Lost):
            await sell(shop, terminal, *tenders, key="sale-2")
    finally:
        repo.add = original  # type: ignore[method-assign]
    assert shop.state.orders == {} and shop.state.payments == {}

    done = await sell(shop, terminal, *tenders, key="sale-2")

    assert len(terminal.charges) == 1 and len(terminal.calls) == 2
    assert payments(shop, done.order_id)[Tender.CARD_TERMINAL].provider_ref == (
        terminal.charges[0].approval_code
    )


async def test_the_single_tender_of_older_clients_still_pays_the_rest(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    sale = TillSale(
        location_id=shop.store_id, lines=[(shop.variant_ids[0], 1)], buyer=Buyer(), tender="CASH"
    )
    cash = await pos_sale(
        shop.uow, shop.clerk, sale=sale, idempotency_key=None, clock=shop.clock, terminal=terminal
    )
    card = await pos_sale(
        shop.uow,
        shop.clerk,
        sale=replace(sale, tender="CARD_TERMINAL"),
        idempotency_key=None,
        clock=shop.clock,
        terminal=terminal,
    )

    cash_row = payments(shop, cash.order_id)[Tender.CASH]
    assert (cash_row.amount, cash_row.cash_given, cash_row.till_session_id) == (PRICE, PRICE, None)
    card_row = payments(shop, card.order_id)[Tender.CARD_TERMINAL]
    assert (card_row.amount, card_row.provider_ref) == (PRICE, terminal.charges[0].approval_code)
    assert cash.change == card.change == 0


async def test_closing_a_session_counts_cash_taken_and_paid_out(
    shop: Shop, terminal: FakeCardTerminal
) -> None:
    session_id = await open_till(shop, 10_000)
    done = await sell(shop, terminal, TillTender("CASH", PRICE, given=5000))
    async with shop.uow() as uow:  # a return paid back 10.00 in cash at this till
        cash = payments(shop, done.order_id)[Tender.CASH]
        await uow.payments.add_refund(
            RefundRecord(
                id=0,
                order_id=done.order_id,
                payment_id=cash.id,
                tender=Tender.CASH,
                amount=1000,
                currency="EUR",
                state=RefundState.SUCCEEDED,
                reason="return",
                location_id=shop.store_id,
                till_session_id=session_id,
            )
        )

    closed = await close_session(
        shop.uow, shop.clerk, session_id=session_id, counted=11_900, clock=shop.clock
    )
    again = await close_session(
        shop.uow, shop.clerk, session_id=session_id, counted=11_900, clock=shop.clock
    )
    other_count = await refused(
        close_session(shop.uow, shop.clerk, session_id=session_id, counted=1, clock=shop.clock)
    )

    assert again == closed and other_count.code == "TILL_SESSION_CLOSED"
    report = await session_report(shop.uow, shop.clerk, session_id)
    assert report is not None
    expected = 10_000 + PRICE - 1000
    assert (report.cash_taken, report.cash_paid_out) == (PRICE, 1000)
    assert (report.session.expected, report.session.counted) == (expected, 11_900)
    assert report.session.difference == 11_900 - expected
    assert report.session.closed_at == shop.clock.now()
    late = await refused(sell(shop, terminal, TillTender("CASH", PRICE)))
    assert late.code == "TILL_SESSION_REQUIRED"  # a closed session takes no cash


async def test_one_open_session_per_clerk_and_store(shop: Shop) -> None:
    first = await open_till(shop)
    twice = await refused(open_till(shop))
    colleague = await open_till(shop, clerk=other_clerk(shop))
    await close_session(shop.uow, shop.clerk, session_id=first, counted=10_000, clock=shop.clock)
    second = await open_till(shop)

    assert twice.code == "TILL_SESSION_OPEN"
    assert len({first, colleague, second}) == 3
    mine = await session_reports(
        shop.uow, shop.clerk, location_id=shop.store_id, before_id=None, limit=10
    )
    assert [r.session.id for r in mine] == [second, colleague, first]


async def test_only_the_stores_staff_open_read_and_close_its_sessions(shop: Shop) -> None:
    session_id = await open_till(shop)
    elsewhere = other_clerk(shop, location_id=shop.warehouse_id)
    colleague = other_clerk(shop)
    manager = other_clerk(shop, role=Role.STORE_MANAGER)

    opened_elsewhere = await refused(open_till(shop, clerk=elsewhere))
    closed_elsewhere = await refused(
        close_session(shop.uow, elsewhere, session_id=session_id, counted=0, clock=shop.clock)
    )
    closed_by_colleague = await refused(
        close_session(shop.uow, colleague, session_id=session_id, counted=0, clock=shop.clock)
    )
    listed_elsewhere = await refused(
        session_reports(shop.uow, elsewhere, location_id=shop.store_id, before_id=None, limit=5)
    )

    assert opened_elsewhere.code == "PERMISSION_DENIED"
    assert closed_elsewhere.code == "NOT_FOUND"
    assert closed_by_colleague.code == "PERMISSION_DENIED"
    assert listed_elsewhere.code == "PERMISSION_DENIED"
    assert await session_report(shop.uow, elsewhere, session_id) is None
    assert await session_report(shop.uow, colleague, session_id) is not None
    await close_session(shop.uow, manager, session_id=session_id, counted=0, clock=shop.clock)
    assert shop.state.till_sessions[session_id].closed_at is not None


async def test_the_test_terminal_replays_a_key_and_refuses_it_with_other_arguments() -> None:
    terminal = FakeCardTerminal()
    charge = {"location_id": 1, "currency": "EUR", "reference": "till:1"}

    first = await terminal.charge(amount=2000, idempotency_key="k1", **charge)
    again = await terminal.charge(amount=2000, idempotency_key="k1", **charge)
    conflict = await refused(terminal.charge(amount=2100, idempotency_key="k1", **charge))
    declined = await refused(terminal.charge(amount=1013, idempotency_key="k2", **charge))
    terminal.declines = lambda amount: False
    still = await refused(terminal.charge(amount=1013, idempotency_key="k2", **charge))
    too_much = await refused(
        terminal.refund(
            location_id=1,
            amount=2001,
            currency="EUR",
            reference=first.approval_code,
            idempotency_key="r1",
        )
    )

    assert again == first and [c.amount for c in terminal.charges] == [2000]
    assert conflict.code == "PAYMENT_IDEMPOTENCY_CONFLICT"
    assert declined.code == still.code == "CARD_DECLINED"  # the first answer, replayed
    assert too_much.code == "REFUND_EXCEEDS_RECEIVED" and terminal.refunds == []
