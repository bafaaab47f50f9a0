"""``FakeCardTerminal``: the card terminal port in memory — a TEST terminal, no card is charged.

It approves every charge except those its decline rule refuses (by default amounts ending in
13 cents, e.g. 10.13, as a test card number would), answers an idempotency key's replay with the
first answer (approval or decline) and refuses the key with other arguments. Refunds never go
above what was charged under the approval they name. ``charges`` and ``refunds`` list what
moved; ``calls`` every call (operation, key), replays included.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from domain.payments.model import PaymentError, PaymentErrorCode
from domain.payments.terminal import TerminalApproval

LABEL = "TEST TERMINAL (no card is charged)"


def declines_13_cents(amount: int) -> bool:
    """The default decline rule: amounts ending in 13 cents are declined."""
    return amount % 100 == 13


@dataclass(frozen=True, slots=True)
class TerminalCall:
    """One charge or refund the fake terminal made."""

    operation: str
    location_id: int
    amount: int
    currency: str
    reference: str
    approval_code: str


class FakeCardTerminal:
    """In-memory ``CardTerminal`` for tests and the demo (clearly a test terminal: ``label``)."""

    label = LABEL

    def __init__(self, declines: Callable[[int], bool] = declines_13_cents) -> None:
        self.declines = declines
        self.charges: list[TerminalCall] = []
        self.refunds: list[TerminalCall] = []
        self.calls: list[tuple[str, str]] = []
        self._answers: dict[str, tuple[tuple[object, ...], TerminalApproval | PaymentError]] = {}
        self._numbers = itertools.count(1)

    async def charge(
        self,
        *,
        location_id: int,
        amount: int,
        currency: str,
        reference: str,
        idempotency_key: str,
    ) -> TerminalApproval:
        """Approve (or decline by the rule), once per key."""
        args = ("charge", location_id, amount, currency.upper(), reference)
        return self._once(idempotency_key, args, lambda: self._charge(args))

    async def refund(
        self,
        *,
        location_id: int,
        amount: int,
        currency: str,
        reference: str,
        idempotency_key: str,
    ) -> TerminalApproval:
        """Pay back at most what was charged under the approval ``reference``, once per key."""
        args = ("refund", location_id, amount, currency.upper(), reference)
        return self._once(idempotency_key, args, lambda: self._refund(args))

    def _once(
        self,
        key: str,
        args: tuple[object, ...],
        act: Callable[[], TerminalApproval],
    ) -> TerminalApproval:
        self.calls.append((str(args[0]), key))
        if not key:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "an idempotency key is required")
        found = self._answers.get(key)
        if found is not None:
            first_args, answer = found
            if first_args != args:
                raise PaymentError(
                    PaymentErrorCode.IDEMPOTENCY_CONFLICT, "key reused with other arguments"
                )
            if isinstance(answer, PaymentError):
                raise answer
            return answer
        try:
            approval = act()
        except PaymentError as error:
            if error.payment_code is PaymentErrorCode.CARD_DECLINED:
                self._answers[key] = (args, error)
            raise
        self._answers[key] = (args, approval)
        return approval

    def _charge(self, args: tuple[object, ...]) -> TerminalApproval:
        _, location_id, amount, currency, reference = args
        assert isinstance(amount, int) and isinstance(location_id, int)
        if amount <= 0:
            raise PaymentError(PaymentErrorCode.INVALID_REQUEST, "amount must be positive")
        if self.declines(amount):
            raise PaymentError(
                PaymentErrorCode.CARD_DECLINED, "the card was declined", decline_code="declined"
            )
        approval = TerminalApproval(f"TEST-{next(self._numbers):06d}", "4242", "visa")
        self.charges.append(
            TerminalCall(
                "charge", location_id, amount, str(currency), str(reference), approval.approval_code
            )
        )
        return approval

    def _refund(self, args: tuple[object, ...]) -> TerminalApproval:
        _, location_id, amount, currency, reference = args
        assert isinstance(amount, int) and isinstance(location_id, int)
        charged = sum(c.amount for c in self.charges if c.approval_code == reference)
        refunded = sum(r.amount for r in self.refunds if r.reference == reference)
        if amount <= 0 or amount > charged - refunded:
            raise PaymentError(
                PaymentErrorCode.REFUND_EXCEEDS_RECEIVED, "more than was charged on that card"
            )
        approval = TerminalApproval(f"TEST-R{next(self._numbers):06d}", "4242", "visa")
        self.refunds.append(
            TerminalCall(
                "refund", location_id, amount, str(currency), str(reference), approval.approval_code
            )
        )
        return approval
