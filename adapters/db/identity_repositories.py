"""Tortoise implementation of the identity port: staff accounts, partners, API keys."""

from __future__ import annotations

from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.db import convert
from adapters.db import models as m
from domain.identity.ports import ApiKeyDraft, ApiKeyRecord, StaffDraft, StaffRecord


class TortoiseIdentityRepository:
    """Staff, partners and API keys."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def staff_by_email(self, email: str) -> StaffRecord | None:
        row = await m.StaffUser.filter(email=email).using_db(self.conn).first()
        return convert.staff(row) if row else None

    async def staff_by_id(self, staff_id: int) -> StaffRecord | None:
        row = await m.StaffUser.filter(id=staff_id).using_db(self.conn).first()
        return convert.staff(row) if row else None

    async def add_staff(self, draft: StaffDraft) -> StaffRecord:
        row = await m.StaffUser.create(
            using_db=self.conn,
            email=draft.email,
            name=draft.name,
            password_hash=draft.password_hash,
            role=draft.role,
            location_ids=list(draft.location_ids),
        )
        return convert.staff(row)

    async def partner_id(self, name: str, *, create: bool) -> int | None:
        row = await m.Partner.filter(name=name).using_db(self.conn).first()
        if row is None and create:
            row = await m.Partner.create(using_db=self.conn, name=name)
        return row.id if row else None

    async def add_api_key(self, draft: ApiKeyDraft) -> ApiKeyRecord:
        row = await m.ApiKey.create(
            using_db=self.conn,
            partner_id=draft.partner_id,
            name=draft.name,
            prefix=draft.prefix,
            secret_hash=draft.secret_hash,
            scopes=list(draft.scopes),
            rate_limit_per_minute=draft.rate_limit_per_minute,
        )
        return await self._record(row)

    async def _record(self, row: m.ApiKey) -> ApiKeyRecord:
        partner = await m.Partner.get(id=row.partner_id).using_db(self.conn)  # type: ignore[attr-defined]
        return convert.api_key(row, partner.name)

    async def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        row = await m.ApiKey.filter(prefix=prefix).using_db(self.conn).first()
        return convert.api_key(row, "") if row else None

    async def revoke_api_key(self, key_id: int, *, at: datetime) -> ApiKeyRecord | None:
        row = await m.ApiKey.filter(id=key_id).using_db(self.conn).first()
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = at
            await row.save(using_db=self.conn, update_fields=["revoked_at"])
        return await self._record(row)
