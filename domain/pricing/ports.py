"""What the price use cases need from storage: the price rules of variants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domain.pricing.model import PriceRule


class PriceRepository(Protocol):
    """Price rules of variants; a rule's identity is its kind, currency, channel, tier, start."""

    async def existing_variant_ids(self, variant_ids: Sequence[int]) -> set[int]: ...
    async def replace_rules(self, variant_id: int, rules: Sequence[PriceRule]) -> None: ...
    async def upsert_rule(self, variant_id: int, rule: PriceRule) -> None: ...
    async def rules_for(self, variant_ids: Sequence[int]) -> dict[int, list[PriceRule]]: ...
