"""Event publishers: a Redis stream shared by every consumer, or the log (embedded default).

In development the log publisher also shows what a notifier would send (verification tokens,
vouchers), so the member flows can be tried without an email or SMS service."""

from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis

from domain.ports import OutboxMessage

STREAM = "o2o:events"
log = logging.getLogger("o2o.events")


def _fields(message: OutboxMessage) -> dict[str, str]:
    return {
        "id": str(message.id),
        "topic": message.topic,
        "aggregate": message.aggregate_id,
        "payload": json.dumps(message.payload, separators=(",", ":"), default=str),
        "at": message.created_at.isoformat(),
    }


class RedisStreamPublisher:
    """XADD to one capped stream; consumers read it with consumer groups."""

    def __init__(self, client: aioredis.Redis, *, max_length: int = 100_000) -> None:
        self.client = client
        self.max_length = max_length

    async def publish(self, message: OutboxMessage) -> None:
        await self.client.xadd(
            STREAM,
            _fields(message),
            maxlen=self.max_length,
            approximate=True,  # type: ignore[arg-type]
        )


class LogPublisher:
    """Writes events to the log; in development, notifications are shown in full."""

    def __init__(self, *, show_notifications: bool) -> None:
        self.show_notifications = show_notifications

    async def publish(self, message: OutboxMessage) -> None:
        if self.show_notifications and message.topic == "member.verification_requested":
            p = message.payload
            log.warning("[dev notifier] to %s: your verification token is %s", p["to"], p["token"])
            return
        log.info("event %s %s %s", message.id, message.topic, message.aggregate_id)
