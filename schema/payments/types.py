"""Payment types: what checkout answers about paying, an order's payments per tender and its
refunds, the next action a wallet needs, and the payment inputs."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import strawberry

from domain.errors import CommonErrorCode, DomainError
from domain.money import Money
from domain.orders import model as om
from domain.orders.states import PaymentStatus
from domain.payments import model as pm
from schema.common import MoneyV2, UserError

if TYPE_CHECKING:
    from schema.orders.types import Order
from schema.relay import to_global_id

PaymentTender = strawberry.enum(
    Enum("PaymentTender", {t.name: t.value for t in pm.Tender}),  # type: ignore[misc]
    description="How (part of) an order is paid: online, at the till, or in kind.",
)
PaymentState = strawberry.enum(
    Enum("PaymentState", {s.name: s.value for s in pm.PaymentState}),  # type: ignore[misc]
    description="Where one tender's payment stands; it only moves forward.",
)
RefundState = strawberry.enum(
    Enum("RefundState", {s.name: s.value for s in pm.RefundState}),  # type: ignore[misc]
    description="PENDING until the money went back; FAILED stays visible and retryable.",
)


@strawberry.enum(description="Paying online at checkout.")
class OnlinePaymentMethod(Enum):
    CARD = "CARD"
    ALIPAY = "ALIPAY"
    WECHAT_PAY = "WECHAT_PAY"


@strawberry.enum(description="What the shopper must do to finish paying.")
class NextActionType(Enum):
    REDIRECT = "REDIRECT"  # open url (Alipay, 3-D Secure), come back to returnUrl
    QR_CODE = "QR_CODE"  # show qrCodeData for the shopper to scan (WeChat Pay)
    SDK = "SDK"  # the provider's client SDK acts with the client secret


@strawberry.type(description="A step the shopper takes to finish paying.")
class PaymentNextAction:
    type: NextActionType
    url: str | None = None
    return_url: str | None = None
    qr_code_data: str | None = None
    qr_code_image_url: str | None = None
    sdk_action: str | None = None

    @classmethod
    def of(cls, action: pm.NextAction | None) -> PaymentNextAction | None:
        if isinstance(action, pm.RedirectAction):
            return cls(type=NextActionType.REDIRECT, url=action.url, return_url=action.return_url)
        if isinstance(action, pm.QrCodeAction):
            return cls(
                type=NextActionType.QR_CODE,
                qr_code_data=action.data,
                qr_code_image_url=action.image_url,
            )
        if isinstance(action, pm.SdkAction):
            return cls(type=NextActionType.SDK, sdk_action=action.kind)
        return None


@strawberry.type(description="The order's online payment, as the paying client needs it.")
class CheckoutPayment:
    id: strawberry.ID
    state: PaymentState  # type: ignore[valid-type]
    amount: MoneyV2
    client_secret: str | None = strawberry.field(
        description="For the provider's client SDK (Stripe.js) of the buyer who checked out."
    )
    next_action: PaymentNextAction | None = strawberry.field(
        description="Set when state is REQUIRES_ACTION: redirect, QR code or SDK step."
    )
    decline_code: str | None = strawberry.field(
        description="Why the last attempt was declined (state FAILED): try another method."
    )

    @classmethod
    def of(cls, step: pm.PaymentStep) -> CheckoutPayment:
        return cls(
            id=strawberry.ID(to_global_id("Payment", step.payment_id)),
            state=PaymentState(step.state.value),
            amount=MoneyV2.of(Money(step.amount, step.currency)),
            client_secret=step.client_secret,
            next_action=PaymentNextAction.of(step.next_action),
            decline_code=step.decline_code,
        )


@strawberry.type(description="One tender of an order: what it pays, received, refunded.")
class OrderPayment:
    id: strawberry.ID
    tender: PaymentTender  # type: ignore[valid-type]
    state: PaymentState  # type: ignore[valid-type]
    amount: MoneyV2
    authorised: MoneyV2
    captured: MoneyV2 = strawberry.field(description="Received (in kind: spent).")
    refunded: MoneyV2
    change: MoneyV2 = strawberry.field(description="Cash given back at the till.")
    capture_method: str | None
    provider: str | None
    provider_reference: str | None = strawberry.field(
        description="Staff: the provider's intent id or the terminal's approval."
    )

    @classmethod
    def of(cls, p: pm.Payment) -> OrderPayment:
        def money(amount: int) -> MoneyV2:
            return MoneyV2.of(Money(amount, p.currency))

        return cls(
            id=strawberry.ID(to_global_id("Payment", p.id)),
            tender=PaymentTender(p.tender.value),
            state=PaymentState(p.state.value),
            amount=money(p.amount),
            authorised=money(p.authorised),
            captured=money(p.captured),
            refunded=money(p.refunded),
            change=money(p.change),
            capture_method=p.capture_method.value.upper() if p.capture_method else None,
            provider=p.provider,
            provider_reference=p.provider_ref,
        )


@strawberry.type(description="Money owed back through one tender.")
class OrderRefund:
    id: strawberry.ID
    tender: PaymentTender  # type: ignore[valid-type]
    state: RefundState  # type: ignore[valid-type]
    amount: MoneyV2
    reason: str
    return_id: strawberry.ID | None
    attempts: int
    last_error: str | None = strawberry.field(description="Staff: why the last attempt failed.")

    @classmethod
    def of(cls, r: pm.RefundRecord) -> OrderRefund:
        return cls(
            id=strawberry.ID(to_global_id("Refund", r.id)),
            tender=PaymentTender(r.tender.value),
            state=RefundState(r.state.value),
            amount=MoneyV2.of(Money(r.amount, r.currency)),
            reason=r.reason,
            return_id=strawberry.ID(to_global_id("OrderReturn", r.return_id))
            if r.return_id
            else None,
            attempts=r.attempts,
            last_error=r.last_error,
        )


@strawberry.input(description="Paying online at checkout.")
class CheckoutPaymentInput:
    method: OnlinePaymentMethod
    payment_method_token: str | None = strawberry.field(
        default=None,
        description="A card's payment method from the provider's client SDK (pm_...): the "
        "card is charged (or authorised) at once. Without it the answer has a clientSecret.",
    )
    return_url: str | None = strawberry.field(
        default=None, description="Where a redirect (Alipay, 3-D Secure) comes back to."
    )

    def request(self) -> pm.PaymentRequest:
        token = (self.payment_method_token or "").strip() or None
        url = (self.return_url or "").strip() or None
        if token is not None and (len(token) > 255 or not token.isascii()):
            raise DomainError(
                CommonErrorCode.INVALID,
                "a payment method token is at most 255 characters",
                field="payment.paymentMethodToken",
            )
        if url is not None and (len(url) > 2048 or urlsplit(url).scheme not in ("https", "http")):
            raise DomainError(
                CommonErrorCode.INVALID,
                "returnUrl must be an http(s) address of at most 2048 characters",
                field="payment.returnUrl",
            )
        return pm.PaymentRequest(pm.Tender(self.method.value), token, url)


def next_step(order: om.Order, step: pm.PaymentStep | None) -> str:
    """What the client does next about paying, in one word."""
    if order.payment_status in (PaymentStatus.PAID, PaymentStatus.AUTHORISED):
        return "NONE"
    if step is None:
        return "PAY_AT_PICKUP_OR_DELIVERY"
    return {
        pm.PaymentState.REQUIRES_ACTION: "NEXT_ACTION",
        pm.PaymentState.FAILED: "RETRY_PAYMENT",
        pm.PaymentState.PENDING: "CONFIRM_WITH_CLIENT_SECRET"
        if step.client_secret
        else "RETRY_PAYMENT",
    }.get(step.state, "NONE")


@strawberry.type
class CheckoutPaymentPayload:
    order: Annotated[Order, strawberry.lazy("schema.orders.types")] | None = None
    payment: CheckoutPayment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
