"""The per-request context: who is calling, the services, fresh DataLoaders, and the reads that
schema types resolve their fields with (prices, stock, variants) through those loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from adapters.kv import KeyValue
from adapters.payments.terminal_fake import FakeCardTerminal
from adapters.settings import Settings
from domain.catalog.model import Category, Product, Variant
from domain.catalog.ports import CatalogQueries
from domain.channels.model import (
    Channel,
    ChannelErrorCode,
    Location,
    check_coordinates,
    check_radius,
)
from domain.errors import CommonErrorCode, DomainError
from domain.identity.model import Principal
from domain.inventory.model import StockLevel, available_to_sell, distance_km
from domain.orders.ports import OrderQueries
from domain.payments.model import Payment, RefundRecord
from domain.payments.ports import PaymentGateway
from domain.payments.terminal import CardTerminal
from domain.ports import Clock, EventPublisher, PasswordHasher, TokenSigner, UnitOfWorkFactory
from domain.pricing.model import PriceQuote, PriceRule, price_for

T = TypeVar("T")


@dataclass
class Services:
    """Everything the composition root wires once per process."""

    settings: Settings
    uow: UnitOfWorkFactory
    queries: CatalogQueries
    orders: OrderQueries
    kv: KeyValue
    publisher: EventPublisher
    hasher: PasswordHasher
    signer: TokenSigner
    clock: Clock
    payments: PaymentGateway | None = None  # None: online payment is off
    payment_provider: str = ""  # "stripe" or "test", stored on each online payment
    # the stores' card terminal; the default is the TEST terminal (FakeCardTerminal: no card
    # is charged); None: cards are taken on a standalone terminal and recorded without a call
    terminal: CardTerminal | None = field(default_factory=FakeCardTerminal)
    # the marketplace sync (adapters/marketplaces/sync.py) and its event source; None: no
    # marketplace account is configured
    marketplaces: Any = None
    marketplace_events: Any = None


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

    def __init__(self, queries: CatalogQueries) -> None:
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

        async def offers_by_product(keys: list[OfferKey]) -> list[list[Offer]]:
            variants = await q.variants_by_product_ids(list({k[0] for k in keys}))
            ids = [v.id for found in variants.values() for v in found]
            currencies = sorted({k[1] for k in keys})
            places = sorted({k[2] for k in keys})
            answers = await asyncio.gather(
                *(q.prices_by_variant_ids(ids, c) for c in currencies),
                *(q.available_totals(ids, p) for p in places),
            )
            rules = dict(zip(currencies, answers[: len(currencies)], strict=True))
            totals = dict(zip(places, answers[len(currencies) :], strict=True))
            return [
                [
                    (v, rules[currency].get(v.id, []), totals[place].get(v.id, 0))
                    for v in variants.get(product_id, [])
                ]
                for product_id, currency, place in keys
            ]

        self.product_by_id = DataLoader(products_by_id)
        self.product_by_handle = DataLoader(products_by_handle)
        self.variants_by_product = DataLoader(variants_by_product)
        self.variant_by_id = DataLoader(variant_by_id)
        self.prices_by_variant = DataLoader(prices_by_variant)
        self.stock_by_variant = DataLoader(stock_by_variant)
        self.collection_by_id = DataLoader(collections_by_id)
        # a product's live variants with their price rules and available units, by (product,
        # currency, serving locations): a page's products in three queries, one future per
        # product rather than two per variant
        self.offers_by_product = DataLoader(offers_by_product)
        self.channels = Once(q.channels)
        self.locations = Once(q.locations)
        self.categories = Once(q.categories)


# a variant with its price rules in one currency and its units available at some locations
Offer = tuple[Variant, list[PriceRule], int]
OfferKey = tuple[int, str, tuple[int, ...]]  # product id, currency, serving locations


@dataclass(frozen=True, slots=True)
class Quoted:
    """A live variant of a product as one channel sells it now to this caller."""

    variant: Variant
    quote: PriceQuote | None
    quantity: int


@dataclass(frozen=True, slots=True)
class StoreStock:
    """One store's stock of a variant, with its distance from the shopper."""

    location: Location
    quantity: int
    distance_km: float | None


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
                ChannelErrorCode.UNKNOWN_CHANNEL,
                f"no channel with handle {handle!r}",
                field=field_name,
            )
        return found

    async def payments_of(self, order_id: int) -> list[Payment]:
        """An order's payments per tender (one query for every order of the request)."""
        found: list[Payment] = await self._by_order("payments", order_id)
        return found

    async def refunds_of(self, order_id: int) -> list[RefundRecord]:
        """An order's refunds (one query for every order of the request)."""
        found: list[RefundRecord] = await self._by_order("refunds", order_id)
        return found

    async def _by_order(self, kind: str, order_id: int) -> Any:
        loader = self.extra.get(kind)
        if loader is None:
            uow_factory = self.services.uow

            async def load(keys: list[int]) -> list[Any]:
                async with uow_factory() as uow:
                    if kind == "payments":
                        rows: dict[int, Any] = await uow.payments.for_orders(keys)
                    else:
                        rows = await uow.payments.refunds_for_orders(keys)
                return [rows.get(k, []) for k in keys]

            loader = self.extra[kind] = DataLoader(load_fn=load)
        return await loader.load(order_id)

    async def franchisee_of(self, location_id: int) -> Any:
        """The franchisee owning a location, or None (one query for every location read)."""
        loader = self.extra.get("franchisees")
        if loader is None:
            from domain.settlement.services import owners_of

            uow_factory = self.services.uow

            async def load(keys: list[int]) -> list[Any]:
                found = await owners_of(uow_factory, keys)
                return [found.get(k) for k in keys]

            loader = self.extra["franchisees"] = DataLoader(load_fn=load)
        return await loader.load(location_id)

    async def locations(self) -> dict[int, Location]:
        """Every location by id (loaded once per request)."""
        result: dict[int, Location] = await self.loaders.locations.get()
        return result

    async def categories(self) -> dict[int, Category]:
        """Every category by id (loaded once per request)."""
        result: dict[int, Category] = await self.loaders.categories.get()
        return result

    def check_first(self, first: int) -> None:
        """Refuse a page size outside 1..MAX_PAGE_SIZE (MAX_PAGE_SIZE_EXCEEDED on `first`)."""
        if not 1 <= first <= self.services.settings.max_page_size:
            raise DomainError(
                CommonErrorCode.MAX_PAGE_SIZE_EXCEEDED, "first is out of range", field="first"
            )

    async def variants(self, product_id: int) -> list[Variant]:
        """A product's live variants in position order."""
        result: list[Variant] = await self.loaders.variants_by_product.load(product_id)
        return result

    async def price_quotes(
        self, variant_ids: list[int], channel: Channel
    ) -> list[PriceQuote | None]:
        """The one pricing function for many variants in this channel now, in one batch."""
        keys = [(v, channel.currency) for v in variant_ids]
        rules = await self.loaders.prices_by_variant.load_many(keys)
        now = self.services.clock.now()
        tier = self.principal.tier
        return [
            price_for(r, currency=channel.currency, channel=channel.handle, tier=tier, at=now)
            for r in rules
        ]

    async def quoted_variants(self, product_id: int, channel: Channel) -> list[Quoted]:
        """A product's live variants with price and available quantity in the channel: one
        batch for every product of the request, computed once per product and channel."""
        key = (product_id, channel.handle)
        memo: dict[tuple[int, str], list[Quoted]] = self.extra.setdefault("quoted", {})
        found = memo.get(key)
        if found is None:
            place = tuple(sorted(channel.location_ids))
            offers = await self.loaders.offers_by_product.load(
                (product_id, channel.currency, place)
            )
            now = self.services.clock.now()
            tier, currency, handle = self.principal.tier, channel.currency, channel.handle
            rule = channel.rule
            found = memo[key] = [
                Quoted(
                    variant,
                    price_for(rules, currency=currency, channel=handle, tier=tier, at=now),
                    rule.sellable(total),
                )
                for variant, rules, total in offers
            ]
        return found

    async def price_quote(self, variant_id: int, channel: Channel) -> PriceQuote | None:
        """The one pricing function for one variant in this channel now."""
        return (await self.price_quotes([variant_id], channel))[0]

    async def stock_levels(self, variant_id: int) -> list[StockLevel]:
        """Every location's stock level of a variant."""
        result: list[StockLevel] = await self.loaders.stock_by_variant.load(variant_id)
        return result

    async def quantities(self, variant_ids: list[int], channel: Channel) -> list[int]:
        """Available-to-sell of many variants in the channel, in one batch."""
        every = await self.loaders.stock_by_variant.load_many(variant_ids)
        rule, serving = channel.rule, channel.location_ids
        return [available_to_sell(levels, rule=rule, serving=serving) for levels in every]

    async def quantity_available(self, variant_id: int, channel: Channel) -> int:
        """Available to sell in the channel: its locations, then its allocation rule."""
        return (await self.quantities([variant_id], channel))[0]

    async def store_stock(
        self,
        variant_id: int,
        channel: Channel,
        *,
        near: tuple[float, float] | None,
        radius_km: float | None,
        first: int,
    ) -> list[StoreStock]:
        """Stores serving the channel that hold the variant, nearest first when near is given."""
        if near is not None:
            check_coordinates(*near)
        check_radius(radius_km)
        if not 1 <= first <= 50:
            raise DomainError(CommonErrorCode.INVALID, "first is 1 to 50", field="first")
        locations = await self.locations()
        by_location = {lv.location_id: lv for lv in await self.stock_levels(variant_id)}
        result = []
        for location_id in channel.location_ids:
            location = locations.get(location_id)
            if location is None or location.kind != "STORE" or not location.active:
                continue
            distance = None
            if near is not None and location.coordinates is not None:
                distance = distance_km(near, location.coordinates)
                if radius_km is not None and distance > radius_km:
                    continue
            elif near is not None and radius_km is not None:
                continue
            level = by_location.get(location_id)
            result.append(StoreStock(location, level.available if level else 0, distance))
        result.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0, -s.quantity))
        return result[:first]
