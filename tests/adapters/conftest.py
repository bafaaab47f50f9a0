"""Adapter-test fixtures: localstripe (a process per test module) behind the idempotency proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.localstripe import IdempotencyProxy, running_localstripe


@pytest.fixture(scope="module")
def localstripe_url() -> Iterator[str]:
    """A fresh localstripe process on a free port, stopped after the module."""
    with running_localstripe() as base:
        yield base


@pytest.fixture(scope="module")
def proxy(localstripe_url: str) -> Iterator[IdempotencyProxy]:
    p = IdempotencyProxy(localstripe_url)
    yield p
    p.close()
