"""Checkout: validate the cart, route it, lock the stock and place the order, all in one
transaction; a replay with the same key returns the same order."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from domain.cart.services import CartView, load_cart, view
from domain.channels.model import Channel, Location
from domain.errors import DomainError
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.inventory.model import StockLevel, available_to_sell
from domain.inventory.ports import StockCounter
from domain.orders.errors import OrderErrorCode
from domain.orders.model import (
    FulfilmentDraft,
    Order,
    OrderDraft,
    Routing,
    pickup_code,
)
from domain.orders.placing import (
    Placement,
    applied_discounts,
    order_lines,
    place_order,
    take_stock,
    write_order,
)
from domain.orders.ports import CartDemand, CartDemandReader
from domain.orders.routing import DeliveryMethod, RoutingDecision, Site, route
from domain.orders.states import (
    FulfilmentMethod,
    FulfilmentStatus,
    OrderSource,
    OrderStatus,
    PaymentStatus,
)
from domain.payments.model import (
    PaymentError,
    PaymentErrorCode,
    PaymentRequest,
    PaymentStep,
)
from domain.payments.ports import PaymentGateway
from domain.payments.services import record_tenders, start_payment, step_of
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

RESERVATION_HOLD = {  # how long stock is held for an order not yet served
    DeliveryMethod.PICKUP: timedelta(days=3),
    DeliveryMethod.SHIP: timedelta(days=2),
    DeliveryMethod.LOCAL_DELIVERY: timedelta(hours=6),
}
SOURCES = {
    "WEB": OrderSource.WEB,
    "APP": OrderSource.APP,
    "STORE": OrderSource.STORE_TILL,
    "MARKETPLACE": OrderSource.MARKETPLACE,
}


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The placed order, the token that lets a guest buyer read and cancel it, and its online
    payment (opened with the provider once the order is stored)."""

    order_id: int
    number: str
    access_token: str
    payment_id: int | None = None


@dataclass(frozen=True, slots=True)
class PaidCheckout:
    """The placed order and what the client does next about paying it (None: nothing online).
    ``order``: the order as its transaction wrote it (None on a replay: read it)."""

    result: CheckoutResult
    payment: PaymentStep | None
    order: Order | None = None


@dataclass(frozen=True, slots=True)
class SoldOutCheck:
    """The availability counter and a reader of a cart's demand: a checkout whose cart the
    counter says cannot be served is refused before any transaction."""

    counter: StockCounter
    demand: CartDemandReader


# Checkout transactions at once per process (per event loop). A checkout waits for a slot
# before opening its transaction, then asks the counter again: in a flash sale the buyers who
# queued while the last units sold hear "sold out" without touching the database.
CHECKOUT_SLOTS = 8
# Demand reads at once per process: a burst of buyers must not queue the slots' transactions
# behind hundreds of these reads for the pool's connections.
DEMAND_READS = 4
NEWS_SECONDS = 0.05  # waiters are woken to ask the counter at most this often


class _Gate:
    """The slots, and news for those waiting for one: when a checkout of this process learns
    that something sold out, every waiter asks the counter at once instead of waiting for a
    slot to hear it."""

    def __init__(self, slots: int, reads: int = DEMAND_READS) -> None:
        self.slots = asyncio.Semaphore(slots)
        self.reads = asyncio.Semaphore(reads)
        self._news = asyncio.Event()
        self._told = float("-inf")

    def sold_out(self) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._told >= NEWS_SECONDS:
            self._told = loop.time()
            self._news.set()
            self._news = asyncio.Event()

    async def enter(self, recheck: Callable[[], Awaitable[DomainError | None]]) -> None:
        """Hold a slot (release ``slots`` after), or raise what ``recheck`` refuses on news."""
        while True:
            acquire = asyncio.ensure_future(self.slots.acquire())
            news = asyncio.ensure_future(self._news.wait())
            try:
                await asyncio.wait((acquire, news), return_when=asyncio.FIRST_COMPLETED)
            except BaseException:  # the request was cancelled: hold no slot
                news.cancel()
                if acquire.done() and not acquire.cancelled():
                    self.slots.release()
                acquire.cancel()
                raise
            news.cancel()
            if acquire.done() and not acquire.cancelled():
                return
            acquire.cancel()  # a slot given meanwhile goes to the next waiter
            refusal = await recheck()
            if refusal is not None:
                raise refusal


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    found = _gates.get(loop)
    if found is None:
        found = _gates[loop] = _Gate(CHECKOUT_SLOTS)
    return found


