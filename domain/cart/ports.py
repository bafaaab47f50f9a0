"""What cart use cases need from storage: the cart repository, in domain types only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.orders.model import Buyer, Delivery


@dataclass(frozen=True, slots=True)
class CartLine:
    """One line of a stored cart."""

    variant_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Cart:
    """A stored cart: what the shopper chose, before pricing."""

    id: int
    token: str
    channel_handle: str
    buyer: Buyer
    delivery: Delivery
    discount_codes: tuple[str, ...]
    expires_at: datetime
    order_id: int | None
    lines: tuple[CartLine, ...]
    member_id: int | None = None
    points_to_redeem: int = 0


@dataclass(frozen=True, slots=True)
class NewCart:
    """A cart to create."""

    token: str
    channel_id: int
    buyer: Buyer
    delivery: Delivery
    expires_at: datetime
    member_id: int | None = None


class CartRepository(Protocol):
    """Carts and their lines; ``save`` writes the cart's own fields (not its lines)."""

    async def create(self, cart: NewCart) -> Cart: ...
    async def get(self, token: str, *, for_update: bool = False) -> Cart | None: ...
    async def set_lines(self, cart_id: int, lines: Sequence[CartLine]) -> None: ...
    async def save(self, cart: Cart) -> None: ...
