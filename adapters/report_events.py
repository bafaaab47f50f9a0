"""The reports' rollup kept current from the event stream: the worker reads the order events
through its own consumer group ("reports") and applies each batch's orders in one
transaction (adapters/db/report_rollup.py), then acknowledges them. Applying is idempotent
(the rollup takes only the difference from what the order added last time), so an event
delivered again after a worker was killed, before or after its commit, changes nothing more."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from adapters.db.report_rollup import TOPICS, apply_orders
from adapters.marketplaces.worker import StreamEvents

log = logging.getLogger("o2o.reports")
GROUP = "reports"
DEAD_STREAM = "o2o:events:dead:reports"


def report_events(client: Any) -> StreamEvents:
    """The event stream as the reports' consumer group reads it."""
    return StreamEvents(client, group=GROUP, dead_stream=DEAD_STREAM)


def _order_id(payload: Any) -> int | None:
    value = payload.get("orderId") if isinstance(payload, dict) else None
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


async def apply_batch(events: StreamEvents, *, tz: str, wait_seconds: float = 1.0) -> int:
    """Read one batch, apply its orders, acknowledge it; returns the events read."""
    batch = await events.read(wait_seconds)
    if not batch:
        return 0
    orders = {
        order_id
        for _, e in batch
        if e.topic in TOPICS and (order_id := _order_id(e.payload)) is not None
    }
    await apply_orders(orders, tz=tz)  # raises: left unacknowledged, delivered again
    await events.ack([i for i, _ in batch])
    return len(batch)


async def run_rollup(client: Any, *, tz: str, forever: bool = True) -> None:
    """The worker's loop (every worker process may run it: the group shares the events)."""
    events = report_events(client)
    while True:
        try:
            await apply_batch(events, tz=tz)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("report rollup events failed")
            await asyncio.sleep(1.0)
        if not forever:
            return
