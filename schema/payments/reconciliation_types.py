"""Types of the daily payment reconciliation: per channel and store, the tills, the provider's
side, and the mismatch list."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from domain.payments import reconciliation as rc
from domain.payments.model import TillSession
from schema.payments.types import PaymentTender
from schema.relay import to_global_id

ReconciliationMismatchKind = strawberry.enum(
    Enum("ReconciliationMismatchKind", {k.name: k.value for k in rc.MismatchKind}),  # type: ignore[misc]
    description="ORDER_WITHOUT_PAYMENT (incl. a lost webhook), PAYMENT_WITHOUT_ORDER, "
    "AMOUNT_DIFFERS, TILL_DIFFERENCE, REFUND_FAILED.",
)


def _gid(type_name: str, ident: int | None) -> strawberry.ID | None:
    return strawberry.ID(to_global_id(type_name, ident)) if ident is not None else None


@strawberry.type(description="Money of one tender in a scope (minor units).")
class ReconciliationTender:
    tender: PaymentTender  # type: ignore[valid-type]
    in_kind: bool = strawberry.field(description="Points or vouchers: no money moved.")
    payments: int
    amount: int = strawberry.field(description="What the tender was to pay.")
    received: int = strawberry.field(description="Captured or taken.")
    refunded: int


@strawberry.type(description="One channel at one store: orders placed, tenders and refunds.")
class ReconciliationScope:
    channel: str
    location_id: strawberry.ID | None
    currency: str
    orders: int
    orders_total: int
    tenders: list[ReconciliationTender]
    refunds_succeeded: int
    refunds_succeeded_count: int
    refunds_pending: int
    refunds_pending_count: int
    refunds_failed: int
    refunds_failed_count: int

    @classmethod
    def of(cls, s: rc.ScopeSummary) -> ReconciliationScope:
        r = s.refunds
        return cls(
            channel=s.channel,
            location_id=_gid("Location", s.location_id),
            currency=s.currency,
            orders=s.orders,
            orders_total=s.orders_total,
            tenders=[
                ReconciliationTender(
                    tender=PaymentTender(t.tender.value),
                    in_kind=t.in_kind,
                    payments=t.payments,
                    amount=t.amount,
                    received=t.received,
                    refunded=t.refunded,
                )
                for t in s.tenders
            ],
            refunds_succeeded=r.succeeded,
            refunds_succeeded_count=r.succeeded_count,
            refunds_pending=r.pending,
            refunds_pending_count=r.pending_count,
            refunds_failed=r.failed,
            refunds_failed_count=r.failed_count,
        )


@strawberry.type(description="A till session of the day: float, expected, counted, difference.")
class ReconciliationTill:
    id: strawberry.ID
    location_id: strawberry.ID
    opened_at: datetime
    closed_at: datetime | None
    opening_float: int
    expected: int | None
    counted: int | None
    difference: int | None

    @classmethod
    def of(cls, s: TillSession) -> ReconciliationTill:
        return cls(
            id=strawberry.ID(to_global_id("TillSession", s.id)),
            location_id=strawberry.ID(to_global_id("Location", s.location_id)),
            opened_at=s.opened_at,
            closed_at=s.closed_at,
            opening_float=s.opening_float,
            expected=s.expected,
            counted=s.counted,
            difference=s.difference,
        )


@strawberry.type(description="What the payment provider booked on the day (account-wide).")
class ReconciliationProvider:
    intents: int
    captured: int
    authorised: int
    charges: int
    refunds: int
    fees: int
    net: int
    payouts: int
    payout_ids: list[str]


@strawberry.type(description="Refused webhooks of the day, per reason.")
class WebhookRefusalCount:
    reason: str
    count: int


@strawberry.type(description="One disagreement, with the ids to look at.")
class ReconciliationMismatch:
    kind: ReconciliationMismatchKind  # type: ignore[valid-type]
    detail: str
    order_id: strawberry.ID | None
    payment_id: strawberry.ID | None
    refund_id: strawberry.ID | None
    till_session_id: strawberry.ID | None
    provider_ref: str | None
    expected: int | None
    actual: int | None


@strawberry.type(description="The day's payment reconciliation (amounts in minor units).")
class PaymentReconciliation:
    date: date
    timezone: str
    channel: str | None
    location_ids: list[strawberry.ID] | None
    clean: bool = strawberry.field(description="No mismatch.")
    scopes: list[ReconciliationScope]
    tills: list[ReconciliationTill]
    provider: ReconciliationProvider | None = strawberry.field(
        description="Null without a provider, and in a store-level report."
    )
    webhook_refusals: list[WebhookRefusalCount]
    mismatches: list[ReconciliationMismatch]

    @classmethod
    def of(cls, r: rc.Report) -> PaymentReconciliation:
        p = r.provider
        return cls(
            date=r.day,
            timezone=r.timezone,
            channel=r.channel,
            location_ids=[strawberry.ID(to_global_id("Location", i)) for i in r.location_ids]
            if r.location_ids is not None
            else None,
            clean=r.clean,
            scopes=[ReconciliationScope.of(s) for s in r.scopes],
            tills=[ReconciliationTill.of(s) for s in r.tills],
            provider=ReconciliationProvider(
                intents=p.intents,
                captured=p.captured,
                authorised=p.authorised,
                charges=p.charges,
                refunds=p.refunds,
                fees=p.fees,
                net=p.net,
                payouts=p.payouts,
                payout_ids=list(p.payout_ids),
            )
            if p is not None
            else None,
            webhook_refusals=[
                WebhookRefusalCount(reason=k, count=v) for k, v in r.refusals.items()
            ],
            mismatches=[
                ReconciliationMismatch(
                    kind=ReconciliationMismatchKind(m.kind.value),
                    detail=m.detail,
                    order_id=_gid("Order", m.order_id),
                    payment_id=_gid("Payment", m.payment_id),
                    refund_id=_gid("Refund", m.refund_id),
                    till_session_id=_gid("TillSession", m.till_session_id),
                    provider_ref=m.provider_ref,
                    expected=m.expected,
                    actual=m.actual,
                )
                for m in r.mismatches
            ],
        )
