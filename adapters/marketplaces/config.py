"""Marketplace accounts from settings: which channel speaks to which API, where, with which
credentials. Credentials live in the environment (or a file it names), never in the database.

``MARKETPLACES`` holds a JSON list, or ``@path`` to a JSON file with that list:

    [{"channel": "marketplace-amazon-fr", "kind": "AMAZON",
      "base_url": "https://sellingpartnerapi-eu.amazon.com",
      "credentials": {"client_id": "...", "client_secret": "...", "refresh_token": "..."},
      "options": {"marketplace_id": "A13V1IB3VIYZZH", "seller_id": "..."}}]

``options.rate_scale`` multiplies every documented rate limit (a fake marketplace in tests and
the demo answers faster than the real one allows; never set it for a real account).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.marketplaces.model import MarketplaceKind


@dataclass(frozen=True, slots=True)
class MarketplaceAccount:
    """One seller account: the channel it sells for, its API and its credentials."""

    channel: str
    kind: MarketplaceKind
    base_url: str
    credentials: Mapping[str, str] = field(default_factory=dict, repr=False)
    options: Mapping[str, str] = field(default_factory=dict)

    @property
    def rate_scale(self) -> float:
        return float(self.options.get("rate_scale", "1"))

    def __repr__(self) -> str:  # credentials never reach a log line or a traceback
        return f"MarketplaceAccount({self.channel!r}, {self.kind.value}, {self.base_url!r})"


def parse_accounts(value: str | None) -> tuple[MarketplaceAccount, ...]:
    """The accounts of a ``MARKETPLACES`` value (JSON, or ``@file``); () when unset."""
    if not value or not value.strip():
        return ()
    text = Path(value[1:]).read_text() if value.startswith("@") else value
    raw: Any = json.loads(text)
    if not isinstance(raw, list):
        raise ValueError("MARKETPLACES is a JSON list of accounts")
    accounts = []
    for item in raw:
        try:
            kind = MarketplaceKind(str(item["kind"]).upper())
            accounts.append(
                MarketplaceAccount(
                    channel=str(item["channel"]),
                    kind=kind,
                    base_url=str(item["base_url"]).rstrip("/"),
                    credentials={str(k): str(v) for k, v in item.get("credentials", {}).items()},
                    options={str(k): str(v) for k, v in item.get("options", {}).items()},
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"MARKETPLACES: bad account entry ({type(error).__name__}: "
                             f"{error})") from None  # fmt: skip
    return tuple(accounts)
