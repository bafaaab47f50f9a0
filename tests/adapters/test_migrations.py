"""The schema is created and evolved by migrations that keep an existing database's data."""

from __future__ import annotations

from pathlib import Path

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from adapters.db import models as m
from adapters.db.database import close_database, migrate_database, open_database, tortoise_config


async def test_models_and_migrations_agree(tmp_path: Path):
    config = tortoise_config(f"sqlite://{tmp_path}/detect.sqlite3")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert writers == [], "models changed without a migration: run `python app.py makemigrations`"


async def test_migrating_again_keeps_existing_data(tmp_path: Path):
    url = f"sqlite://{tmp_path}/keep.sqlite3"
    async with TortoiseContext() as ctx:
        await migrate_database(url)
        await close_database()
        await open_database(url)
        await m.Product.create(title="Kept", handle="kept")
        await close_database()
        await migrate_database(url)
        await close_database()
        await open_database(url)
        assert await m.Product.filter(handle="kept").count() == 1
        await close_database()
    assert ctx is not None
