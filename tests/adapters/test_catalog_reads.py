"""The catalog's plain-SQL reads answer what the domain computes from the ORM's rows: the units
a channel may sell are summed by the database as ``StockLevel.available`` sums them (on hand
less reserved less safety stock, never below 0), only at the given locations."""

from __future__ import annotations

import random

from adapters.db import models as m
from adapters.db.queries import TortoiseCatalogQueries
from domain.inventory.model import AllocationRule, available_to_sell
from tests.factories import make_world


async def test_available_totals_match_the_domain_sum(db: str) -> None:
    world = await make_world(products=3, variants_per_product=3)
    rng = random.Random(7)
    for stock in await m.Stock.all():
        on_hand = rng.randint(0, 12)
        stock.on_hand = on_hand
        stock.reserved = rng.randint(0, on_hand)
        stock.safety_stock = rng.randint(0, 6)  # often above what is left: counts as 0
        await stock.save()
    ids = [v.id for v in world.variants] + [999_999]  # one without any stock row
    queries = TortoiseCatalogQueries()
    levels = await queries.stock_by_variant_ids(ids)
    every = (world.warehouse.id, world.part_dieu.id, world.bellecour.id)
    for places in (every, every[1:], (world.bellecour.id,), ()):
        totals = await queries.available_totals(ids, places)
        for variant_id in ids:
            expected = available_to_sell(
                levels.get(variant_id, []), rule=AllocationRule(), serving=places
            )
            assert totals.get(variant_id, 0) == expected, (variant_id, places)
