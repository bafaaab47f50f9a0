"""Tortoise implementation of the attribution port: bindings, scans, the binding policy."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Subquery

from adapters.db import models as m
from domain.attribution.model import Binding, BindingPolicy, BindingSource, CodeKind
from domain.attribution.ports import ScanHit


class TortoiseAttributionRepository:
    """Members' bindings, scans of codes and the policy, in one transaction."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def binding(self, member_id: int) -> Binding | None:
        row = await m.MemberBinding.filter(member_id=member_id).using_db(self.conn).first()
        if row is None:
            return None
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
        await m.MemberBinding.update_or_create(
            defaults=values, using_db=self.conn, member_id=binding.member_id
        )

    async def last_scan(
        self, member_id: int, kinds: Collection[CodeKind], since: datetime
    ) -> ScanHit | None:
        wanted = m.AttributionCode.filter(kind__in=[k.value for k in kinds]).values("id")
        scan = (
            await m.AttributionScan.filter(
                member_id=member_id, at__gte=since, code_id__in=Subquery(wanted)
            )
            .using_db(self.conn)
            .order_by("-at", "-id")
            .first()
        )
        if scan is None:
            return None
        code = await m.AttributionCode.get(id=scan.code_id).using_db(self.conn)
        return (code.id, CodeKind(code.kind), code.location_id, code.staff_id)

    async def policy(self) -> BindingPolicy:
        row = await m.BindingPolicy.all().using_db(self.conn).order_by("id").first()
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
