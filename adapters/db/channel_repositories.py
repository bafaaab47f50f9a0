"""Tortoise implementation of the channels port: locations, channels, who serves whom."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from adapters.db import catalog_reads, convert
from adapters.db import models as m
from domain.channels.model import Channel, ChannelDraft, Location, LocationDraft

RowT = TypeVar("RowT", bound=Model)

# ChannelDraft's names for the channel table's columns that are named otherwise.
_CHANNEL_COLUMNS = {
    "share_percent": "allocation_share_percent",
    "buffer": "allocation_buffer",
    "store_location_id": "store_id",
}


def _location_columns(draft: LocationDraft) -> dict[str, Any]:
    """The location columns a draft sets (None means 'leave as is')."""
    columns = {k: v for k, v in asdict(draft).items() if v is not None}
    if "kind" in columns:
        columns["kind"] = columns["kind"].upper()
    return columns


def _channel_columns(draft: ChannelDraft) -> dict[str, Any]:
    """The channel columns a draft sets; its serving locations are rows of another table."""
    columns = {
        _CHANNEL_COLUMNS.get(k, k): v
        for k, v in asdict(draft).items()
        if v is not None and k != "location_ids"
    }
    for key in ("kind", "currency"):
        if key in columns:
            columns[key] = columns[key].upper()
    return columns


class TortoiseLocationRepository:
    """Channels and locations."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def location(self, location_id: int) -> Location | None:
        row = await m.Location.filter(id=location_id).using_db(self.conn).first()
        return convert.location(row) if row else None

    async def all_locations(self) -> dict[int, Location]:
        rows = await m.Location.all().using_db(self.conn).order_by("id")
        return {r.id: convert.location(r) for r in rows}

    async def channel(self, handle: str) -> Channel | None:
        """One statement: the channel and its serving locations (every cart and order asks)."""
        rows = await catalog_reads.channel_rows(self.conn, "handle", handle)
        if not rows:
            return None
        serving = [int(r.location_id) for r in rows if r.location_id is not None]
        return convert.channel(rows[0], serving)  # type: ignore[arg-type]

    async def store_channel(self, location_id: int) -> Channel | None:
        row = await m.Channel.filter(store_id=location_id, kind="STORE").using_db(self.conn).first()
        return await self._channel(row) if row else None

    async def channel_by_id(self, channel_id: int) -> Channel | None:
        row = await m.Channel.filter(id=channel_id).using_db(self.conn).first()
        return await self._channel(row) if row else None

    async def _channel(self, row: m.Channel) -> Channel:
        ids = (
            await m.ChannelLocation.filter(channel_id=row.id)
            .using_db(self.conn)
            .values_list("location_id", flat=True)
        )
        return convert.channel(row, [int(i) for i in ids])

    async def location_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        query = m.Location.filter(handle=handle).exclude(id=exclude_id or 0)
        return await query.using_db(self.conn).exists()

    async def channel_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        query = m.Channel.filter(handle=handle).exclude(id=exclude_id or 0)
        return await query.using_db(self.conn).exists()

    async def _save(self, model: type[RowT], ident: int | None, columns: dict[str, Any]) -> RowT:
        if ident is None:
            return await model.create(using_db=self.conn, **columns)
        row = await model.get(id=ident).using_db(self.conn)  # type: ignore[attr-defined]
        row.update_from_dict(columns)
        await row.save(using_db=self.conn)
        return row  # type: ignore[no-any-return]

    async def save_location(self, location_id: int | None, draft: LocationDraft) -> Location:
        row = await self._save(m.Location, location_id, _location_columns(draft))
        return convert.location(row)

    async def save_channel(self, channel_id: int | None, draft: ChannelDraft) -> Channel:
        row = await self._save(m.Channel, channel_id, _channel_columns(draft))
        if draft.location_ids is not None:
            await m.ChannelLocation.filter(channel_id=row.id).using_db(self.conn).delete()
            links = [
                m.ChannelLocation(channel_id=row.id, location_id=i) for i in set(draft.location_ids)
            ]
            await m.ChannelLocation.bulk_create(links, using_db=self.conn)
        return await self._channel(row)
