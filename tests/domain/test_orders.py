"""Order state machine, totals with tax, and refunds for returns."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.money import Money
from domain.orders.model import refund_for_return, totals
from domain.orders.states import (
    Actor,
    FulfilmentMethod,
    PaymentStatus,
    check_fulfilment,
    check_order,
    check_payment,
)
from domain.orders.states import FulfilmentStatus as F
from domain.orders.states import OrderStatus as S


def transition(current, target, actor=Actor.STAFF):
    return check_order(current, target, actor=actor)


def test_transitions_follow_the_life_of_an_order():
    assert transition(S.PLACED, S.READY_FOR_PICKUP) is S.READY_FOR_PICKUP
    assert transition(S.READY_FOR_PICKUP, S.PICKED_UP) is S.PICKED_UP
    with pytest.raises(DomainError) as error:
        transition(S.FULFILLED, S.CANCELLED)
    assert error.value.code == "INVALID_STATE"
    for final in (S.CANCELLED, S.RETURNED):
        for target in S:
            with pytest.raises(DomainError):
                transition(final, target)


def test_the_table_says_who_may_make_each_move():
    assert transition(S.PLACED, S.CANCELLED, Actor.BUYER) is S.CANCELLED
    assert transition(S.READY_FOR_PICKUP, S.CANCELLED, Actor.SYSTEM) is S.CANCELLED
    for target in (S.PAID, S.READY_FOR_PICKUP, S.FULFILLED, S.COMPLETED):
        with pytest.raises(DomainError) as error:
            transition(S.PLACED, target, Actor.BUYER)
        assert error.value.code == "PERMISSION_DENIED"


def test_payment_moves_forward_only():
    assert check_payment(PaymentStatus.PENDING, PaymentStatus.PAID, actor=Actor.STAFF) == "PAID"
    paid, due = PaymentStatus.PAID, PaymentStatus.REFUND_DUE
    assert check_payment(paid, due, actor=Actor.BUYER) is due
    for current, target in ((due, paid), (paid, PaymentStatus.PENDING)):
        with pytest.raises(DomainError) as error:
            check_payment(current, target, actor=Actor.STAFF)
        assert error.value.code == "INVALID_STATE"


def test_fulfilment_moves_depend_on_the_method():
    pickup, ship = FulfilmentMethod.PICKUP, FulfilmentMethod.SHIP
    assert check_fulfilment(F.OPEN, F.READY, method=pickup) is F.READY
    assert check_fulfilment(F.OPEN, F.SHIPPED, method=ship) is F.SHIPPED
    for current, target, method in (
        (F.OPEN, F.READY, ship),
        (F.OPEN, F.PICKED_UP, pickup),
        (F.OPEN, F.DELIVERED, ship),
        (F.HANDED_OVER, F.DELIVERED, FulfilmentMethod.IN_STORE),
    ):
        with pytest.raises(DomainError) as error:
            check_fulfilment(current, target, method=method)
        assert (error.value.code, error.value.field) == ("INVALID_STATE", "fulfilmentId")


@given(amount=st.integers(0, 10**7), rate=st.integers(0, 3000), inclusive=st.booleans())
def test_tax_is_inside_or_on_top_and_never_negative(amount, rate, inclusive):
    t = totals(
        subtotal=Money(amount, "EUR"),
        delivery=Money(490, "EUR"),
        tax_rate_bp=rate,
        prices_include_tax=inclusive,
    )
    assert t.tax.amount >= 0
    if inclusive:
        assert t.total.amount == amount + 490 and t.tax.amount <= t.total.amount
    else:
        assert t.total.amount == amount + 490 + t.tax.amount


def test_twenty_percent_inclusive_tax_of_120_is_20():
    t = totals(
        subtotal=Money(12000, "EUR"),
        delivery=Money(0, "EUR"),
        tax_rate_bp=2000,
        prices_include_tax=True,
    )
    assert t.tax == Money(2000, "EUR")


def test_refund_is_refused_beyond_what_was_ordered():
    lines = {1: Money(1000, "EUR"), 2: Money(1500, "EUR")}
    assert refund_for_return(
        line_totals=lines, returned={1: 1, 2: 2}, ordered={1: 1, 2: 3}, already_returned={}
    ) == Money(2000, "EUR")
    with pytest.raises(DomainError) as error:
        refund_for_return(
            line_totals=lines, returned={2: 2}, ordered={1: 1, 2: 3}, already_returned={2: 2}
        )
    assert error.value.code == "RETURN_EXCEEDS_ORDERED"


@given(paid=st.integers(0, 10**6), quantity=st.integers(1, 12), data=st.data())
def test_partial_refunds_add_up_to_exactly_what_the_line_cost(paid, quantity, data):
    parts, left = [], quantity
    while left:
        part = data.draw(st.integers(1, left))
        parts.append(part)
        left -= part
    refunded, before = 0, 0
    for part in parts:
        refund = refund_for_return(
            line_totals={7: Money(paid, "EUR")},
            returned={7: part},
            ordered={7: quantity},
            already_returned={7: before},
        )
        refunded += refund.amount
        before += part
    assert refunded == paid
