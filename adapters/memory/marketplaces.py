"""Marketplace order links and owed calls in memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from adapters.memory.state import MemoryState
from domain.marketplaces.model import ActionDraft, OrderLink


class InMemoryMarketplaceOrderRepository:
    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def link(
        self, channel_id: int, external_id: str, *, for_update: bool = False
    ) -> OrderLink | None:
        found = self.state.marketplace_links.get((channel_id, external_id))
        return replace(found) if found else None

    async def link_of_order(self, order_id: int) -> OrderLink | None:
        return next(
            (replace(x) for x in self.state.marketplace_links.values() if x.order_id == order_id),
            None,
        )

    async def save_link(self, link: OrderLink) -> OrderLink:
        saved = replace(link, id=link.id or self.state.next_id("marketplace_link"))
        self.state.marketplace_links[(link.channel_id, link.external_id)] = saved
        return replace(saved)

    async def owe(self, action: ActionDraft) -> bool:
        if action.key in self.state.marketplace_actions:
            return False
        self.state.marketplace_actions[action.key] = action
        return True

    async def variant_ids(self, skus: Sequence[str]) -> dict[str, int]:
        wanted = set(skus)
        return {v.sku: v.id for v in self.state.variants.values() if v.sku in wanted}
