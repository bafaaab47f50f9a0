"""The checkout gate: at most N checkout transactions per process; a waiter hears "sold out"
as soon as another checkout of the process learnt it, without waiting for a slot; a cancelled
waiter holds no slot."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import DomainError
from domain.orders.checkout import _Gate


async def test_a_waiter_hears_sold_out_without_a_slot():
    gate = _Gate(1)
    await gate.enter(_never)  # the only slot, held
    sold_out = False

    async def recheck() -> DomainError | None:
        return DomainError("OUT_OF_STOCK", "sold out") if sold_out else None

    waiter = asyncio.ensure_future(gate.enter(recheck))
    await asyncio.sleep(0)
    assert not waiter.done()
    gate.sold_out()  # news, but the counter still says there is stock: keep waiting
    await asyncio.sleep(0.01)
    assert not waiter.done()
    sold_out = True
    await asyncio.sleep(0.06)
    gate.sold_out()
    with pytest.raises(DomainError):
        await asyncio.wait_for(waiter, 1)
    gate.slots.release()
    await asyncio.wait_for(gate.enter(_never), 1)  # the slot is free again


async def test_a_cancelled_waiter_holds_no_slot():
    gate = _Gate(1)
    await gate.enter(_never)
    waiter = asyncio.ensure_future(gate.enter(_never))
    await asyncio.sleep(0)
    gate.slots.release()  # given to the waiter...
    waiter.cancel()  # ...which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(gate.enter(_never), 1)


async def _never() -> DomainError | None:
    return None
