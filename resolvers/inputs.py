"""Client input decoding that several areas share: decimal amounts and JSON shapes."""

from __future__ import annotations

from typing import Any

from domain.errors import CommonErrorCode, DomainError
from domain.money import Money


def decimal_money(value: str, currency: str, *, field: str, example: str) -> Money:
    """A decimal string in major units (``"4.90"``) as Money; INVALID on ``field`` otherwise."""
    try:
        return Money.from_decimal_string(value, currency.upper())
    except (ValueError, ArithmeticError):
        message = f"a decimal amount such as {example}"
        raise DomainError(CommonErrorCode.INVALID, message, field=field) from None


def json_shape(value: Any, shape: type[dict] | type[list], *, field: str) -> Any:  # type: ignore[type-arg]
    """``value`` when it is None or of ``shape`` (an object or a list); INVALID otherwise."""
    if value is not None and not isinstance(value, shape):
        kind = "an object" if shape is dict else "a list"
        raise DomainError(CommonErrorCode.INVALID, f"{field} is {kind}", field=field)
    return value
