"""Tortoise implementation of the audit port: the audit log and value grants."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.db import models as m
from domain.audit.model import AuditRecord, GrantKind, GrantStatus, ValueGrant


def _grant(row: m.ValueGrant) -> ValueGrant:
    kind = GrantKind(row.kind)
    return ValueGrant(
        id=row.id,
        kind=kind,
        member_id=row.member_id,
        requested_by=row.requested_by,
        value=row.points if kind is GrantKind.POINTS else row.amount,
        currency=row.currency,
        reason=row.reason,
        status=GrantStatus(row.status),
        created_at=row.created_at,
        voucher_expires_at=row.voucher_expires_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


class TortoiseAuditRepository:
    """The append-only audit log and the value grants, in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def record(self, entry: AuditRecord) -> None:
        await m.AuditEntry.create(
            using_db=self.conn,
            actor=entry.actor[:120],
            role=entry.role[:32],
            field=entry.field[:80],
            summary=entry.summary,
            result=entry.result[:64],
            client=entry.client[:64],
        )

    async def lock_requester(self, staff_id: int) -> None:
        """Serialise one staff member's grants (their daily cap holds under concurrency)."""
        await m.StaffUser.filter(id=staff_id).using_db(self.conn).select_for_update().first()

    async def entries(self, *, first: int, before_id: int | None) -> list[AuditRecord]:
        query = m.AuditEntry.all().using_db(self.conn)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.order_by("-id").limit(first)
        return [
            AuditRecord(
                id=r.id,
                at=r.at,
                actor=r.actor,
                role=r.role,
                field=r.field,
                summary=dict(r.summary or {}),
                result=r.result,
                client=r.client,
            )
            for r in rows
        ]

    async def add_grant(self, grant: ValueGrant) -> int:
        points = grant.kind is GrantKind.POINTS
        row = await m.ValueGrant.create(
            using_db=self.conn,
            kind=grant.kind.value,
            member_id=grant.member_id,
            requested_by=grant.requested_by,
            points=grant.value if points else 0,
            amount=0 if points else grant.value,
            currency=grant.currency,
            reason=grant.reason[:500],
            voucher_expires_at=grant.voucher_expires_at,
            status=grant.status.value,
            created_at=grant.created_at,
        )
        return int(row.id)

    async def grant(self, grant_id: int, *, for_update: bool = False) -> ValueGrant | None:
        query = m.ValueGrant.filter(id=grant_id).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        return _grant(row) if row else None

    async def decide_grant(
        self, grant_id: int, *, status: GrantStatus, by: str, at: datetime
    ) -> None:
        await (
            m.ValueGrant.filter(id=grant_id)
            .using_db(self.conn)
            .update(status=status.value, decided_by=by, decided_at=at)
        )

    async def applied_since(self, requested_by: str, *, kind: GrantKind, since: datetime) -> int:
        rows = await (
            m.ValueGrant.filter(
                requested_by=requested_by,
                kind=kind.value,
                status=GrantStatus.APPLIED.value,
                created_at__gte=since,
            )
            .using_db(self.conn)
            .values_list("points" if kind is GrantKind.POINTS else "amount", flat=True)
        )
        return sum(int(v) for v in rows)

    async def grants(
        self, *, status: GrantStatus | None, first: int, before_id: int | None
    ) -> list[ValueGrant]:
        query = m.ValueGrant.all().using_db(self.conn)
        if status is not None:
            query = query.filter(status=status.value)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        return [_grant(r) for r in await query.order_by("-id").limit(first)]
