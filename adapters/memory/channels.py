"""The channel and location port in memory."""

from __future__ import annotations

from dataclasses import fields, replace

from adapters.memory.state import MemoryState
from domain.channels.model import (
    Channel,
    ChannelDraft,
    ChannelKind,
    Location,
    LocationDraft,
    LocationKind,
)
from domain.inventory.model import AllocationRule


def _set(draft: LocationDraft | ChannelDraft) -> dict[str, object]:
    return {
        f.name: getattr(draft, f.name) for f in fields(draft) if getattr(draft, f.name) is not None
    }


class InMemoryLocationRepository:
    """Channels and locations in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def location(self, location_id: int) -> Location | None:
        return self.state.locations.get(location_id)

    async def all_locations(self) -> dict[int, Location]:
        return dict(sorted(self.state.locations.items()))

    async def channel(self, handle: str) -> Channel | None:
        return next((c for c in self.state.channels.values() if c.handle == handle), None)

    async def store_channel(self, location_id: int) -> Channel | None:
        return next(
            (
                c
                for c in self.state.channels.values()
                if c.store_location_id == location_id and c.kind == ChannelKind.STORE
            ),
            None,
        )

    async def channel_by_id(self, channel_id: int) -> Channel | None:
        return self.state.channels.get(channel_id)

    async def location_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        return any(
            loc.handle == handle and i != exclude_id for i, loc in self.state.locations.items()
        )

    async def channel_handle_taken(self, handle: str, *, exclude_id: int | None) -> bool:
        return any(c.handle == handle and i != exclude_id for i, c in self.state.channels.items())

    async def save_location(self, location_id: int | None, draft: LocationDraft) -> Location:
        changes = _set(draft)
        if "kind" in changes:
            changes["kind"] = LocationKind(str(changes["kind"]).upper())
        current = self.state.locations.get(location_id or 0) or Location(
            id=self.state.next_id("location"),
            handle="",
            name="",
            kind=LocationKind.STORE,
            address={},
            latitude=None,
            longitude=None,
            opening_hours=[],
            pickup_enabled=False,
            local_delivery_radius_km=None,
        )
        saved = replace(current, **changes)  # type: ignore[arg-type]
        self.state.locations[saved.id] = saved
        return saved

    async def save_channel(self, channel_id: int | None, draft: ChannelDraft) -> Channel:
        changes = _set(draft)
        rule_changes = {k: changes.pop(k) for k in ("share_percent", "buffer") if k in changes}
        if "location_ids" in changes:
            changes["location_ids"] = tuple(sorted(set(draft.location_ids or ())))
        for key, enum in (("kind", ChannelKind), ("currency", str)):
            if key in changes:
                changes[key] = enum(str(changes[key]).upper())
        current = self.state.channels.get(channel_id or 0) or Channel(
            id=self.state.next_id("channel"),
            handle="",
            name="",
            kind=ChannelKind.WEB,
            currency="EUR",
            store_location_id=None,
            rule=AllocationRule(),
        )
        rule = replace(current.rule, **rule_changes)  # type: ignore[arg-type]
        saved = replace(current, **changes, rule=rule)  # type: ignore[arg-type]
        self.state.channels[saved.id] = saved
        return saved
