"""Which payment gateway a process uses: Stripe when a secret key is set; otherwise, outside
production, a labelled test mode (the in-memory fake: test cards, simulated Alipay and WeChat
Pay); otherwise none (online payment is refused with a clear userError)."""

from __future__ import annotations

import logging

from adapters.payments.fake import FakePaymentGateway
from adapters.settings import Settings
from domain.payments.ports import PaymentGateway

log = logging.getLogger("o2o.payments")
TEST_MODE = "test"


def payment_gateway(settings: Settings) -> tuple[PaymentGateway | None, str]:
    """The gateway and the provider's name stored on payments ("stripe", "test", "")."""
    if settings.stripe_secret_key:
        # the Stripe SDK (~100 ms and several MB at start) only where payments use it
        from adapters.payments.stripe import StripePaymentGateway

        stripe = StripePaymentGateway.from_settings(settings)
        if stripe is not None:
            return stripe, "stripe"
    if settings.payments_test_mode:
        log.warning(
            "payments: TEST MODE (no STRIPE_SECRET_KEY): no money moves; test card tokens "
            "pm_card_visa (pays), pm_card_declined, pm_card_3ds; Alipay/WeChat Pay are "
            "completed at %s/test-payments/<intent id>",
            settings.public_base_url,
        )
        return FakePaymentGateway(public_base_url=settings.public_base_url), TEST_MODE
    return None, ""
