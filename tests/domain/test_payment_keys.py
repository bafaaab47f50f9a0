"""Idempotency keys for payment calls: derived from the order and the operation, nothing else."""

from __future__ import annotations

import pytest

from domain.payments.keys import PaymentOperation, idempotency_key
from domain.payments.model import IntentStatus, PaymentError, PaymentErrorCode


def test_keys_name_the_order_and_the_operation() -> None:
    assert idempotency_key(42, PaymentOperation.INTENT) == "order:42:intent"
    assert idempotency_key("42", PaymentOperation.CANCEL) == "order:42:cancel"
    assert idempotency_key(42, PaymentOperation.CAPTURE, part=1) == "order:42:capture:1"
    assert idempotency_key(42, PaymentOperation.REFUND, part="r17") == "order:42:refund:r17"


def test_same_inputs_same_key_different_inputs_different_keys() -> None:
    keys = {
        idempotency_key(order, op, part=part)
        for order in (1, 2)
        for op, part in (
            (PaymentOperation.INTENT, ""),
            (PaymentOperation.CONFIRM, ""),
            (PaymentOperation.CAPTURE, 1),
            (PaymentOperation.CAPTURE, 2),
            (PaymentOperation.REFUND, 1),
        )
    }
    assert len(keys) == 10
    assert idempotency_key(7, PaymentOperation.REFUND, part=3) == idempotency_key(
        "7", PaymentOperation.REFUND, part="3"
    )


@pytest.mark.parametrize(
    ("order", "op", "part"),
    [
        ("", PaymentOperation.INTENT, ""),
        ("4:2", PaymentOperation.INTENT, ""),
        (42, PaymentOperation.CAPTURE, ""),
        (42, PaymentOperation.REFUND, ""),
        (42, PaymentOperation.REFUND, "a:b"),
    ],
)
def test_ambiguous_keys_are_refused(order: object, op: PaymentOperation, part: str) -> None:
    with pytest.raises(ValueError):
        idempotency_key(order, op, part=part)  # type: ignore[arg-type]


def test_payment_error_is_a_domain_error_with_a_stable_code() -> None:
    err = PaymentError(PaymentErrorCode.CARD_DECLINED, "declined", decline_code="generic_decline")
    assert err.code == "CARD_DECLINED" and err.field == "payment" and not err.retryable
    assert IntentStatus("requires_capture") is IntentStatus.REQUIRES_CAPTURE
