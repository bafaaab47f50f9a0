"""Settlement in the database: franchisees and their stores, wholesale prices, statements and
their lines, the commission entries they settle, and the franchise facts of a month."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q, Subquery

from adapters.db import models as m
from domain.settlement.model import (
    Beneficiary,
    Franchisee,
    FulfilledLine,
    FulfilledOrder,
    LineKind,
    OpenEntry,
    Statement,
    StatementLine,
    StatementState,
    TillRefund,
    TillSale,
    Transfer,
)

SERVED = ("PICKED_UP", "SHIPPED", "DISPATCHED", "DELIVERED", "HANDED_OVER")
DEFAULT_CURRENCY = "EUR"


class TortoiseFranchiseRepository:
    """Franchisees, their stores and the wholesale prices."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def _stores(self, franchisee_ids: Sequence[int] | None = None) -> dict[int, list[int]]:
        query = m.FranchiseLocation.all().using_db(self.conn)
        if franchisee_ids is not None:
            query = query.filter(franchisee_id__in=list(franchisee_ids))
        stores: dict[int, list[int]] = defaultdict(list)
        for row in await query.order_by("location_id"):
            stores[row.franchisee_id].append(row.location_id)
        return stores

    @staticmethod
    def _franchisee(row: m.Franchisee, stores: Sequence[int]) -> Franchisee:
        return Franchisee(row.id, row.handle, row.name, tuple(stores), dict(row.contact or {}))

    async def franchisees(self) -> list[Franchisee]:
        rows = await m.Franchisee.all().using_db(self.conn).order_by("id")
        stores = await self._stores()
        return [self._franchisee(r, stores.get(r.id, [])) for r in rows]

    async def franchisee(self, franchisee_id: int) -> Franchisee | None:
        row = await m.Franchisee.filter(id=franchisee_id).using_db(self.conn).first()
        if row is None:
            return None
        return self._franchisee(row, (await self._stores([row.id])).get(row.id, []))

    async def handle_taken(self, handle: str) -> bool:
        return await m.Franchisee.filter(handle=handle).using_db(self.conn).exists()

    async def create(self, *, handle: str, name: str, contact: dict[str, str]) -> Franchisee:
        row = await m.Franchisee.create(
            using_db=self.conn, handle=handle, name=name, contact=contact
        )
        return self._franchisee(row, [])

    async def assign(self, location_id: int, franchisee_id: int | None) -> None:
        await m.FranchiseLocation.filter(location_id=location_id).using_db(self.conn).delete()
        if franchisee_id is not None:
            await m.FranchiseLocation.create(
                using_db=self.conn, location_id=location_id, franchisee_id=franchisee_id
            )

    async def owners_of(self, location_ids: Sequence[int]) -> dict[int, Franchisee]:
        links = await m.FranchiseLocation.filter(location_id__in=list(location_ids)).using_db(
            self.conn
        )
        if not links:
            return {}
        owner_ids = sorted({link.franchisee_id for link in links})
        rows = {r.id: r for r in await m.Franchisee.filter(id__in=owner_ids).using_db(self.conn)}
        stores = await self._stores(owner_ids)
        return {
            link.location_id: self._franchisee(rows[link.franchisee_id], stores[link.franchisee_id])
            for link in links
            if link.franchisee_id in rows
        }

    async def set_wholesale(self, prices: Mapping[tuple[int, str], int]) -> None:
        for (variant_id, currency), amount in sorted(prices.items()):
            updated = (
                await m.WholesalePrice.filter(variant_id=variant_id, currency=currency)
                .using_db(self.conn)
                .update(amount=amount)
            )
            if not updated:
                await m.WholesalePrice.create(
                    using_db=self.conn, variant_id=variant_id, currency=currency, amount=amount
                )

    async def wholesale(self, variant_ids: Sequence[int], currency: str) -> dict[int, int]:
        rows = await m.WholesalePrice.filter(
            variant_id__in=list(variant_ids), currency=currency
        ).using_db(self.conn)
        return {r.variant_id: r.amount for r in rows}

    async def known_variants(self, variant_ids: Sequence[int]) -> set[int]:
        ids = (
            await m.Variant.filter(id__in=list(variant_ids))
            .using_db(self.conn)
            .values_list("id", flat=True)
        )
        return {int(i) for i in ids}


