"""Every ledger against what it explains: `app.py audit` and the tests run these checks.

- stock: the on-hand movements of a (variant, location) add up to its on hand; its active
  reservations add up to its reserved; 0 <= reserved <= on hand.
- points: a member's ledger entries add up to the points left in their lots, and to the balance
  the last entry recorded.
- promotions: a promotion's used count equals its recorded uses, and each use's order carries a
  discount of that promotion.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from adapters.db import models as m

RESERVING = ("RESERVATION", "RELEASE")  # movements of reserved units, not of on hand


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where a ledger and what it explains disagree."""

    ledger: str
    subject: str
    detail: str


async def _stock() -> Iterator[Difference]:
    on_hand: dict[tuple[int, int], int] = defaultdict(int)
    for v, loc, kind, delta in await m.StockMovement.all().values_list(
        "variant_id", "location_id", "kind", "delta"
    ):
        if kind not in RESERVING:
            on_hand[(v, loc)] += delta
    held: dict[tuple[int, int], int] = defaultdict(int)
    for v, loc, q in await m.Reservation.filter(status="ACTIVE").values_list(
        "variant_id", "location_id", "quantity"
    ):
        held[(v, loc)] += q
    found = []
    for row in await m.Stock.all():
        key = (row.variant_id, row.location_id)
        subject = f"variant {key[0]} at location {key[1]}"
        if on_hand[key] != row.on_hand:
            found.append(
                Difference("stock", subject, f"movements {on_hand[key]} != on hand {row.on_hand}")
            )
        if held[key] != row.reserved:
            found.append(
                Difference("stock", subject, f"reservations {held[key]} != reserved {row.reserved}")
            )
        if not 0 <= row.reserved <= row.on_hand:
            found.append(
                Difference("stock", subject, f"reserved {row.reserved}, on hand {row.on_hand}")
            )
    return iter(found)


async def _points() -> Iterator[Difference]:
    entries: dict[int, int] = defaultdict(int)
    last: dict[int, tuple[int, int]] = {}
    for ident, member, points, after in await m.PointsEntry.all().values_list(
        "id", "member_id", "points", "balance_after"
    ):
        entries[member] += points
        if member not in last or ident > last[member][0]:
            last[member] = (ident, after)
    lots: dict[int, int] = defaultdict(int)
    for member, remaining in await m.PointsLot.all().values_list("member_id", "remaining"):
        lots[member] += remaining
    found = []
    for member in sorted(set(entries) | set(lots)):
        subject = f"member {member}"
        if entries[member] != lots[member]:
            found.append(
                Difference("points", subject, f"entries {entries[member]} != lots {lots[member]}")
            )
        if member in last and last[member][1] != entries[member]:
            found.append(
                Difference(
                    "points",
                    subject,
                    f"last balance {last[member][1]} != entries {entries[member]}",
                )
            )
    return iter(found)


async def _promotions() -> Iterator[Difference]:
    uses: dict[int, list[int]] = defaultdict(list)
    for promotion, order in await m.PromotionUse.all().values_list("promotion_id", "order_id"):
        uses[promotion].append(order)
    carried: dict[int, set[int]] = defaultdict(set)
    orders = {u for used in uses.values() for u in used}
    for order, discounts in await m.Order.filter(id__in=sorted(orders)).values_list(
        "id", "discounts"
    ):
        for d in discounts or ():
            carried[order].add(int(d.get("promotionId", 0)))
    found = []
    rows = await m.Promotion.all().values_list(
        "id", "used_count", "usage_limit", "per_member_limit"
    )
    for promotion, used_count, limit, per_member in rows:
        subject = f"promotion {promotion}"
        limited = limit is not None or per_member is not None  # used_count is kept for those
        if limited and used_count != len(uses[promotion]):
            found.append(
                Difference(
                    "promotions", subject, f"used {used_count} != uses {len(uses[promotion])}"
                )
            )
        for order in uses[promotion]:
            if promotion not in carried[order]:
                found.append(
                    Difference("promotions", subject, f"order {order} carries no such discount")
                )
    return iter(found)


CHECKS = {"stock": _stock, "points": _points, "promotions": _promotions}


async def audit(progress: Callable[[str], None] | None = None) -> list[Difference]:
    """Every difference between the ledgers and what they explain (empty when all agree)."""
    found: list[Difference] = []
    for name, check in CHECKS.items():
        found.extend(await check())
        if progress is not None:
            progress(name)
    return found
