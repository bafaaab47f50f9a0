"""Idempotency keys for provider calls, derived from the order and the operation.

The same order and operation always give the same key, so a retry (by the SDK, by a worker after
a crash, by a double click) can never charge or refund twice.
"""

from __future__ import annotations

from enum import StrEnum


class PaymentOperation(StrEnum):
    """The provider calls that change money."""

    INTENT = "intent"
    CONFIRM = "confirm"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"


_NEEDS_PART = {PaymentOperation.CAPTURE, PaymentOperation.REFUND}


def idempotency_key(
    order_id: int | str, operation: PaymentOperation, *, part: int | str = ""
) -> str:
    """``order:<id>:<operation>[:<part>]``; captures and refunds must name which one (``part``)."""
    order = str(order_id).strip()
    if not order or ":" in order:
        raise ValueError(f"order id {order_id!r} cannot be part of an idempotency key")
    piece = str(part).strip()
    if ":" in piece:
        raise ValueError(f"part {part!r} cannot contain ':'")
    if operation in _NEEDS_PART and not piece:
        raise ValueError(f"a {operation} key needs its part (capture number or return id)")
    key = f"order:{order}:{operation}"
    return f"{key}:{piece}" if piece else key
