"""Several processes migrating one PostgreSQL database at once take turns (advisory lock)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from adapters.db.database import is_postgres
from tests.e2e.servers import ROOT

pytestmark = pytest.mark.e2e


async def test_three_processes_migrating_together_all_succeed(settings, tmp_path):
    if not is_postgres(settings.database_url):
        pytest.skip("needs PostgreSQL (DATABASE_URL): the race is about one shared server")
    import asyncpg

    from adapters.db.database import normalize_url

    url = normalize_url(settings.database_url).replace("postgres://", "postgresql://", 1)
    scratch = url.rsplit("/", 1)[0] + "/o2o_migrate_race"

    async def recreate() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP DATABASE IF EXISTS o2o_migrate_race")
            await conn.execute("CREATE DATABASE o2o_migrate_race")
        finally:
            await conn.close()

    await recreate()
    env = {"DATABASE_URL": scratch, "DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "app.py", "migrate", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        for _ in range(3)
    ]  # fmt: skip
    outputs = [(await asyncio.wait_for(p.communicate(), 120))[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
