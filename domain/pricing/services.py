"""Price use cases: set many price rules at once, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Scope
from domain.ports import UnitOfWorkFactory
from domain.pricing.model import PriceRule, validate_rule


@dataclass(frozen=True, slots=True)
class PriceEntry:
    """One rule to store for one variant; an existing rule with the same identity is replaced."""

    variant_id: int
    rule: PriceRule


async def set_prices(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, entries: Sequence[PriceEntry]
) -> int:
    """Validate every entry, then store them all in one transaction; returns how many."""
    principal.require(scope=Scope.PRICES_WRITE)
    if not entries:
        return 0
    if len(entries) > 1000:
        raise DomainError("INVALID", "at most 1000 prices per call", field="prices")
    for i, entry in enumerate(entries):
        try:
            validate_rule(entry.rule)
        except DomainError as error:
            error.field = f"prices.{i}.{error.field or 'amount'}"
            raise
    async with uow_factory() as uow:
        wanted = {e.variant_id for e in entries}
        missing = wanted - await uow.prices.existing_variant_ids(sorted(wanted))
        if missing:
            index = next(i for i, e in enumerate(entries) if e.variant_id in missing)
            raise NotFound(f"variant {min(missing)}", field=f"prices.{index}.variantId")
        for entry in entries:
            await uow.prices.upsert_rule(entry.variant_id, entry.rule)
        uow.touched.add("price")
    return len(entries)
