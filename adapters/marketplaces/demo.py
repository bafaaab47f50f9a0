"""The three fake marketplaces beside a local server, for the demo and benchmarks: each fake
on its loopback port, its listings created for the channel's SKUs (a real marketplace has them
before any price or quantity is pushed), its notifications sent to the server, and the
``MARKETPLACES`` value that points the server's accounts at them."""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.db.demo_data import MARKETPLACES

KINDS = {"amazon": "AMAZON", "walmart": "WALMART", "ebay": "EBAY"}
PORTS = {"amazon": 8101, "walmart": 8102, "ebay": 8103}
CREDENTIALS = {
    "amazon": {"client_id": "demo-lwa-client", "client_secret": "demo-lwa-secret",
               "refresh_token": "demo-refresh-token"},
    "walmart": {"client_id": "demo-walmart-client", "client_secret": "demo-walmart-secret"},
    "ebay": {"client_id": "demo-ebay-client", "client_secret": "demo-ebay-secret",
             "refresh_token": "demo-ebay-refresh"},
}  # fmt: skip
OPTIONS = {
    "amazon": {"seller_id": "A1FAKESELLER", "marketplace_id": "A13V1IB3VIYZZH", "feed_poll": "1"},
    "walmart": {"ship_node": "10001", "feed_poll_interval": "1"},
    "ebay": {"marketplace_id": "EBAY_FR"},
}


@dataclass(frozen=True, slots=True)
class Fake:
    name: str  # amazon, walmart, ebay
    channel: str
    currency: str
    base_url: str
    state: Any


def channel_of(name: str) -> tuple[str, str]:
    """The demo channel (handle, currency) of a marketplace."""
    handle, _, currency, _, _ = next(m for m in MARKETPLACES if name in m[0])
    return handle, currency


def accounts(fakes: Sequence[Fake], *, rate_scale: str = "20") -> str:
    """The ``MARKETPLACES`` value for these fakes (demo credentials, faster rates)."""
    return json.dumps(
        [
            {
                "channel": f.channel,
                "kind": KINDS[f.name],
                "base_url": f.base_url,
                "credentials": CREDENTIALS[f.name],
                "options": {
                    **OPTIONS[f.name],
                    "rate_scale": rate_scale,
                    "token_url": f"{f.base_url}{_token_path(f.name)}",
                },
            }
            for f in fakes
        ]
    )


def _token_path(name: str) -> str:
    return {"amazon": "/auth/o2/token", "walmart": "/v3/token",
            "ebay": "/identity/v1/oauth2/token"}[name]  # fmt: skip


_STATE = {"amazon": "FakeAmazonState", "walmart": "FakeWalmartState", "ebay": "FakeEbayState"}


def _module(name: str) -> Any:
    return importlib.import_module(f"tools.fake_marketplaces.{name}")


@contextlib.contextmanager
def running_fakes(
    skus: Sequence[str],
    *,
    server_url: str | None,
    names: Sequence[str] = ("amazon", "walmart", "ebay"),
    ports: dict[str, int] | None = None,
) -> Iterator[list[Fake]]:
    """Serve the fakes (in threads) with a listing per SKU; notifications to ``server_url``."""
    from tools.fake_marketplaces.serve import serving

    with contextlib.ExitStack() as stack:
        fakes = []
        for name in names:
            module = _module(name)
            state = getattr(module, _STATE[name])()
            handle, currency = channel_of(name)
            base = stack.enter_context(
                serving(module.create_app(state), port=(ports or {}).get(name))
            )
            listings = {sku: {"quantity": 0, "price": 0, "currency": currency} for sku in skus}
            httpx.post(f"{base}/_fake/listings", json=listings, timeout=60).raise_for_status()
            if server_url:
                config = {"notify_url": f"{server_url}/marketplaces/{handle}/notifications"}
                httpx.post(f"{base}/_fake/config", json=config, timeout=10).raise_for_status()
            fakes.append(Fake(name, handle, currency, base, state))
        yield fakes
