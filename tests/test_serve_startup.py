"""What a serving process does once started: the heap made at start-up is frozen, so the
garbage collector's full passes under load walk only what requests made (no stalls)."""

from __future__ import annotations

import gc
from typing import Any

from adapters.kv import MemoryKeyValue
from adapters.settings import Settings
from app import build_services, create_app


async def test_startup_freezes_the_heap(db: Any, settings: Settings) -> None:
    services = build_services(settings, kv=MemoryKeyValue())  # the lifespan closes it
    app = create_app(settings, services=services, manage_database=False)
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        async with app.router.lifespan_context(app):
            # the modules, the schema and the ORM's metadata: far more than a request makes
            assert gc.get_freeze_count() > 20_000
            assert sum(gc.get_count()) < 1_000  # a full collection ran just before
    finally:
        gc.unfreeze()


def test_the_stripe_sdk_is_imported_only_when_payments_use_it() -> None:
    """A server without a Stripe key starts without the SDK (time and memory at start)."""
    import subprocess
    import sys
    from pathlib import Path

    check = "import sys, app; sys.exit('stripe' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", check], cwd=root).returncode == 0
