"""Relaying the outbox: events committed with the changes they describe are published once,
in order, to the event stream that points, payments, marketplaces and webhooks consume."""

from __future__ import annotations

from domain.ports import Clock, EventPublisher, UnitOfWorkFactory


async def relay(
    uow_factory: UnitOfWorkFactory, publisher: EventPublisher, *, clock: Clock, limit: int = 200
) -> int:
    """Publish up to ``limit`` waiting events and mark them published, in one transaction: a
    crash before the commit publishes them again (consumers dedupe on the event id)."""
    async with uow_factory() as uow:
        waiting = await uow.events.take(limit=limit)
        for message in waiting:
            await publisher.publish(message)
        await uow.events.mark_published([m.id for m in waiting], at=clock.now())
    return len(waiting)
