"""Tortoise implementation of the attribution port (codes, scans, bindings, the policy),
bound to one transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery

from adapters.db import models as m
from domain.attribution.model import (
    Binding,
    BindingPolicy,
    BindingSource,
    CodeDraft,
    CodeKind,
    CodeRecord,
    ScanTouch,
)

POLICY_ID = 1  # the policy is one row


def code_record(row: m.AttributionCode) -> CodeRecord:
    """A code row as a record."""
    return CodeRecord(
        id=row.id,
        code=row.code,
        kind=CodeKind(row.kind),
        name=row.name,
        location_id=row.location_id,
        staff_id=row.staff_id,
        landing_path=row.landing_path,
        active=row.active,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def binding_record(row: m.MemberBinding) -> Binding:
    """A binding row as a record."""
    return Binding(
        member_id=row.member_id,
        location_id=row.location_id,
        staff_id=row.staff_id,
        source=BindingSource(row.source),
        bound_at=row.bound_at,
        expires_at=row.expires_at,
        code_id=row.code_id,
        rule=row.rule,
    )


class TortoiseAttributionRepository:
    """Codes, scans, bindings and the binding policy."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def code(self, code_id: int) -> CodeRecord | None:
        row = await m.AttributionCode.filter(id=code_id).using_db(self.conn).first()
        return code_record(row) if row else None

    async def code_by_text(self, code: str) -> CodeRecord | None:
        row = await m.AttributionCode.filter(code=code).using_db(self.conn).first()
        return code_record(row) if row else None

    async def codes(
        self,
        *,
        location_ids: Collection[int] | None,
        staff_id: int | None,
        kind: CodeKind | None,
        limit: int,
    ) -> list[CodeRecord]:
        query = m.AttributionCode.all().using_db(self.conn)
        if location_ids is not None:
            query = query.filter(location_id__in=sorted(location_ids))
        if staff_id is not None:
            query = query.filter(staff_id=staff_id)
        if kind is not None:
            query = query.filter(kind=kind.value)
        return [code_record(r) for r in await query.order_by("id").limit(limit)]

    async def add_code(self, draft: CodeDraft) -> CodeRecord:
        row = await m.AttributionCode.create(
            using_db=self.conn,
            code=draft.code,
            kind=draft.kind.value,
            name=draft.name,
            location_id=draft.location_id,
            staff_id=draft.staff_id,
            landing_path=draft.landing_path,
            created_by=draft.created_by,
        )
        return code_record(row)

    async def set_code_active(self, code_id: int, active: bool) -> None:
        await m.AttributionCode.filter(id=code_id).using_db(self.conn).update(active=active)

    async def add_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, at: datetime
    ) -> int:
        row = await m.AttributionScan.create(
            using_db=self.conn, code_id=code_id, member_id=member_id, visitor=visitor, at=at
        )
        return int(row.id)

    async def recent_scan(
        self, code_id: int, *, member_id: int | None, visitor: str | None, since: datetime
    ) -> int | None:
        if member_id is None and visitor is None:
            return None  # nobody to recognise: every anonymous scan counts
        query = m.AttributionScan.filter(code_id=code_id, at__gte=since).using_db(self.conn)
        query = query.filter(member_id=member_id) if member_id else query.filter(visitor=visitor)
        found = await query.order_by("-at").values_list("id", flat=True)
        return int(found[0]) if found else None

    async def link_visitor(self, visitor: str, member_id: int) -> int:
        return int(
            await m.AttributionScan.filter(visitor=visitor, member_id=None)
            .using_db(self.conn)
            .update(member_id=member_id)
        )

    async def _touch(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None, order: str
    ) -> ScanTouch | None:
        scans = m.AttributionScan.filter(member_id=member_id).using_db(self.conn)
        if since is not None:
            scans = scans.filter(at__gte=since)
        codes = m.AttributionCode.filter(kind__in=[k.value for k in kinds]).using_db(self.conn)
        scans = scans.filter(code_id__in=Subquery(codes.values("id")))
        found = await scans.order_by(order, order.replace("at", "id")).first()
        if found is None:
            return None
        code = await m.AttributionCode.filter(id=found.code_id).using_db(self.conn).first()
        assert code is not None
        return (code.id, CodeKind(code.kind), code.location_id, code.staff_id)

    async def last_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None:
        return await self._touch(member_id, kinds, since, "-at")

    async def first_scan(
        self, member_id: int, kinds: Sequence[CodeKind], since: datetime | None
    ) -> ScanTouch | None:
        return await self._touch(member_id, kinds, since, "at")

    async def binding(self, member_id: int, *, for_update: bool = False) -> Binding | None:
        if for_update and self.conn.capabilities.dialect == "postgres":
            # the member's row is the lock: two bindings of one member run one after the other
            await m.Member.filter(id=member_id).using_db(self.conn).select_for_update().first()
        row = await m.MemberBinding.filter(member_id=member_id).using_db(self.conn).first()
        return binding_record(row) if row else None

    async def bindings(self, member_ids: Sequence[int]) -> dict[int, Binding]:
        if not member_ids:
            return {}
        rows = await m.MemberBinding.filter(member_id__in=list(member_ids)).using_db(self.conn)
        return {r.member_id: binding_record(r) for r in rows}

    async def save_binding(self, binding: Binding) -> None:
        values = {
            "location_id": binding.location_id,
            "staff_id": binding.staff_id,
            "source": binding.source.value,
            "code_id": binding.code_id,
            "rule": binding.rule[:300],
            "bound_at": binding.bound_at,
            "expires_at": binding.expires_at,
        }
        updated = (
            await m.MemberBinding.filter(member_id=binding.member_id)
            .using_db(self.conn)
            .update(**values)
        )
        if not updated:
            await m.MemberBinding.create(using_db=self.conn, member_id=binding.member_id, **values)

    async def policy(self) -> BindingPolicy:
        row = await m.BindingPolicy.filter(id=POLICY_ID).using_db(self.conn).first()
        if row is None:
            return BindingPolicy()
        return BindingPolicy(
            bind_days=row.bind_days,
            takeover_after_days=row.takeover_after_days,
            last_touch_days=row.last_touch_days,
            bind_on_scan=row.bind_on_scan,
            bind_on_signup=row.bind_on_signup,
            bind_at_till=row.bind_at_till,
        )

    async def save_policy(self, policy: BindingPolicy) -> None:
        values = {
            "bind_days": policy.bind_days,
            "takeover_after_days": policy.takeover_after_days,
            "last_touch_days": policy.last_touch_days,
            "bind_on_scan": policy.bind_on_scan,
            "bind_on_signup": policy.bind_on_signup,
            "bind_at_till": policy.bind_at_till,
        }
        await m.BindingPolicy.update_or_create(defaults=values, using_db=self.conn, id=POLICY_ID)

    async def staff_names(self, staff_ids: Collection[int]) -> dict[int, str]:
        if not staff_ids:
            return {}
        rows = await (
            m.StaffUser.filter(id__in=sorted(staff_ids))
            .using_db(self.conn)
            .values_list("id", "name")
        )
        return {int(i): str(n) for i, n in rows}
