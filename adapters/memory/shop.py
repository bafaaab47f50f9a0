"""A small shop written through the ports into a :class:`MemoryState`: a warehouse and a store
in Lyon, the web channel and the store's till channel, one category with a two-size product,
base prices in EUR and stock, and the staff who work there. For use-case tests and demos."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.memory.clock import FixedClock
from adapters.memory.state import MemoryState
from adapters.memory.unit_of_work import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from domain.catalog.model import ProductDraft, VariantDraft
from domain.channels.model import Channel, ChannelDraft, LocationDraft
from domain.identity.model import Principal, PrincipalKind, Role
from domain.identity.ports import StaffDraft
from domain.inventory.model import StockLevel
from domain.members.model import MemberChanges, MemberDraft
from domain.money import Money
from domain.orders.model import Buyer, Delivery, OrderDraft, OrderLine, Routing, Totals
from domain.orders.states import OrderSource, OrderStatus, PaymentStatus
from domain.pricing.model import PriceKind, PriceRule

PRICES = (2990, 3090)  # per size, minor units of EUR
STOCK = {"warehouse": 10, "store": 3}  # per size


@dataclass(frozen=True, slots=True)
class Shop:
    """What :func:`small_shop` created, and who may act in it."""

    uow: InMemoryUnitOfWorkFactory
    clock: FixedClock
    warehouse_id: int
    store_id: int
    web: Channel
    till: Channel
    category_id: int
    product_id: int
    variant_ids: tuple[int, ...]
    owner: Principal
    clerk: Principal

    @property
    def state(self) -> MemoryState:
        """The tables behind the shop's units of work."""
        return self.uow.state

    def stock(self, variant_id: int, location_id: int) -> StockLevel:
        """A variant's stock at a location now."""
        return self.state.stock[(variant_id, location_id)]

    def member(self, member_id: int) -> Principal:
        """A logged-in member."""
        return Principal(PrincipalKind.MEMBER, subject=f"member:{member_id}")

    async def add_member(
        self, *, email: str = "ada@example.com", code: str = "000000000000", tier: str = "BRONZE"
    ) -> int:
        """A member as sign-up stores one (no referral), at ``tier``; returns its id."""
        draft = MemberDraft(
            email=email,
            phone=None,
            name="Ada",
            password_hash="-",
            member_code=code,
            referral_location_id=None,
            referral_staff_id=None,
            tags=(),
        )
        async with self.uow() as uow:
            member = await uow.members.add(draft)
            await uow.members.update(member.id, MemberChanges(tier=tier))
        return member.id

    def web_order(
        self,
        *,
        quantity: int = 1,
        member_id: int | None = None,
        buyer: Buyer | None = None,
        status: OrderStatus = OrderStatus.COMPLETED,
    ) -> OrderDraft:
        """A paid web order of ``quantity`` small shirts, as the order port stores it (for
        use cases that start from an existing order)."""
        price = PRICES[0]
        total = Money(price * quantity, "EUR")
        zero = Money(0, "EUR")
        line = OrderLine(
            0,
            self.variant_ids[0],
            "LS-S",
            "Linen Shirt - S",
            quantity,
            price,
            None,
            price * quantity,
        )
        return OrderDraft(
            channel_id=self.web.id,
            channel_handle=self.web.handle,
            source=OrderSource.WEB,
            status=status,
            payment_status=PaymentStatus.PAID,
            currency="EUR",
            totals=Totals(subtotal=total, delivery=zero, tax=zero, total=total),
            buyer=buyer or Buyer(email="buyer@example.com"),
            delivery=Delivery(),
            routing=Routing("test"),
            lines=(line,),
            fulfilments=(),
            member_id=member_id,
        )


WAREHOUSE = LocationDraft(
    handle="warehouse", name="Warehouse", kind="WAREHOUSE", latitude=45.696, longitude=4.944
)
STORE = LocationDraft(
    handle="part-dieu",
    name="Part-Dieu",
    kind="STORE",
    latitude=45.7606,
    longitude=4.859,
    pickup_enabled=True,
    local_delivery_radius_km=5,
)


async def small_shop(clock: FixedClock | None = None) -> Shop:
    """A fresh in-memory shop (see the module's docstring)."""
    clock = clock or FixedClock()
    factory = InMemoryUnitOfWorkFactory(MemoryState(now=clock.now))
    async with factory() as uow:
        warehouse = await uow.locations.save_location(None, WAREHOUSE)
        store = await uow.locations.save_location(None, STORE)
        web = await uow.locations.save_channel(
            None,
            ChannelDraft(
                handle="web",
                name="Web",
                kind="WEB",
                currency="EUR",
                location_ids=[warehouse.id, store.id],
            ),
        )
        till = await uow.locations.save_channel(
            None,
            ChannelDraft(
                handle="store-part-dieu",
                name="Part-Dieu till",
                kind="STORE",
                currency="EUR",
                store_location_id=store.id,
                location_ids=[store.id],
            ),
        )
        category_id, product_id, variant_ids = await _shirts(uow, (warehouse.id, store.id))
        owner = await _staff(uow, Role.OWNER, ())
        clerk = await _staff(uow, Role.CLERK, (store.id,))
    return Shop(
        uow=factory,
        clock=clock,
        warehouse_id=warehouse.id,
        store_id=store.id,
        web=web,
        till=till,
        category_id=category_id,
        product_id=product_id,
        variant_ids=variant_ids,
        owner=owner,
        clerk=clerk,
    )


async def _shirts(
    uow: InMemoryUnitOfWork, locations: tuple[int, int]
) -> tuple[int, int, tuple[int, ...]]:
    """A category, a product in it with two sizes, their base prices and their stock."""
    category = await uow.catalog.save_category(None, name="Shirts", handle="shirts", parent_id=None)
    product = await uow.catalog.add_product(
        ProductDraft(
            title="Linen Shirt", handle="linen-shirt", status="ACTIVE", category_id=category.id
        )
    )
    variant_ids = []
    for position, (size, price) in enumerate(zip(("S", "M"), PRICES, strict=True)):
        draft = VariantDraft(
            sku=f"LS-{size}", title=size, option_values={"Size": size}, position=position
        )
        variant = await uow.catalog.add_variant(product.id, draft)
        variant_ids.append(variant.id)
        await uow.prices.upsert_rule(variant.id, PriceRule(PriceKind.BASE, Money(price, "EUR")))
        await uow.inventory.lock([(variant.id, location) for location in locations])
        for location, on_hand in zip(locations, STOCK.values(), strict=True):
            await uow.inventory.save(variant.id, StockLevel(location, on_hand, 0, 0))
    return category.id, product.id, tuple(variant_ids)


async def _staff(uow: InMemoryUnitOfWork, role: Role, location_ids: tuple[int, ...]) -> Principal:
    """A staff account of ``role`` at ``location_ids``, as the principal of its token."""
    name = role.value.lower()
    staff = await uow.identity.add_staff(
        StaffDraft(
            email=f"{name}@example.com",
            name=name.title(),
            password_hash="-",
            role=role.value,
            location_ids=location_ids,
        )
    )
    return Principal(
        PrincipalKind.STAFF,
        subject=f"staff:{staff.id}",
        role=role,
        location_ids=frozenset(location_ids),
    )