def _statement(row: m.Statement) -> Statement:
    return Statement(
        id=row.id,
        beneficiary_kind=row.beneficiary_kind,
        beneficiary_id=row.beneficiary_id,
        period=row.period,
        currency=row.currency,
        state=StatementState(row.state),
        total=row.total,
        created_at=row.created_at,
        approved_at=row.approved_at,
        approved_by=row.approved_by,
        paid_at=row.paid_at,
        paid_reference=row.paid_reference,
    )


class TortoiseSettlementRepository:
    """Statements, lines, commission entries and the franchise facts, in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    # ---- statements and entries

    async def beneficiaries_with_open_entries(self, period: str) -> list[Beneficiary]:
        rows = (
            await m.CommissionEntry.filter(statement_id=None, period__lte=period)
            .using_db(self.conn)
            .distinct()
            .values_list("beneficiary_kind", "beneficiary_id", "currency")
        )
        return [Beneficiary(str(k), int(i), str(c)) for k, i, c in rows]

    async def open_statement(
        self, beneficiary: Beneficiary, period: str, *, create: bool
    ) -> Statement | None:
        key = {
            "beneficiary_kind": beneficiary.kind,
            "beneficiary_id": beneficiary.id,
            "period": period,
            "currency": beneficiary.currency,
        }
        if create:  # INSERT ... ON CONFLICT DO NOTHING: two closes at once make one row
            await m.Statement.bulk_create(
                [m.Statement(**key, state=StatementState.DRAFT.value, total=0)],
                ignore_conflicts=True,
                using_db=self.conn,
            )
        row = await m.Statement.filter(**key).using_db(self.conn).select_for_update().first()
        return _statement(row) if row else None

    async def take_open_entries(self, beneficiary: Beneficiary, period: str) -> list[OpenEntry]:
        rows = (
            await m.CommissionEntry.filter(
                beneficiary_kind=beneficiary.kind,
                beneficiary_id=beneficiary.id,
                currency=beneficiary.currency,
                statement_id=None,
                period__lte=period,
            )
            .using_db(self.conn)
            .select_for_update()
            .order_by("id")
        )
        numbers = await self._numbers({r.order_id for r in rows})
        return [
            OpenEntry(r.id, r.order_id, numbers.get(r.order_id), r.role, r.kind, r.amount, r.period)
            for r in rows
        ]

    async def _numbers(self, order_ids: set[int]) -> dict[int, str]:
        if not order_ids:
            return {}
        rows = (
            await m.Order.filter(id__in=sorted(order_ids))
            .using_db(self.conn)
            .values_list("id", "number")
        )
        return {int(i): str(n) for i, n in rows}

    async def assign_entries(self, entry_ids: Sequence[int], statement_id: int) -> None:
        await (
            m.CommissionEntry.filter(id__in=list(entry_ids), statement_id=None)
            .using_db(self.conn)
            .update(statement_id=statement_id)
        )

    async def add_lines(self, statement_id: int, lines: Sequence[StatementLine]) -> None:
        if not lines:
            return
        await m.StatementLine.bulk_create(
            [
                m.StatementLine(
                    statement_id=statement_id,
                    kind=line.kind.value,
                    entry_id=line.entry_id,
                    order_id=line.order_id,
                    movement_id=line.movement_id,
                    description=line.description[:300],
                    amount=line.amount,
                )
                for line in lines
            ],
            batch_size=500,
            using_db=self.conn,
        )

    async def remove_lines(self, statement_id: int, kinds: Sequence[LineKind]) -> None:
        await (
            m.StatementLine.filter(statement_id=statement_id, kind__in=[k.value for k in kinds])
            .using_db(self.conn)
            .delete()
        )

    async def line_total(self, statement_id: int) -> int:
        amounts = (
            await m.StatementLine.filter(statement_id=statement_id)
            .using_db(self.conn)
            .values_list("amount", flat=True)
        )
        return sum(int(a) for a in amounts)

    async def save_statement(self, statement: Statement) -> None:
        await (
            m.Statement.filter(id=statement.id)
            .using_db(self.conn)
            .update(
                state=statement.state.value,
                total=statement.total,
                approved_at=statement.approved_at,
                approved_by=statement.approved_by,
                paid_at=statement.paid_at,
                paid_reference=statement.paid_reference,
            )
        )

    async def statement(self, statement_id: int, *, lock: bool = False) -> Statement | None:
        query = m.Statement.filter(id=statement_id).using_db(self.conn)
        if lock:
            query = query.select_for_update()
        row = await query.first()
        return _statement(row) if row else None

    async def statements(
        self,
        *,
        period: str | None,
        kind: str | None,
        ids: Mapping[str, Sequence[int]] | None,
    ) -> list[Statement]:
        query = m.Statement.all().using_db(self.conn)
        if period is not None:
            query = query.filter(period=period)
        if kind is not None:
            query = query.filter(beneficiary_kind=kind)
        if ids is not None:
            wanted = [
                Q(beneficiary_kind=k, beneficiary_id__in=list(v)) for k, v in ids.items() if v
            ]
            if not wanted:
                return []
            query = query.filter(Q(*wanted, join_type="OR"))
        rows = await query.order_by("period", "beneficiary_kind", "beneficiary_id", "currency")
        return [_statement(r) for r in rows]

    async def lines(self, statement_ids: Sequence[int]) -> dict[int, list[StatementLine]]:
        if not statement_ids:
            return {}
        rows = (
            await m.StatementLine.filter(statement_id__in=list(statement_ids))
            .using_db(self.conn)
            .order_by("statement_id", "id")
        )
        numbers = await self._numbers({r.order_id for r in rows if r.order_id is not None})
        found: dict[int, list[StatementLine]] = defaultdict(list)
        for r in rows:
            found[r.statement_id].append(
                StatementLine(
                    LineKind(r.kind),
                    r.amount,
                    r.description,
                    entry_id=r.entry_id,
                    order_id=r.order_id,
                    movement_id=r.movement_id,
                    order_number=numbers.get(r.order_id) if r.order_id else None,
                    id=r.id,
                )
            )
        return found

    async def names(self, wanted: Sequence[tuple[str, int]]) -> dict[tuple[str, int], str]:
        ids: dict[str, list[int]] = defaultdict(list)
        for kind, ident in wanted:
            ids[kind].append(ident)
        found: dict[tuple[str, int], str] = {}
        sources: tuple[tuple[str, Any, str], ...] = (
            ("STAFF", m.StaffUser, "name"),
            ("LOCATION", m.Location, "name"),
            ("VENUE", m.AttributionCode, "name"),
            ("FRANCHISEE", m.Franchisee, "name"),
        )
        for kind, model, column in sources:
            if ids.get(kind):
                rows = (
                    await model.filter(id__in=ids[kind])
                    .using_db(self.conn)
                    .values_list("id", column)
                )
                found.update({(kind, int(i)): str(n or "") for i, n in rows})
        return found

    async def staff_at(self, location_ids: Sequence[int]) -> list[int]:
        wanted = set(location_ids)
        rows = await m.StaffUser.all().using_db(self.conn).values_list("id", "location_ids")
        return sorted(int(i) for i, locs in rows if wanted & set(locs or ()))

    # ---- the franchise facts of a month

    async def _names(self, location_ids: Sequence[int]) -> dict[int, str]:
        rows = (
            await m.Location.filter(id__in=list(location_ids))
            .using_db(self.conn)
            .values_list("id", "name")
        )
        return {int(i): str(n) for i, n in rows}

    async def till_sales(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillSale]:
        names = await self._names(location_ids)
        rows = (
            await m.Order.filter(
                source="STORE_TILL",
                attributed_location_id__in=list(location_ids),
                created_at__gte=start,
                created_at__lt=end,
            )
            .exclude(status="CANCELLED")
            .using_db(self.conn)
            .order_by("id")
        )
        return [
            TillSale(
                r.id, r.number, r.currency, r.total, names.get(r.attributed_location_id or 0, "")
            )
            for r in rows
        ]

    async def till_refunds(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[TillRefund]:
        returns = (
            await m.OrderReturn.filter(
                location_id__in=list(location_ids), created_at__gte=start, created_at__lt=end
            )
            .using_db(self.conn)
            .order_by("id")
        )
        if not returns:
            return []
        orders = {
            o.id: o
            for o in await m.Order.filter(
                id__in=sorted({r.order_id for r in returns}), source="STORE_TILL"
            ).using_db(self.conn)
        }
        return [
            TillRefund(r.id, r.order_id, orders[r.order_id].number, r.currency, r.refund_due)
            for r in returns
            if r.order_id in orders
        ]

    async def fulfilled_orders(
        self, location_ids: Sequence[int], start: datetime, end: datetime, currency: str
    ) -> list[FulfilledOrder]:
        completed = m.OrderEvent.filter(
            kind="COMPLETED", created_at__gte=start, created_at__lt=end
        ).values("order_id")
        fulfilments = (
            await m.Fulfilment.filter(
                order_id__in=Subquery(completed),
                location_id__in=list(location_ids),
                status__in=list(SERVED),
            )
            .using_db(self.conn)
            .order_by("id")
        )
        if not fulfilments:
            return []
        order_ids = sorted({f.order_id for f in fulfilments})  # type: ignore[attr-defined]
        orders = {
            o.id: o
            for o in await m.Order.filter(id__in=order_ids)
            .exclude(source="STORE_TILL")
            .using_db(self.conn)
        }
        lines: dict[int, list[Any]] = defaultdict(list)
        for line in (
            await m.OrderLine.filter(order_id__in=order_ids).using_db(self.conn).order_by("id")
        ):
            lines[line.order_id].append(line)  # type: ignore[attr-defined]
        variant_ids = sorted({ln.variant_id for found in lines.values() for ln in found})
        wholesale = {
            r.variant_id: r.amount
            for r in await m.WholesalePrice.filter(
                variant_id__in=variant_ids, currency=currency
            ).using_db(self.conn)
        }
        names = await self._names(location_ids)
        served: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        where: dict[int, int] = {}
        for f in fulfilments:
            order_id = f.order_id  # type: ignore[attr-defined]
            where.setdefault(order_id, f.location_id)
            for part in f.lines or []:
                served[order_id][int(part["variantId"])] += int(part["quantity"])
        result = []
        for order_id in order_ids:
            order = orders.get(order_id)
            if order is None:
                continue
            left = dict(served[order_id])
            parts = []
            for ln in lines[order_id]:
                units = min(left.get(ln.variant_id, 0), ln.quantity)
                left[ln.variant_id] = left.get(ln.variant_id, 0) - units
                parts.append(
                    FulfilledLine(
                        ln.line_total,
                        ln.discount,
                        ln.quantity,
                        units,
                        wholesale.get(ln.variant_id, 0),
                    )
                )
            result.append(
                FulfilledOrder(
                    order.id,
                    order.number,
                    order.currency,
                    order.points_value,
                    tuple(parts),
                    names.get(where[order_id], ""),
                )
            )
        return result

    async def transfers(
        self, location_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[Transfer]:
        own = set(location_ids)
        rows = (
            await m.StockMovement.filter(
                location_id__in=list(location_ids),
                kind__in=["TRANSFER_IN", "TRANSFER_OUT"],
                created_at__gte=start,
                created_at__lt=end,
            )
            .using_db(self.conn)
            .order_by("id")
        )
        moved = [r for r in rows if _other_end(r.reference, r.location_id) not in own]
        if not moved:
            return []
        currencies = await self._store_currencies(location_ids)
        variant_ids = sorted({r.variant_id for r in moved})
        skus = dict(
            await m.Variant.filter(id__in=variant_ids).using_db(self.conn).values_list("id", "sku")
        )
        prices = {
            (r.variant_id, r.currency): r.amount
            for r in await m.WholesalePrice.filter(variant_id__in=variant_ids).using_db(self.conn)
        }
        names = await self._names(location_ids)
        result = []
        for r in moved:
            currency = currencies.get(r.location_id, DEFAULT_CURRENCY)
            result.append(
                Transfer(
                    r.id,
                    str(skus.get(r.variant_id, r.variant_id)),
                    r.delta,
                    currency,
                    prices.get((r.variant_id, currency)),
                    names.get(r.location_id, ""),
                )
            )
        return result

    async def _store_currencies(self, location_ids: Sequence[int]) -> dict[int, str]:
        rows = (
            await m.Channel.filter(store_id__in=list(location_ids))
            .using_db(self.conn)
            .order_by("id")
            .values_list("store_id", "currency")
        )
        found: dict[int, str] = {}
        for store_id, currency in rows:
            found.setdefault(int(store_id), str(currency))
        return found

    async def franchise_currencies(self, location_ids: Sequence[int]) -> list[str]:
        if not location_ids:
            return []
        found = set((await self._store_currencies(location_ids)).values())
        return sorted(found) or [DEFAULT_CURRENCY]


def _other_end(reference: str | None, location_id: int) -> int | None:
    """The other location of a transfer movement (reference ``transfer:<from>-><to>``)."""
    if not reference or not reference.startswith("transfer:"):
        return None
    try:
        source, target = (int(x) for x in reference.split(":", 1)[1].split("->"))
    except ValueError:
        return None
    return target if source == location_id else source
