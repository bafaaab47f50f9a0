"""The attributions of the orders of one request, with the names they show, in one batch."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from domain.attribution.model import Attribution
from resolvers.context import Context


@dataclass(frozen=True, slots=True)
class Shown:
    """An attribution with the names of its clerk and code and its franchisee."""

    attribution: Attribution
    clerk: str | None
    code: str | None
    franchisee: str | None


async def attributions_of(ctx: Context, order_id: int) -> list[Shown]:
    """An order's attributions (two queries for every order of the request)."""
    loader = ctx.extra.get("attributions")
    if loader is None:
        uow_factory = ctx.services.uow

        async def load(keys: list[int]) -> list[list[Shown]]:
            async with uow_factory() as uow:
                found = await uow.commissions.attributions(keys)
                every = [a for rows in found.values() for a in rows]
                if not every:
                    return [[] for _ in keys]
                parties = await uow.commissions.parties(
                    location_ids=sorted({a.location_id for a in every if a.location_id}),
                    staff_ids=sorted({a.staff_id for a in every if a.staff_id}),
                    code_ids=sorted({a.code_id for a in every if a.code_id}),
                )
            return [
                [
                    Shown(
                        a,
                        parties.staff.get(a.staff_id) if a.staff_id else None,
                        parties.codes.get(a.code_id) if a.code_id else None,
                        _franchisee(a, parties.stores),
                    )
                    for a in found.get(k, [])
                ]
                for k in keys
            ]

        loader = ctx.extra["attributions"] = DataLoader(load_fn=load)
    shown: list[Shown] = await loader.load(order_id)
    return shown


def _franchisee(a: Attribution, stores: dict) -> str | None:  # type: ignore[type-arg]
    if a.franchisee_id is None or a.location_id is None or a.location_id not in stores:
        return None
    return str(stores[a.location_id].franchisee_name) or None
