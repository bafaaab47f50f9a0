"""Indexes the marketplace sync's rounds need on a large catalog.

- The pusher claims a channel's dirty rows in id order: a partial index over the dirty rows
  alone (a round used to read and sort every dirty row of the channel: the whole backlog).
- Price rules starting or ending between two looks (scheduled sales) are found by time.
"""

from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = """
CREATE INDEX IF NOT EXISTS marketplace_listing_dirty ON marketplace_listing (channel_id, id)
    WHERE dirty;
CREATE INDEX IF NOT EXISTS price_starts_at ON price (starts_at) WHERE starts_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS price_ends_at ON price (ends_at) WHERE ends_at IS NOT NULL;
"""
BACKWARD = """
DROP INDEX IF EXISTS marketplace_listing_dirty;
DROP INDEX IF EXISTS price_starts_at;
DROP INDEX IF EXISTS price_ends_at;
"""


async def _script(editor: Any, sql: str) -> None:
    if getattr(editor, "collect_sql", False):  # `sqlmigrate`: show, do not run
        editor.collected_sql.append(sql.strip())
    else:
        await editor.client.execute_script(sql)


async def create_indexes(apps: Any, editor: Any) -> None:
    await _script(editor, FORWARD)


async def drop_indexes(apps: Any, editor: Any) -> None:
    await _script(editor, BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("models", "0011_settlement_indexes")]

    initial = False

    operations = [ops.RunPython(create_indexes, drop_indexes)]
