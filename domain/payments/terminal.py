"""The card terminal port: a card presented at a store's till, charged (or refunded) there.

Contract, for every implementation:

- Amounts are positive integers in minor units; currencies upper- or lower-case ISO codes.
- ``idempotency_key`` makes a call happen once: the same key with the same arguments answers the
  first result (an approval, or the same decline) and moves no money again; the same key with
  other arguments is refused (``PAYMENT_IDEMPOTENCY_CONFLICT``).
- A declined card raises ``PaymentError(CARD_DECLINED)`` (``decline_code`` says why); a terminal
  that cannot be reached raises ``PAYMENT_PROVIDER_UNAVAILABLE`` (``retryable``).
- ``reference`` names what is paid (``till:<location>``, an order) on the terminal's receipt.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

PROVIDER = "terminal"  # Payment.provider of a card paid at the terminal


@dataclass(frozen=True, slots=True)
class TerminalApproval:
    """The terminal said yes: its approval code and the card it read."""

    approval_code: str
    last4: str
    brand: str


class CardTerminal(Protocol):
    """A store's card terminal seen through the domain's types."""

    async def charge(
        self,
        *,
        location_id: int,
        amount: int,
        currency: str,
        reference: str,
        idempotency_key: str,
    ) -> TerminalApproval:
        """Charge the card presented at the location's terminal."""
        ...

    async def refund(
        self,
        *,
        location_id: int,
        amount: int,
        currency: str,
        reference: str,
        idempotency_key: str,
    ) -> TerminalApproval:
        """Pay ``amount`` back to a card at the terminal (``reference``: the approval refunded)."""
        ...


def terminal_key(base: str, *, tender: int, amount: int) -> str:
    """The key of one terminal tender of a sale: the sale's own key (``base``), the tender's
    position and its amount, so a retried sale charges once and a changed split is a new charge."""
    digest = hashlib.sha256(base.encode()).hexdigest()[:40]
    return f"till:{digest}:terminal:{tender}:{amount}"