async def sold_out(counter: StockCounter, demand: CartDemand) -> DomainError | None:
    """OUT_OF_STOCK for the first line the counter says cannot be served; None when it says
    every line can, or knows nothing (then the database decides)."""
    if not demand.ready:
        return None
    keys = [(v, loc) for v, _ in demand.lines for loc in demand.location_ids]
    known = await counter.available(keys)
    if known is None:
        return None
    for i, (variant_id, quantity) in enumerate(demand.lines):
        levels = [StockLevel(loc, known[(variant_id, loc)], 0, 0) for loc in demand.location_ids]
        if available_to_sell(levels, rule=demand.rule, serving=demand.location_ids) < quantity:
            return _out_of_stock(i)
    return None


async def checkout_complete(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    token: str,
    idempotency_key: str | None,
    clock: Clock,
    payment: PaymentRequest | None = None,
    gateway: PaymentGateway | None = None,
    provider: str = "",
    check: SoldOutCheck | None = None,
) -> PaidCheckout:
    """Place the order, then open its online payment: the order and its payment rows commit
    first; the provider is called after, with keys derived from the order (a replay, or the
    recovery step after a crash, gets the same intent back)."""
    if payment is not None and gateway is None:
        raise DomainError(
            PaymentErrorCode.PROVIDER_UNAVAILABLE,
            "online payment is not configured here: pay at pick-up or on delivery",
            field="payment",
        )
    written: list[Order] = []

    async def place() -> CheckoutResult:
        return await _place(
            uow_factory, principal, token=token, idempotency_key=idempotency_key, clock=clock,
            payment=payment, provider=provider, written=written,
        )  # fmt: skip

    if check is None:
        placed = await place()
    else:
        gate = _gate()
        async with gate.reads:
            demand = await check.demand(token, now=clock.now())

        async def recheck() -> DomainError | None:
            refusal = await sold_out(check.counter, demand) if demand is not None else None
            if refusal is not None:
                gate.sold_out()
            return refusal

        if refusal := await recheck():
            raise refusal
        await gate.enter(recheck)
        try:
            if refusal := await recheck():
                raise refusal
            placed = await place()
        except DomainError as error:
            if error.code == OrderErrorCode.OUT_OF_STOCK:
                gate.sold_out()  # the counter now knows it too
            raise
        finally:
            gate.slots.release()
    order = written[0] if written and payment is None else None
    if placed.payment_id is None or payment is None or gateway is None:
        return PaidCheckout(placed, None, order)
    try:
        step = await start_payment(
            uow_factory, gateway, payment_id=placed.payment_id, request=payment, clock=clock
        )
    except PaymentError as error:
        if not error.retryable:
            raise
        # the order is stored; its payment opens on checkoutPaymentConfirm or by recovery
        async with uow_factory() as uow:
            pending = await uow.payments.get(placed.payment_id)
        assert pending is not None
        step = step_of(pending)
    return PaidCheckout(placed, step, order)


class _Reroute(Exception):
    """The stock rows, once locked, route the order elsewhere than the unlocked read did."""


