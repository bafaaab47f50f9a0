"""Typed results of a payment provider: intents, refunds, next actions and error codes.

Amounts are integers in the currency's minor units (cents); currencies are lower-case ISO 4217
codes as providers spell them (``"eur"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


class BalanceType(StrEnum):
    """What moved a provider balance: a charge, a refund, a payout to the bank, or anything
    else (fees adjusted, disputes) as an adjustment."""

    CHARGE = "charge"
    REFUND = "refund"
    PAYOUT = "payout"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class BalanceTransaction:
    """One movement of the brand's balance at the provider: ``amount`` gross (negative for
    refunds and payouts), ``fee`` the provider's fee, ``net`` what reaches the balance."""

    id: str
    type: BalanceType
    amount: int
    fee: int
    net: int
    currency: str
    source_id: str | None  # the charge, refund or payout that moved it
    available_on: datetime
    created: datetime
    payout_id: str | None = None  # the payout that carried it to the bank, when known


class Tender(StrEnum):
    """How (part of) an order was paid: online through the provider, at the till, or in kind."""

    CARD = "CARD"  # online card, through the provider
    ALIPAY = "ALIPAY"
    WECHAT_PAY = "WECHAT_PAY"
    CASH = "CASH"  # at the till, into the clerk's till session
    CARD_TERMINAL = "CARD_TERMINAL"  # a card at the store's terminal
    POINTS = "POINTS"  # the member's points, at their money value
    VOUCHER = "VOUCHER"  # a member voucher, at its face value
    MARKETPLACE = "MARKETPLACE"  # collected by the marketplace, refunded through it

    @property
    def online(self) -> bool:
        """Paid through the payment provider."""
        return self in ONLINE_TENDERS

    @property
    def in_kind(self) -> bool:
        """Points or a voucher: no money moves, the member's balance does."""
        return self in (Tender.POINTS, Tender.VOUCHER)


ONLINE_TENDERS = frozenset({Tender.CARD, Tender.ALIPAY, Tender.WECHAT_PAY})
PROVIDER_METHOD = {
    Tender.CARD: PaymentMethod.CARD,
    Tender.ALIPAY: PaymentMethod.ALIPAY,
    Tender.WECHAT_PAY: PaymentMethod.WECHAT_PAY,
}


class PaymentState(StrEnum):
    """One tender's payment, as this system knows it; it only moves forward (``RANK``)."""

    PENDING = "PENDING"  # created, no provider answer yet (or the answer was lost)
    REQUIRES_ACTION = "REQUIRES_ACTION"  # the shopper must act: redirect, QR code, 3-D Secure
    FAILED = "FAILED"  # declined: the shopper may try again with another method
    AUTHORISED = "AUTHORISED"  # held, to be captured at hand-over
    CAPTURED = "CAPTURED"  # money received (what was captured: ``captured``)
    CANCELLED = "CANCELLED"  # released before any money was taken


RANK = {
    PaymentState.PENDING: 0,
    PaymentState.REQUIRES_ACTION: 1,
    PaymentState.FAILED: 1,  # a new attempt may follow a failure
    PaymentState.AUTHORISED: 2,
    PaymentState.CAPTURED: 3,
    PaymentState.CANCELLED: 3,
}
SETTLED = frozenset({PaymentState.CAPTURED, PaymentState.CANCELLED})


def state_of(intent: PaymentIntent) -> PaymentState:
    """What a provider's intent means for our payment."""
    return {
        IntentStatus.REQUIRES_PAYMENT_METHOD: (
            PaymentState.FAILED if intent.decline_code else PaymentState.PENDING
        ),
        IntentStatus.REQUIRES_CONFIRMATION: PaymentState.PENDING,
        IntentStatus.REQUIRES_ACTION: PaymentState.REQUIRES_ACTION,
        IntentStatus.PROCESSING: PaymentState.PENDING,
        IntentStatus.REQUIRES_CAPTURE: PaymentState.AUTHORISED,
        IntentStatus.SUCCEEDED: PaymentState.CAPTURED,
        IntentStatus.CANCELED: PaymentState.CANCELLED,
    }[intent.status]


@dataclass(frozen=True, slots=True)
class Payment:
    """One tender of one order: its amount, where it stands, what was received and refunded.

    ``amount`` is what this tender is to pay; ``captured`` what was received (a manual capture
    may take less than was authorised: what was handed over); ``refunded`` what went back.
    """

    id: int
    order_id: int
    tender: Tender
    amount: int
    currency: str
    state: PaymentState
    capture_method: CaptureMethod | None = None
    provider: str | None = None  # "stripe", "test", "terminal", None for cash and in kind
    provider_ref: str | None = None  # the provider's intent id, the terminal's approval
    client_secret: str | None = None  # for the buyer's client only
    next_action: NextAction | None = None
    authorised: int = 0
    captured: int = 0
    refunded: int = 0
    decline_code: str | None = None
    attempt: int = 0  # confirmation attempts, part of their idempotency keys
    location_id: int | None = None
    till_session_id: int | None = None
    cash_given: int = 0  # cash: what the buyer handed over; change = cash_given - amount

    @property
    def refundable(self) -> int:
        """Received and not yet sent back."""
        return self.captured - self.refunded

    @property
    def change(self) -> int:
        """Cash given back at the till."""
        return max(0, self.cash_given - self.amount) if self.tender is Tender.CASH else 0


class RefundState(StrEnum):
    """A refund of one tender: PENDING until the money went back (or failed, retryable)."""

    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class RefundRecord:
    """Money owed back through one tender, for a return, a cancelled part or a cancel."""

    id: int
    order_id: int
    payment_id: int
    tender: Tender
    amount: int
    currency: str
    state: RefundState
    reason: str
    return_id: int | None = None
    provider_ref: str | None = None
    attempts: int = 0
    last_error: str | None = None
    location_id: int | None = None  # cash refunds: the till that paid out
    till_session_id: int | None = None
    updated_at: datetime | None = None  # the last change (as stored): retries back off from it


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    """How the shopper pays online at checkout; a token pays at once (card), none answers
    a client secret (and a next action for Alipay / WeChat Pay)."""

    tender: Tender
    payment_method_token: str | None = None
    return_url: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentStep:
    """What the client does next about an order's online payment."""

    payment_id: int
    state: PaymentState
    amount: int
    currency: str
    client_secret: str | None
    next_action: NextAction | None
    decline_code: str | None = None


@dataclass(frozen=True, slots=True)
class TillSession:
    """A clerk's cash drawer from opening (with a float) to closing (with a count)."""

    id: int
    location_id: int
    staff_subject: str
    opening_float: int
    currency: str
    opened_at: datetime
    closed_at: datetime | None = None
    counted: int | None = None
    expected: int | None = None  # float + cash taken - cash paid out, at closing

    @property
    def difference(self) -> int | None:
        """Counted minus expected once closed (negative: cash is missing)."""
        if self.counted is None or self.expected is None:
            return None
        return self.counted - self.expected
