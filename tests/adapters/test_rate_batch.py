"""Per-request rate limits counted in batches: one Redis round trip per batch of requests far
below the limit, every hit near it decided by the shared counter."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from adapters.kv import MemoryKeyValue, _window
from adapters.settings import Settings
from adapters.web.auth import BatchedRateLimiter, request_limiter
from app import build_services, create_app
from domain.ports import RateDecision


class SharedCounter(MemoryKeyValue):
    """The shared store (Redis in production), counting its round trips."""

    def __init__(self) -> None:
        super().__init__()
        self.trips = 0
        self.counts: dict[str, int] = {}

    async def hit_many(
        self, key: str, count: int, *, limit: int, window_seconds: int
    ) -> RateDecision:
        self.trips += 1
        await asyncio.sleep(0)  # a round trip: other requests run meanwhile
        window, retry = _window(window_seconds)
        name = f"{key}:{window}"
        self.counts[name] = self.counts.get(name, 0) + count
        total = self.counts[name]
        return RateDecision(total <= limit, max(0, limit - total), retry)


def limiter(shared: SharedCounter) -> BatchedRateLimiter:
    return BatchedRateLimiter(shared, batch=16, share=0.5, sync_seconds=3600)


async def test_one_process_never_passes_more_than_the_limit():
    shared = SharedCounter()
    one = limiter(shared)
    allowed = [(await one.hit("k", limit=100, window_seconds=3600)).allowed for _ in range(300)]
    assert allowed == [True] * 100 + [False] * 200


async def test_far_below_the_limit_one_round_trip_per_batch():
    shared = SharedCounter()
    one = limiter(shared)
    for _ in range(160):
        assert (await one.hit("k", limit=1200, window_seconds=3600)).allowed
    # the first hit, then one in 17 (16 counted here, sent with the next)
    assert shared.trips == 10
    assert sum(shared.counts.values()) == 154  # the 6 since the last trip go with the next


async def test_requests_arriving_during_a_round_trip_are_still_counted_here():
    shared = SharedCounter()
    one = limiter(shared)
    await one.hit("k", limit=1200, window_seconds=3600)
    hits = [one.hit("k", limit=1200, window_seconds=3600) for _ in range(160)]
    assert all(d.allowed for d in await asyncio.gather(*hits))
    assert shared.trips == 1 + 9  # not one per request while a batch is on its way


async def test_near_the_limit_every_hit_is_decided_by_the_shared_count():
    shared = SharedCounter()
    one = limiter(shared)
    allowed = [(await one.hit("k", limit=5, window_seconds=3600)).allowed for _ in range(6)]
    assert allowed == [True] * 5 + [False]
    # past half the limit (2.5) nothing is decided here: only the second hit was
    assert shared.trips == 5


async def test_two_processes_pass_at_most_a_batch_each_over_the_limit():
    shared = SharedCounter()
    first, second = limiter(shared), limiter(shared)
    allowed = 0
    for i in range(400):
        process = first if i % 2 else second
        allowed += (await process.hit("k", limit=100, window_seconds=3600)).allowed
    assert 100 <= allowed <= 100 + 2 * 16


async def test_the_middleware_counts_requests_in_batches(db: Any, settings: Settings):
    shared = SharedCounter()
    app = create_app(settings, services=build_services(settings, kv=shared), manage_database=False)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        for _ in range(34):
            response = await http.post("/graphql", json={"query": "{ channels { handle } }"})
            assert response.status_code == 200
    # the first request, then one with each batch (two unless the machine stalls 0.25 s)
    assert 0 < shared.trips < 34


def test_only_a_store_that_counts_batches_is_batched():
    assert isinstance(request_limiter(SharedCounter()), BatchedRateLimiter)
    memory = MemoryKeyValue()
    assert request_limiter(memory) is memory  # in-process already: nothing to save