async def _place(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    token: str,
    idempotency_key: str | None,
    clock: Clock,
    payment: PaymentRequest | None,
    provider: str,
    written: list[Order],
) -> CheckoutResult:
    """Validate, route, reserve and place the order; a replay returns the same order.

    The stock rows are locked last: the order is routed on the stock as read without lock,
    written with everything that needs no lock, then the rows are locked, the stock checked
    again and taken, and the transaction commits. Only those last statements wait for, and
    hold, the locks that concurrent buyers of the same SKU queue on. When the locked rows route
    the order differently, the transaction is rolled back and placed again, locking first.
    """

    async def work(uow: UnitOfWork, *, lock_first: bool) -> CheckoutResult:
        written.clear()
        cart = await load_cart(uow, token, clock, lock=True)
        current = await view(uow, cart, clock)
        _check_ready(current)
        channel = current.channel
        wanted = {ln.variant_id: ln.quantity for ln in current.priced.lines}
        keys = [(v, loc) for v in wanted for loc in channel.location_ids]
        method = DeliveryMethod(str(cart.delivery.method))
        locations = await uow.locations.all_locations()

        def decide(levels: dict[tuple[int, int], StockLevel]) -> RoutingDecision:
            return route(
                wanted,
                method=method,
                sites=serving_sites(channel, levels, locations),
                pickup_location_id=cart.delivery.pickup_store,
                destination=cart.delivery.address.coordinates if cart.delivery.address else None,
            )

        def checked(levels: dict[tuple[int, int], StockLevel]) -> None:
            for i, (variant_id, quantity) in enumerate(wanted.items()):
                held = [lv for (v, _), lv in levels.items() if v == variant_id]
                rule, serving = channel.rule, channel.location_ids
                if available_to_sell(held, rule=rule, serving=serving) < quantity:
                    raise _out_of_stock(i)

        def placement(levels: dict[tuple[int, int], StockLevel]) -> Placement:
            return Placement(
                levels=levels,
                reason="checkout",
                hold_until=clock.now() + RESERVATION_HOLD[method],
                evaluation=current.discounts.evaluation,
                points_to_redeem=cart.points_to_redeem if cart.member_id is not None else 0,
                unlimited=current.discounts.unlimited,
            )

        def drafted(decision: RoutingDecision) -> OrderDraft:
            draft = _draft(current, decision)
            return replace(draft, payment_tender=payment.tender.value) if payment else draft

        async def finish(order: Order) -> CheckoutResult:
            online = await record_tenders(uow, order, payment, provider=provider)
            await uow.carts.save(replace(cart, order_id=order.id))
            return CheckoutResult(
                order.id, order.number, order.access_token, online.id if online else None
            )

        decision = None
        seen: dict[tuple[int, int], StockLevel] = {}
        if not lock_first and placement({}).points_to_redeem == 0:
            unlocked = await uow.inventory.levels(list(wanted), publish=channel.location_ids)
            seen = {(v, lv.location_id): lv for v, lvs in unlocked.items() for lv in lvs}
            try:
                decision = decide({k: seen.get(k, StockLevel(k[1], 0, 0, 0)) for k in keys})
            except DomainError:
                decision = None  # the locked rows will tell
        if decision is not None:
            draft = drafted(decision)
            order = await write_order(
                uow, draft, placement({}), actor=principal.subject, at=clock.now()
            )
            result = await finish(order)
            written.append(replace(order))  # as stored (the order's row is not written again)
            if _one_row(channel, decision):
                if await _reserve_one(uow, decision, order.id, actor=principal.subject):
                    # the stock is taken: the promotions with a limit and the vouchers remain
                    await take_stock(uow, order, replace(draft, fulfilments=()), placement({}),
                                     actor=principal.subject)  # fmt: skip
                    return result
                # Nothing changed, but the row may stay locked until the end: no other lock
                # is taken after it (out of key order). The stock as committed now says
                # OUT_OF_STOCK, or the order is placed again, locking first.
                fresh = await uow.inventory.levels(list(wanted), publish=channel.location_ids)
                checked({(v, lv.location_id): lv for v, lvs in fresh.items() for lv in lvs})
                raise _Reroute
            # row locks in primary-key order; the rows exist when the read saw them all
            levels = await uow.inventory.lock(keys, create=not set(keys) <= seen.keys())
            checked(levels)
            if _served(decide(levels)) != _served(decision):
                raise _Reroute
            await take_stock(uow, order, draft, placement(levels), actor=principal.subject)
            return result
        levels = await uow.inventory.lock(keys)  # row locks in primary-key order
        checked(levels)
        draft = drafted(decide(levels))
        order = await place_order(uow, draft, placement(levels), actor=principal.subject,
                                  at=clock.now())  # fmt: skip
        return await finish(order)

    async def attempt(*, lock_first: bool) -> CheckoutResult:
        async def run(uow: UnitOfWork) -> CheckoutResult:
            return await work(uow, lock_first=lock_first)

        return await run_once(
            uow_factory,
            scope=f"checkout:{token}",
            caller=principal.subject,
            key=idempotency_key,
            payload={"cart": token, "pay": payment.tender.value if payment else None},
            work=run,
            result=CheckoutResult,
        )

    try:
        return await attempt(lock_first=False)
    except _Reroute:
        return await attempt(lock_first=True)


