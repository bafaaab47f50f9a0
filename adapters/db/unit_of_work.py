"""The tortoise unit of work: one database transaction with every repository bound to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from adapters.db import models as m
from adapters.db.attribution_repositories import TortoiseAttributionRepository
from adapters.db.audit_repositories import TortoiseAuditRepository
from adapters.db.catalog_repositories import TortoiseCatalogRepository, TortoisePriceRepository
from adapters.db.channel_repositories import TortoiseLocationRepository
from adapters.db.clienteling_repositories import TortoiseClientelingRepository
from adapters.db.commission_repositories import TortoiseCommissionRepository
from adapters.db.identity_repositories import TortoiseIdentityRepository
from adapters.db.inventory_repositories import TortoiseInventoryRepository
from adapters.db.marketplace_repositories import TortoiseMarketplaceOrderRepository
from adapters.db.member_repositories import TortoiseMemberRepository
from adapters.db.order_repositories import (
    TortoiseCartRepository,
    TortoiseOrderRepository,
    TortoiseOutbox,
    TortoiseOutboxReader,
)
from adapters.db.payment_repositories import TortoisePaymentRepository
from adapters.db.points_repositories import TortoisePointsRepository
from adapters.db.promotion_repositories import TortoisePromotionRepository
from adapters.db.settlement_repositories import (
    TortoiseFranchiseRepository,
    TortoiseSettlementRepository,
)
from adapters.kv import KeyValue
from domain.ports import IdempotencyRace, UnitOfWorkFactory


class TortoiseIdempotencyStore:
    """Idempotency records in the same transaction as the work they guard."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def get(self, scope: str, key: str) -> tuple[str, dict[str, Any] | None] | None:
        row = await m.IdempotencyRecord.filter(scope=scope, key=key).using_db(self.conn).first()
        return (row.request_hash, row.response) if row else None

    async def claim(self, scope: str, key: str, request_hash: str) -> None:
        try:
            await m.IdempotencyRecord.create(
                using_db=self.conn, scope=scope, key=key, request_hash=request_hash, response=None
            )
        except IntegrityError as error:
            raise IdempotencyRace(str(error)) from error

    async def complete(self, scope: str, key: str, response: dict[str, Any]) -> None:
        await (
            m.IdempotencyRecord.filter(scope=scope, key=key)
            .using_db(self.conn)
            .update(response=response)
        )


OnCommit = Callable[[set[str]], Awaitable[None]]


class TortoiseUnitOfWork:
    """One database transaction with every repository bound to it."""

    def __init__(self, on_commit: OnCommit | None = None, *, timezone: str = "UTC") -> None:
        self._on_commit = on_commit
        self._timezone = timezone  # the brand's: commission periods are its calendar months
        self.touched: set[str] = set()

    async def __aenter__(self) -> TortoiseUnitOfWork:
        self._tx = in_transaction("default")
        conn = self._conn = await self._tx.__aenter__()
        self.catalog = TortoiseCatalogRepository(conn)
        self.prices = TortoisePriceRepository(conn)
        self.inventory = TortoiseInventoryRepository(conn)
        self.identity = TortoiseIdentityRepository(conn)
        self.locations = TortoiseLocationRepository(conn)
        self.idempotency = TortoiseIdempotencyStore(conn)
        self.carts = TortoiseCartRepository(conn)
        self.orders = TortoiseOrderRepository(conn)
        self.outbox = TortoiseOutbox(conn)
        self.members = TortoiseMemberRepository(conn)
        self.points = TortoisePointsRepository(conn)
        self.promotions = TortoisePromotionRepository(conn)
        self.events = TortoiseOutboxReader(conn)
        self.audit = TortoiseAuditRepository(conn)
        self.payments = TortoisePaymentRepository(conn)
        self.marketplaces = TortoiseMarketplaceOrderRepository(conn)
        self.attribution = TortoiseAttributionRepository(conn)
        self.franchise = TortoiseFranchiseRepository(conn)
        self.settlement = TortoiseSettlementRepository(conn)
        self.commissions = TortoiseCommissionRepository(conn, timezone=self._timezone)
        self.clienteling = TortoiseClientelingRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None and self.touched:
            try:
                await m.ChangeLog.create(using_db=self._conn, scope=",".join(sorted(self.touched)))
                await self._listing_events()
            except BaseException as error:
                await self._tx.__aexit__(type(error), error, error.__traceback__)
                raise
        await self._tx.__aexit__(exc_type, exc, tb)
        if exc_type is None and self.touched and self._on_commit is not None:
            await self._on_commit(self.touched)

    async def _listing_events(self) -> None:
        """What marketplaces (and partners) must hear of, in the same transaction: the
        variants whose stock rows, price rules, fields or product status changed."""
        saved = self.inventory.changes.saved
        if saved:
            ids = sorted({variant_id for variant_id, _ in saved})
            await self._event("stock.changed", {"variantIds": ids})
        elif "stock" in self.touched:  # a channel's locations or allocation rule changed
            await self._event("stock.changed", {})
        changed = set(self.prices.changed) | self.catalog.changed_variants
        if self.catalog.changed_products:
            changed |= set(
                await m.Variant.filter(product_id__in=sorted(self.catalog.changed_products))
                .using_db(self._conn)
                .values_list("id", flat=True)
            )
        if changed:
            await self._event("price.changed", {"variantIds": sorted(int(v) for v in changed)})

    async def _event(self, topic: str, payload: dict[str, Any]) -> None:
        aggregate = topic.split(".")[0]
        await m.OutboxEvent.create(
            using_db=self._conn, topic=topic, aggregate_id=aggregate, payload=payload
        )


def invalidating_units_of_work(cache: KeyValue, *, timezone: str = "UTC") -> UnitOfWorkFactory:
    """Units of work whose commits invalidate ``cache``'s responses: at once after a catalog or
    price edit (the next read shows it), within a second after stock changes (sales must not
    empty the cache)."""

    async def invalidate(touched: set[str]) -> None:
        if touched & {"catalog", "price"}:
            await cache.bump_version()
        elif "stock" in touched:
            await cache.mark_changed()

    return lambda: TortoiseUnitOfWork(on_commit=invalidate, timezone=timezone)
