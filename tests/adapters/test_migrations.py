"""The schema is created and evolved by migrations that keep an existing database's data."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree():
    result = subprocess.run(
        [sys.executable, "tools/check_migrations.py"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