def _one_row(channel: Channel, decision: RoutingDecision) -> bool:
    """The order is served from one stock row, in a channel that sells all it sees (a share or
    a buffer needs the sum over every row, read under lock)."""
    rule = channel.rule
    return len(decision.allocations) == 1 and rule.share_percent == 100 and rule.buffer == 0


async def _reserve_one(
    uow: UnitOfWork, decision: RoutingDecision, order_id: int, *, actor: str
) -> bool:
    """Reserve an order served from one stock row in one statement, without reading the
    channel's other rows: the row has the units or nothing changes."""
    taken = decision.allocations[0]
    level = await uow.inventory.reserve(
        taken.variant_id, taken.location_id, taken.quantity, reason="checkout", actor=actor,
        reference=f"order:{order_id}",
    )  # fmt: skip
    if level is not None:
        uow.touched.add("stock")
    return level is not None


def _served(decision: RoutingDecision) -> tuple[object, ...]:
    """What a routing decision takes from where (its wording aside)."""
    return (decision.allocations, decision.location_ids, decision.split)


def _out_of_stock(i: int) -> DomainError:
    return DomainError(
        OrderErrorCode.OUT_OF_STOCK, "not enough stock for this line", field=f"lines.{i}.quantity"
    )


def _check_ready(current: CartView) -> None:
    """The cart can become an order: lines, a buyer, a delivery, prices and stock for all."""
    cart, lines = current.cart, current.priced.lines
    if not lines:
        raise DomainError(OrderErrorCode.EMPTY_CART, "the cart is empty", field="cartId")
    if not cart.buyer.reachable:
        raise DomainError(
            OrderErrorCode.BUYER_REQUIRED,
            "an email or a phone number is needed",
            field="buyerIdentity",
        )
    if cart.delivery.method is None:
        raise DomainError(
            OrderErrorCode.DELIVERY_REQUIRED,
            "choose shipping, pick-up or local delivery",
            field="delivery",
        )
    for i, line in enumerate(lines):
        if line.unit_price is None:
            raise DomainError(
                OrderErrorCode.NOT_SOLD_IN_CHANNEL,
                f"{line.sku} is not sold here",
                field=f"lines.{i}",
            )
    for i, line in enumerate(lines):
        # refused without waiting for the stock locks when already sold out (flash sales)
        if line.available_in_channel < line.quantity:
            raise _out_of_stock(i)


def _draft(current: CartView, decision: RoutingDecision) -> OrderDraft:
    """The order a checked-out cart becomes, served as routing decided."""
    cart, channel, evaluation = current.cart, current.channel, current.discounts.evaluation
    method = FulfilmentMethod(str(cart.delivery.method))
    fulfilments = tuple(
        FulfilmentDraft(
            location_id=location_id,
            method=method,
            status=FulfilmentStatus.OPEN,
            lines=tuple(
                (a.variant_id, a.quantity)
                for a in decision.allocations
                if a.location_id == location_id
            ),
            pickup_code=pickup_code() if method is FulfilmentMethod.PICKUP else None,
        )
        for location_id in decision.location_ids
    )
    return OrderDraft(
        channel_id=channel.id,
        channel_handle=channel.handle,
        source=SOURCES.get(channel.kind.value, OrderSource.WEB),
        status=OrderStatus.PLACED,
        payment_status=PaymentStatus.PENDING,
        currency=channel.currency,
        totals=current.totals,
        buyer=cart.buyer,
        delivery=cart.delivery,
        routing=Routing(decision.reason, decision.split, tuple(decision.location_ids)),
        lines=order_lines(current.priced, current.discounts.by_line),
        fulfilments=fulfilments,
        discounts=applied_discounts(evaluation),
        discount_total=evaluation.total_discount.amount,
        member_id=cart.member_id,
        attributed_location_id=cart.delivery.pickup_store,
    )


def serving_sites(
    channel: Channel, levels: dict[tuple[int, int], StockLevel], locations: dict[int, Location]
) -> list[Site]:
    sites = []
    for location_id in channel.location_ids:
        location = locations.get(location_id)
        if location is None or not location.active:
            continue
        available = {v: lv.available for (v, loc), lv in levels.items() if loc == location_id}
        sites.append(
            Site(
                location_id=location_id,
                name=location.name,
                is_store=location.kind == "STORE",
                coordinates=location.coordinates,
                available=available,
                pickup_enabled=location.pickup_enabled,
                local_delivery_radius_km=location.local_delivery_radius_km,
            )
        )
    return sites
