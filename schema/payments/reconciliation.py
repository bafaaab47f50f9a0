"""The daily payment reconciliation for staff (``paymentReconciliation``), merged into Query."""

from __future__ import annotations

import strawberry

from resolvers import reconciliation as resolve
from schema.payments.reconciliation_types import PaymentReconciliation


@strawberry.type
class ReconciliationQuery:
    payment_reconciliation: PaymentReconciliation = strawberry.field(
        resolver=resolve.payment_reconciliation,
        description="Staff: the day's payment reconciliation (owners and admins brand-wide; a "
        "store manager their stores, without the provider's account-wide figures).",
    )
