"""The unit of work in memory: every repository over one :class:`MemoryState`; leaving the
block normally keeps the changes, an exception puts back the snapshot taken on enter."""

from __future__ import annotations

from types import TracebackType

from adapters.memory.attribution import InMemoryAttributionRepository
from adapters.memory.audit import InMemoryAuditRepository
from adapters.memory.carts import InMemoryCartRepository
from adapters.memory.catalog import InMemoryCatalogRepository, InMemoryPriceRepository
from adapters.memory.channels import InMemoryLocationRepository
from adapters.memory.clienteling import InMemoryClientelingRepository
from adapters.memory.commissions import InMemoryCommissionRepository
from adapters.memory.identity import InMemoryIdentityRepository
from adapters.memory.inventory import InMemoryInventoryRepository
from adapters.memory.loyalty import InMemoryPointsRepository
from adapters.memory.marketplaces import InMemoryMarketplaceOrderRepository
from adapters.memory.members import InMemoryMemberRepository
from adapters.memory.orders import InMemoryOrderRepository
from adapters.memory.outbox import (
    InMemoryIdempotencyStore,
    InMemoryOutbox,
    InMemoryOutboxReader,
)
from adapters.memory.payments import InMemoryPaymentRepository
from adapters.memory.promotions import InMemoryPromotionRepository
from adapters.memory.settlement import InMemoryFranchiseRepository, InMemorySettlementRepository
from adapters.memory.state import MemoryState
from domain.attribution.ports import AttributionRepository
from domain.audit.ports import AuditRepository
from domain.cart.ports import CartRepository
from domain.catalog.ports import CatalogRepository
from domain.channels.ports import LocationRepository
from domain.clienteling.ports import ClientelingRepository
from domain.commissions.ports import CommissionRepository
from domain.identity.ports import IdentityRepository
from domain.inventory.ports import InventoryRepository
from domain.loyalty.ports import PointsRepository
from domain.marketplaces.ports import MarketplaceOrderRepository
from domain.members.ports import MemberRepository
from domain.orders.ports import OrderRepository
from domain.payments.ports import PaymentRepository
from domain.ports import IdempotencyStore, Outbox, OutboxReader, UnitOfWork, UnitOfWorkFactory
from domain.pricing.ports import PriceRepository
from domain.promotions.ports import PromotionRepository
from domain.settlement.ports import FranchiseRepository, SettlementRepository


class InMemoryUnitOfWork:
    """One "transaction" over a :class:`MemoryState`; ``touched`` is kept after the block
    (and ``committed`` counts the blocks that kept their changes)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.touched: set[str] = set()
        self.committed = False
        # typed as the ports: mypy checks that each fake implements its protocol
        self.catalog: CatalogRepository = InMemoryCatalogRepository(state)
        self.prices: PriceRepository = InMemoryPriceRepository(state)
        self.inventory: InventoryRepository = InMemoryInventoryRepository(state)
        self.identity: IdentityRepository = InMemoryIdentityRepository(state)
        self.locations: LocationRepository = InMemoryLocationRepository(state)
        self.idempotency: IdempotencyStore = InMemoryIdempotencyStore(state)
        self.carts: CartRepository = InMemoryCartRepository(state)
        self.orders: OrderRepository = InMemoryOrderRepository(state)
        self.outbox: Outbox = InMemoryOutbox(state)
        self.members: MemberRepository = InMemoryMemberRepository(state)
        self.points: PointsRepository = InMemoryPointsRepository(state)
        self.promotions: PromotionRepository = InMemoryPromotionRepository(state)
        self.events: OutboxReader = InMemoryOutboxReader(state)
        self.audit: AuditRepository = InMemoryAuditRepository(state)
        self.payments: PaymentRepository = InMemoryPaymentRepository(state)
        self.marketplaces: MarketplaceOrderRepository = InMemoryMarketplaceOrderRepository(state)
        self.attribution: AttributionRepository = InMemoryAttributionRepository(state)
        self.franchise: FranchiseRepository = InMemoryFranchiseRepository(state)
        self.settlement: SettlementRepository = InMemorySettlementRepository(state)
        self.commissions: CommissionRepository = InMemoryCommissionRepository(state)
        self.clienteling: ClientelingRepository = InMemoryClientelingRepository(state)

    async def __aenter__(self) -> InMemoryUnitOfWork:
        self._snapshot = self.state.snapshot()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.committed = True
        else:
            self.state.restore(self._snapshot)
        del self._snapshot


class InMemoryUnitOfWorkFactory:
    """Opens units of work over one shared :class:`MemoryState` and remembers them (the
    last one's ``touched`` says what a use case changed)."""

    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = state or MemoryState()
        self.opened: list[InMemoryUnitOfWork] = []

    def __call__(self) -> InMemoryUnitOfWork:
        uow = InMemoryUnitOfWork(self.state)
        self.opened.append(uow)
        return uow

    @property
    def touched(self) -> set[str]:
        """What the committed units of work changed, together."""
        return set().union(*(u.touched for u in self.opened if u.committed))


_uow: UnitOfWork = InMemoryUnitOfWork(MemoryState())  # mypy: the fake is a unit of work
_factory: UnitOfWorkFactory = InMemoryUnitOfWorkFactory()
