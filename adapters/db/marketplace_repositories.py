"""Marketplace order links and owed calls in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from adapters.db import models as m
from domain.marketplaces.model import (
    ActionDraft,
    LinkState,
    MarketplaceOrderStatus,
    OrderLink,
    order_as_json,
    order_from_json,
)


def _link(row: m.MarketplaceOrder) -> OrderLink:
    return OrderLink(
        id=row.id,
        channel_id=row.channel_id,
        external_id=row.external_id,
        state=LinkState(row.state),
        marketplace_status=MarketplaceOrderStatus(row.marketplace_status),
        order=order_from_json(dict(row.data)),
        order_id=row.order_id,
        flag_code=row.flag_code,
        flag_reason=row.flag_reason,
    )


class TortoiseMarketplaceOrderRepository:
    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def link(
        self, channel_id: int, external_id: str, *, for_update: bool = False
    ) -> OrderLink | None:
        query = m.MarketplaceOrder.filter(channel_id=channel_id, external_id=external_id)
        query = query.using_db(self.conn)
        if for_update and self.conn.capabilities.dialect == "postgres":
            query = query.select_for_update()
        row = await query.first()
        return _link(row) if row else None

    async def link_of_order(self, order_id: int) -> OrderLink | None:
        row = await m.MarketplaceOrder.filter(order_id=order_id).using_db(self.conn).first()
        return _link(row) if row else None

    async def save_link(self, link: OrderLink) -> OrderLink:
        values = {
            "channel_id": link.channel_id,
            "external_id": link.external_id,
            "order_id": link.order_id,
            "state": link.state.value,
            "flag_code": link.flag_code,
            "flag_reason": link.flag_reason,
            "marketplace_status": link.marketplace_status.value,
            "data": order_as_json(link.order),
        }
        if link.id:
            await m.MarketplaceOrder.filter(id=link.id).using_db(self.conn).update(**values)
            return link
        row = await m.MarketplaceOrder.create(using_db=self.conn, **values)
        link.id = row.id
        return link

    async def owe(self, action: ActionDraft) -> bool:
        if await m.MarketplaceAction.filter(key=action.key).using_db(self.conn).exists():
            return False
        try:
            async with self.conn._in_transaction() as savepoint:  # a duplicate keeps the rest
                await m.MarketplaceAction.create(
                    using_db=savepoint,
                    channel_id=action.channel_id,
                    key=action.key,
                    kind=action.kind.value,
                    external_id=action.external_id,
                    payload=dict(action.payload),
                )
        except IntegrityError:
            return False
        return True

    async def variant_ids(self, skus: Sequence[str]) -> dict[str, int]:
        if not skus:
            return {}
        rows = (
            await m.Variant.filter(sku__in=list(skus)).using_db(self.conn).values_list("sku", "id")
        )
        return {str(sku): int(vid) for sku, vid in rows}
