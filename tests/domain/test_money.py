from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import Money, exponent

CURRENCIES = ["EUR", "USD", "JPY", "KWD"]


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12), currency=st.sampled_from(CURRENCIES)
)
def test_decimal_string_round_trip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    assert Money.from_decimal_string(money.to_decimal_string(), currency) == money


def test_two_decimal_currency_formats_cents() -> None:
    assert Money(1999, "EUR").to_decimal_string() == "19.99"
    assert Money(5, "EUR").to_decimal_string() == "0.05"
    assert Money.from_decimal_string("19.99", "eur") == Money(1999, "EUR")
    assert Money.from_decimal_string("19.9", "EUR") == Money(1990, "EUR")


def test_jpy_has_no_decimals() -> None:
    assert exponent("JPY") == 0
    assert Money(1500, "JPY").to_decimal_string() == "1500"
    assert Money.from_decimal_string("1500", "JPY") == Money(1500, "JPY")
    assert Money.from_decimal_string("1500.0", "JPY") == Money(1500, "JPY")


def test_three_decimal_currency() -> None:
    assert Money(1234, "KWD").to_decimal_string() == "1.234"


@pytest.mark.parametrize(
    ("text", "currency"), [("19.999", "EUR"), ("1500.5", "JPY"), ("0.0001", "KWD")]
)
def test_too_many_decimals_rejected(text: str, currency: str) -> None:
    with pytest.raises(ValueError, match="decimals"):
        Money.from_decimal_string(text, currency)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        Money.from_decimal_string(text, "EUR")


def test_amount_must_be_int_minor_units() -> None:
    with pytest.raises(TypeError):
        Money(Decimal("19.99"), "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")


def test_arithmetic_refuses_mixed_currencies() -> None:
    assert Money(100, "EUR") + Money(50, "EUR") == Money(150, "EUR")
    assert Money(100, "EUR").times(3) == Money(300, "EUR")
    with pytest.raises(ValueError, match="currency mismatch"):
        Money(100, "EUR") + Money(100, "USD")
