"""Exit 1 when adapters/db/models/ changed without a migration (run by `make lint` and a test).

Runs in its own process: initialising a second Tortoise context would rebind the models'
query builders of a running test session to another database dialect.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tortoise.context import TortoiseContext  # noqa: E402
from tortoise.migrations.autodetector import MigrationAutodetector  # noqa: E402

from adapters.db.database import MIGRATIONS_CONFIG  # noqa: E402


async def pending_changes() -> list[str]:
    """Names of the migrations `makemigrations` would write now."""
    async with TortoiseContext() as ctx:
        await ctx.init(config=MIGRATIONS_CONFIG)
        detector = MigrationAutodetector(ctx.apps, MIGRATIONS_CONFIG["apps"])
        return [writer.name for writer in await detector.changes()]


def main() -> int:
    """Print what is missing and exit 1, or confirm the migrations are complete."""
    missing = asyncio.run(pending_changes())
    if missing:
        print(f"models changed without a migration ({missing}): run `python app.py makemigrations`")
        return 1
    print("migrations match the models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
