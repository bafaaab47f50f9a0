"""Provider news applied to payments: one verified webhook event, exactly once, forward only.

The web layer verifies the signature and reads the provider's JSON into a ``ProviderEvent``
(typed values only); this module applies it. In ONE unit of work the event id is recorded
(``first_seen``) and its effect written, so a second delivery of the same event changes nothing
(it is answered as a duplicate and counted as ``REPLAYED``). Effects:

- an intent's news (succeeded, amount_capturable_updated, payment_failed, canceled,
  requires_action, processing) goes through ``services.apply_intent``, which only moves a payment
  forward: an older event arriving after a newer one changes nothing;
- an intent we do not know is attached to the order its ``order_ref`` names when that order's
  online payment has no provider reference yet, for the same amount and currency (a lost answer
  recovered by the webhook); otherwise it is counted as ``UNKNOWN_INTENT`` for reconciliation;
- a refund's final word settles the ``RefundRecord`` of that provider refund through the refund
  flow (``refunds.refund_answered``: SUCCEEDED, with the payment's ``refunded`` and the order's
  payment status following, or FAILED; never back from SUCCEEDED); an unknown refund is counted.

"In doubt" (the event's state ranks the same as ours but differs: FAILED against
REQUIRES_ACTION, a retry racing an older failure) the intent is read again from the provider
before the transaction opens: one call at most, bounded by ``refetch_timeout``; when the provider
does not answer in time the event is not recorded and ``PaymentError(retryable)`` tells the
caller to answer 503, so the provider delivers it again later.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum

from domain.payments.model import (
    RANK,
    SETTLED,
    Payment,
    PaymentError,
    PaymentErrorCode,
    PaymentIntent,
    Refund,
    RefundStatus,
    state_of,
)
from domain.payments.ports import PaymentGateway
from domain.payments.refunds import refund_answered
from domain.payments.services import apply_intent, online_payment
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

WHO = "system:webhook"
REFETCH_TIMEOUT_SECONDS = 2.0
REPLAYED = "REPLAYED"
UNKNOWN_INTENT = "UNKNOWN_INTENT"
UNKNOWN_REFUND = "UNKNOWN_REFUND"
INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.amount_capturable_updated",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.processing",
    }
)
REFUND_EVENTS = frozenset({"refund.updated", "refund.failed", "charge.refunded"})


class Outcome(StrEnum):
    """What applying one event did (the webhook's answer says it)."""

    APPLIED = "applied"  # a known payment or refund took the news (forward only)
    ATTACHED = "attached"  # an unknown intent joined its order's unattached payment
    DUPLICATE = "duplicate"  # this event id was applied before: nothing changed
    UNKNOWN_INTENT = "unknown_intent"  # no payment of ours: counted, for reconciliation
    UNKNOWN_REFUND = "unknown_refund"
    IGNORED = "ignored"  # a type we do not act on (recorded, so a replay is still a replay)


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One verified provider event: an intent's news, refunds' news, or neither."""

    id: str
    type: str
    intent: PaymentIntent | None = None
    refunds: tuple[Refund, ...] = ()


def day_of(clock: Clock) -> str:
    """The UTC day refusals are counted under (YYYY-MM-DD)."""
    return clock.now().astimezone(UTC).date().isoformat()


async def count_refused(
    uow_factory: UnitOfWorkFactory, *, provider: str, reason: str, clock: Clock
) -> None:
    """Count a refused delivery (forged, stale, malformed...) under today's date."""
    async with uow_factory() as uow:
        await uow.payments.count_refusal(provider, reason, day=day_of(clock))


async def apply_event(
    uow_factory: UnitOfWorkFactory,
    event: ProviderEvent,
    *,
    provider: str,
    clock: Clock,
    gateway: PaymentGateway | None = None,
    refetch_timeout: float = REFETCH_TIMEOUT_SECONDS,
) -> Outcome:
    """Apply one verified event exactly once: its id and its effect in one unit of work."""
    intent = event.intent
    if intent is not None and gateway is not None and await _in_doubt(uow_factory, intent):
        intent = await _refetch(gateway, intent.id, bound=refetch_timeout)
    async with uow_factory() as uow:
        if not await uow.payments.first_seen(provider, event.id, event.type):
            await uow.payments.count_refusal(provider, REPLAYED, day=day_of(clock))
            return Outcome.DUPLICATE
        if intent is not None:
            return await _intent_news(uow, intent, provider=provider, clock=clock)
        if event.refunds:
            return await _refund_news(uow, event.refunds, provider=provider, clock=clock)
        return Outcome.IGNORED


async def apply_intent_news(
    uow_factory: UnitOfWorkFactory, intent: PaymentIntent, *, provider: str, clock: Clock
) -> Outcome:
    """Apply an intent as the provider reports it now (no event id: the test-mode page)."""
    async with uow_factory() as uow:
        return await _intent_news(uow, intent, provider=provider, clock=clock)


async def _intent_news(
    uow: UnitOfWork, intent: PaymentIntent, *, provider: str, clock: Clock
) -> Outcome:
    found = await uow.payments.by_provider_ref(intent.id)
    outcome = Outcome.APPLIED
    if found is not None:  # locks as the hand-over and the cancel take them: order, payment
        await uow.orders.get(found.order_id, for_update=True)
        payment = await uow.payments.get(found.id, for_update=True)
    else:
        payment = await _attachable(uow, intent)
        outcome = Outcome.ATTACHED
    if payment is None:
        await uow.payments.count_refusal(provider, UNKNOWN_INTENT, day=day_of(clock))
        return Outcome.UNKNOWN_INTENT
    await apply_intent(uow, payment, intent, who=WHO, at=clock.now())
    return outcome


async def _attachable(uow: UnitOfWork, intent: PaymentIntent) -> Payment | None:
    """The unattached online payment of the order the intent names, for the same money."""
    ref = (intent.order_ref or "").strip()
    if not ref.isdigit() or len(ref) > 18:
        return None
    order = await uow.orders.get(int(ref), for_update=True)
    if order is None:
        return None
    payment = online_payment(await uow.payments.for_order(order.id, for_update=True))
    if (
        payment is None
        or payment.provider_ref is not None
        or payment.amount != intent.amount
        or payment.currency.lower() != intent.currency.lower()
    ):
        return None
    return payment


async def _refund_news(
    uow: UnitOfWork, refunds: tuple[Refund, ...], *, provider: str, clock: Clock
) -> Outcome:
    outcome = Outcome.APPLIED
    for refund in refunds:
        record = await uow.payments.refund_by_provider_ref(refund.id)
        if record is None:
            await uow.payments.count_refusal(provider, UNKNOWN_REFUND, day=day_of(clock))
            outcome = Outcome.UNKNOWN_REFUND
            continue
        succeeded = _REFUND_FINAL.get(refund.status)
        if succeeded is None:
            continue  # pending, requires_action: the final word comes later
        await refund_answered(
            uow, record, succeeded=succeeded, reference=refund.id,
            error=f"provider: refund {refund.status.value}", who=WHO,
        )  # fmt: skip
    return outcome


_REFUND_FINAL = {
    RefundStatus.SUCCEEDED: True,
    RefundStatus.FAILED: False,
    RefundStatus.CANCELED: False,
}


async def _in_doubt(uow_factory: UnitOfWorkFactory, intent: PaymentIntent) -> bool:
    """The event's state ranks the same as the stored one but differs: which came last?"""
    async with uow_factory() as uow:
        payment = await uow.payments.by_provider_ref(intent.id)
    if payment is None or payment.state in SETTLED:
        return False
    news = state_of(intent)
    return news is not payment.state and RANK[news] == RANK[payment.state]


async def _refetch(gateway: PaymentGateway, intent_id: str, *, bound: float) -> PaymentIntent:
    """The intent as the provider has it now: one call, bounded; no answer means retry later."""
    try:
        async with asyncio.timeout(bound):
            return await gateway.retrieve(intent_id)
    except TimeoutError:
        raise PaymentError(
            PaymentErrorCode.PROVIDER_UNAVAILABLE,
            f"the provider did not answer within {bound} s",
            retryable=True,
        ) from None
