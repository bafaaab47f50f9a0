"""The schema is created and evolved by migrations that keep an existing database's data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from adapters.db.database import tortoise_config

ROOT = Path(__file__).resolve().parents[2]


async def test_models_and_migrations_agree(tmp_path: Path):
    config = tortoise_config(f"sqlite://{tmp_path}/detect.sqlite3")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
    assert writers == [], "models changed without a migration: run `python app.py makemigrations`"


def test_migrating_again_keeps_existing_data(tmp_path: Path):
    """`app.py migrate` on a database that already has data applies nothing destructive."""
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    migrate = [sys.executable, "app.py", "migrate"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
    database = tmp_path / "gateway.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "INSERT INTO product (title, handle, description, status, vendor, tags, image_urls,"
            " options, search_text, created_at, updated_at) VALUES ('Kept', 'kept', '', 'ACTIVE',"
            " '', '[]', '[]', '[]', ' kept ', '2026-01-01', '2026-01-01')"
        )
    subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT title FROM product").fetchall() == [("Kept",)]
        applied = conn.execute("SELECT COUNT(*) FROM tortoise_migrations").fetchone()[0]
    assert applied == len(list((ROOT / "adapters/db/migrations").glob("0*.py")))
