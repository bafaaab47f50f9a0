"""The cart port in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from adapters.memory.state import MemoryState
from domain.cart.ports import Cart, CartLine, NewCart


class InMemoryCartRepository:
    """Carts and their lines in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _touch(self, cart_id: int) -> None:
        self.state.cart_updated[cart_id] = self.state.next_id("cart_update")

    async def create(self, cart: NewCart) -> Cart:
        if any(c.token == cart.token for c in self.state.carts.values()):
            raise ValueError("cart token is taken")
        channel = self.state.channels[cart.channel_id]
        stored = Cart(
            id=self.state.next_id("cart"),
            token=cart.token,
            channel_handle=channel.handle,
            buyer=cart.buyer,
            delivery=cart.delivery,
            discount_codes=(),
            expires_at=cart.expires_at,
            order_id=None,
            lines=(),
            member_id=cart.member_id,
        )
        self.state.carts[stored.id] = stored
        self.state.cart_channels[stored.id] = cart.channel_id
        self._touch(stored.id)
        return stored

    async def get(self, token: str, *, for_update: bool = False) -> Cart | None:
        return next((c for c in self.state.carts.values() if c.token == token), None)

    async def set_lines(self, cart_id: int, lines: Sequence[CartLine]) -> None:
        self.state.carts[cart_id] = replace(self.state.carts[cart_id], lines=tuple(lines))
        self._touch(cart_id)

    async def save(self, cart: Cart) -> None:
        stored = self.state.carts[cart.id]
        self.state.carts[cart.id] = replace(cart, lines=stored.lines, token=stored.token)
        self._touch(cart.id)
