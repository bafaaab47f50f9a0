"""The per-request context: who is calling, the services, and fresh DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from adapters.db.order_queries import TortoiseOrderQueries
from adapters.db.queries import TortoiseCatalogQueries
from adapters.kv import KeyValue
from adapters.settings import Settings
from domain.catalog.model import Category, Product, Variant
from domain.channels.model import Channel, Location
from domain.errors import DomainError
from domain.identity.model import Principal
from domain.inventory.model import StockLevel
from domain.ports import Clock, EventPublisher, PasswordHasher, TokenSigner, UnitOfWorkFactory
from domain.pricing.model import PriceRule

T = TypeVar("T")


@dataclass
class Services:
    """Everything the composition root wires once per process."""

    settings: Settings
    uow: UnitOfWorkFactory
    queries: TortoiseCatalogQueries
    orders: TortoiseOrderQueries
    kv: KeyValue
    publisher: EventPublisher
    hasher: PasswordHasher
    signer: TokenSigner
    clock: Clock


class Once:
    """A value loaded at most once per request, however many resolvers ask."""

    def __init__(self, load: Callable[[], Awaitable[Any]]) -> None:
        self._load = load
        self._task: asyncio.Future[Any] | None = None

    async def get(self) -> Any:
        if self._task is None:
            self._task = asyncio.ensure_future(self._load())
        return await self._task


def _ordered(keys: Sequence[Any], found: dict[Any, T], default: Any = None) -> list[T]:
    return [found.get(k, default() if callable(default) else default) for k in keys]


class Loaders:
    """DataLoaders named <Entity>By<Key>, one set per request; results in key order."""

    def __init__(self, queries: TortoiseCatalogQueries) -> None:
        q = queries

        async def products_by_id(keys: list[int]) -> list[Product | None]:
            return _ordered(keys, await q.products_by_ids(keys))

        async def products_by_handle(keys: list[str]) -> list[Product | None]:
            return _ordered(keys, await q.products_by_handles(keys))

        async def variants_by_product(keys: list[int]) -> list[list[Variant]]:
            return _ordered(keys, await q.variants_by_product_ids(keys), list)

        async def variant_by_id(keys: list[int]) -> list[Variant | None]:
            return _ordered(keys, await q.variants_by_ids(keys))

        async def prices_by_variant(keys: list[tuple[int, str]]) -> list[list[PriceRule]]:
            by_currency: dict[str, list[int]] = {}
            for variant_id, currency in keys:
                by_currency.setdefault(currency, []).append(variant_id)
            found: dict[tuple[int, str], list[PriceRule]] = {}
            for currency, ids in by_currency.items():
                for variant_id, rules in (await q.prices_by_variant_ids(ids, currency)).items():
                    found[(variant_id, currency)] = rules
            return _ordered(keys, found, list)

        async def stock_by_variant(keys: list[int]) -> list[list[StockLevel]]:
            return _ordered(keys, await q.stock_by_variant_ids(keys), list)

        async def collections_by_id(keys: list[int]) -> list[Any]:
            return _ordered(keys, await q.collections_by_ids(keys))

        self.product_by_id = DataLoader(products_by_id)
        self.product_by_handle = DataLoader(products_by_handle)
        self.variants_by_product = DataLoader(variants_by_product)
        self.variant_by_id = DataLoader(variant_by_id)
        self.prices_by_variant = DataLoader(prices_by_variant)
        self.stock_by_variant = DataLoader(stock_by_variant)
        self.collection_by_id = DataLoader(collections_by_id)
        self.channels = Once(q.channels)
        self.locations = Once(q.locations)
        self.categories = Once(q.categories)


@dataclass
class Context:
    """What every resolver gets as ``info.context``."""

    services: Services
    principal: Principal
    loaders: Loaders
    client: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    async def channel(self, handle: str | None, *, field_name: str = "channel") -> Channel:
        """The named sales channel (default ``web``); UNKNOWN_CHANNEL when there is none."""
        channels: dict[str, Channel] = await self.loaders.channels.get()
        found = channels.get(handle or "web")
        if found is None:
            raise DomainError(
                "UNKNOWN_CHANNEL", f"no channel with handle {handle!r}", field=field_name
            )
        return found

    async def locations(self) -> dict[int, Location]:
        """Every location by id (loaded once per request)."""
        result: dict[int, Location] = await self.loaders.locations.get()
        return result

    async def categories(self) -> dict[int, Category]:
        """Every category by id (loaded once per request)."""
        result: dict[int, Category] = await self.loaders.categories.get()
        return result
