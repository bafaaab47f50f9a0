"""Typed results of a payment provider: intents, refunds, next actions and error codes.

Amounts are integers in the currency's minor units (cents); currencies are lower-case ISO 4217
codes as providers spell them (``"eur"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.errors import DomainError


class PaymentMethod(StrEnum):
    """How the shopper pays online."""

    CARD = "card"
    ALIPAY = "alipay"
    WECHAT_PAY = "wechat_pay"


class CaptureMethod(StrEnum):
    """Automatic: charged at confirmation (shipped goods). Manual: authorised, captured later."""

    AUTOMATIC = "automatic"
    MANUAL = "manual"


class IntentStatus(StrEnum):
    """A payment intent's state, as the provider reports it."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class RefundStatus(StrEnum):
    """A refund's state."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REQUIRES_ACTION = "requires_action"


class PaymentErrorCode(StrEnum):
    """Stable codes of payment errors."""

    CARD_DECLINED = "CARD_DECLINED"
    INVALID_REQUEST = "INVALID_REQUEST"
    INVALID_STATE = "PAYMENT_INVALID_STATE"
    AMOUNT_EXCEEDS_AUTHORISED = "AMOUNT_EXCEEDS_AUTHORISED"
    REFUND_EXCEEDS_RECEIVED = "REFUND_EXCEEDS_RECEIVED"
    IDEMPOTENCY_CONFLICT = "PAYMENT_IDEMPOTENCY_CONFLICT"
    RATE_LIMITED = "PAYMENT_RATE_LIMITED"
    PROVIDER_UNAVAILABLE = "PAYMENT_PROVIDER_UNAVAILABLE"
    AUTHENTICATION_FAILED = "PAYMENT_PROVIDER_AUTHENTICATION"
    NOT_FOUND = "PAYMENT_NOT_FOUND"


class PaymentError(DomainError):
    """A payment call was refused; ``retryable`` says whether the same call may succeed later."""

    def __init__(
        self,
        code: PaymentErrorCode,
        message: str,
        *,
        retryable: bool = False,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(code, message, field="payment")
        self.payment_code = code
        self.retryable = retryable
        self.decline_code = decline_code


@dataclass(frozen=True, slots=True)
class RedirectAction:
    """The shopper is sent to ``url`` (Alipay, 3-D Secure), then back to ``return_url``."""

    url: str
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class QrCodeAction:
    """The shopper scans ``data`` (WeChat Pay); ``image_url`` is a rendered code when given."""

    data: str
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class SdkAction:
    """The provider's client SDK must act (``kind`` names what, e.g. three_d_secure_redirect)."""

    kind: str


NextAction = RedirectAction | QrCodeAction | SdkAction


@dataclass(frozen=True, slots=True)
class PaymentIntent:
    """One payment attempt at the provider, as last read."""

    id: str
    status: IntentStatus
    amount: int
    currency: str
    capture_method: CaptureMethod
    client_secret: str | None
    next_action: NextAction | None
    amount_capturable: int
    amount_received: int
    order_ref: str | None = None
    decline_code: str | None = None
    method: PaymentMethod | None = None

    @property
    def authorised(self) -> bool:
        """Money is held and waits for a capture."""
        return self.status is IntentStatus.REQUIRES_CAPTURE

    @property
    def paid(self) -> bool:
        """Money was received."""
        return self.status is IntentStatus.SUCCEEDED


@dataclass(frozen=True, slots=True)
class Refund:
    """Money sent back on one intent."""

    id: str
    intent_id: str
    amount: int
    currency: str
    status: RefundStatus
