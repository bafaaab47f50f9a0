"""The embedded SQLite default takes one writer: `serve --workers 2` is refused with a clear
message before anything starts, instead of answering "database is locked" 500s later."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from adapters.settings import Settings
from app import check_workers, cli


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": "", "SECRET_KEY": "k" * 40}
    result = CliRunner().invoke(cli, ["serve", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert "--workers 2 needs PostgreSQL" in result.output
    assert not (tmp_path / "gateway.sqlite3").exists()  # refused before migrating


def test_postgres_serves_any_number_of_workers(tmp_path: Path) -> None:
    sqlite = Settings.from_env({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40})
    check_workers(sqlite, 1)
    with pytest.raises(click.UsageError):
        check_workers(sqlite, 4)
    postgres = Settings.from_env(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k" * 40, "DATABASE_URL": "postgres://x/y"}
    )
    check_workers(postgres, 4)
