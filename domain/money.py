"""Money as integer minor units plus an ISO 4217 currency code: never floats."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Minor-unit exponents that differ from 2 (ISO 4217); everything else has cents.
_EXPONENTS: dict[str, int] = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3}


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit."""
    return _EXPONENTS.get(currency.upper(), 2)


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in minor units (cents) of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int of minor units")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise ValueError(f"invalid currency code {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, quantity: int) -> Money:
        """This amount multiplied by a whole quantity."""
        return Money(self.amount * quantity, self.currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def to_decimal_string(self) -> str:
        """The amount as a decimal string in major units, e.g. 1999 EUR -> '19.99'."""
        exp = exponent(self.currency)
        value = Decimal(self.amount).scaleb(-exp)
        return f"{value:.{exp}f}"

    @classmethod
    def from_decimal_string(cls, text: str, currency: str) -> Money:
        """Parse '19.99' into minor units; more decimals than the currency has is an error."""
        exp = exponent(currency)
        value = Decimal(text.strip())
        if not value.is_finite():
            raise ValueError("amount must be a finite number")
        minor = value.scaleb(exp)
        if minor != minor.to_integral_value():
            raise ValueError(f"{currency} amounts have at most {exp} decimals")
        return cls(int(minor), currency.upper())
