"""The outbox relay publishes committed events once, to a Redis stream or the log."""

from __future__ import annotations

import logging

from adapters.db import models as m
from adapters.events import STREAM
from adapters.kv import RedisKeyValue
from app import relay_outbox
from tests.api.test_members import SIGNUP
from tests.api.test_orders import CHECKOUT, _pickup_cart
from tests.factories import make_world


async def test_events_are_published_once(gql, services, caplog):
    world = await make_world(products=1)
    cart = await _pickup_cart(gql, world)
    await gql(CHECKOUT, {"cart": cart["id"], "key": "e1"})
    await gql(SIGNUP, {"i": {"email": "ev@example.com", "password": "a long enough secret"}})
    waiting = await m.OutboxEvent.filter(published_at=None).count()
    assert waiting >= 3  # order.placed, member.verification_requested, member.registered
    redis = isinstance(services.kv, RedisKeyValue)
    if redis:
        await services.kv.client.delete(STREAM)
    with caplog.at_level(logging.INFO, logger="o2o.events"):
        await relay_outbox(services, forever=False)
        await relay_outbox(services, forever=False)  # nothing is published twice
    assert await m.OutboxEvent.filter(published_at=None).count() == 0
    if redis:
        entries = await services.kv.client.xrange(STREAM)
        topics = [fields[b"topic"].decode() for _, fields in entries]
        assert len(entries) == waiting and "order.placed" in topics
    else:
        assert "verification token is" in caplog.text
        assert caplog.text.count("order.placed") == 1
