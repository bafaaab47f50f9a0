"""Event publishers: a Redis stream shared by every consumer, or the log (embedded default).

Events carry no secret (verification tokens and voucher codes stay out of them): a notifier reads
the member's private queue (table ``member_message``). In development the log publisher plays
that notifier and shows the messages, so the member flows can be tried without an email or SMS
service."""

from __future__ import annotations

import json
import logging

import redis.asyncio as aioredis
from tortoise.timezone import now

from adapters.db import models as m
from domain.ports import OutboxMessage

STREAM = "o2o:events"
# the topics that tell the notifier a member's queue has a message
NOTIFYING = ("member.verification_requested", "member.message_queued")
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
        if self.show_notifications and message.topic in NOTIFYING:
            await _show_messages(int(message.payload["memberId"]))
            return
        log.info("event %s %s %s", message.id, message.topic, message.aggregate_id)


async def _show_messages(member_id: int) -> None:
    """The development notifier: log the member's waiting messages and mark them delivered."""
    waiting = await m.MemberMessage.filter(member_id=member_id, delivered_at=None).order_by("id")
    for row in waiting:
        log.warning("[dev notifier] to %s: %s", row.to, row.body)
    if waiting:
        ids = [row.id for row in waiting]
        await m.MemberMessage.filter(id__in=ids).update(delivered_at=now())
