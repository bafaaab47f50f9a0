"""Placing orders is not serialised by the order number: two open transactions insert at once."""

from __future__ import annotations

import asyncio

import pytest

from adapters.db.database import is_postgres
from adapters.db.unit_of_work import TortoiseUnitOfWork
from domain.money import Money
from domain.orders.model import Buyer, Delivery, OrderDraft, Routing, Totals
from domain.orders.states import OrderSource, OrderStatus, PaymentStatus
from tests.factories import make_world


def _draft(channel_id: int) -> OrderDraft:
    zero = Money(0, "EUR")
    return OrderDraft(
        channel_id=channel_id,
        channel_handle="web",
        source=OrderSource.WEB,
        status=OrderStatus.PLACED,
        payment_status=PaymentStatus.PENDING,
        currency="EUR",
        totals=Totals(zero, zero, zero, zero),
        buyer=Buyer(email="a@example.com"),
        delivery=Delivery(),
        routing=Routing("test"),
        lines=(),
        fulfilments=(),
    )


async def test_two_open_transactions_place_orders_without_waiting(db, settings):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite runs one writer at a time")
    world = await make_world(products=0)
    first_added = asyncio.Event()
    release = asyncio.Event()

    async def first() -> int:
        async with TortoiseUnitOfWork() as uow:
            order_id = await uow.orders.add(_draft(world.web.id))
            first_added.set()
            await release.wait()  # hold the transaction open
            return order_id

    holder = asyncio.create_task(first())
    await first_added.wait()
    try:
        async with TortoiseUnitOfWork() as uow:  # must not wait for the first to commit
            second = await asyncio.wait_for(uow.orders.add(_draft(world.web.id)), 3)
    finally:
        release.set()
    first_id = await holder
    assert second != first_id
