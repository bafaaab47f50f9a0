"""Tortoise implementation of the member port, bound to one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.db import models as m
from domain.members import MemberRecord


def member_record(row: m.Member) -> MemberRecord:
    """A member row as a record."""
    return MemberRecord(
        id=row.id, email=row.email, phone=row.phone, email_verified=row.email_verified,
        phone_verified=row.phone_verified, name=row.name, password_hash=row.password_hash,
        member_code=row.member_code, tier=row.tier,
        referral_location_id=row.referral_location_id, referral_staff_id=row.referral_staff_id,
        tags=tuple(row.tags or ()), addresses=tuple(row.addresses or ()),
        created_at=row.created_at, active=row.active, consents=dict(row.consents or {}),
    )  # fmt: skip


class TortoiseMemberRepository:
    """Members, sessions and verification tokens."""

    def __init__(self, conn: BaseDBAsyncClient) -> None:
        self.conn = conn

    async def _one(self, **where: Any) -> MemberRecord | None:
        row = await m.Member.filter(**where).using_db(self.conn).first()
        return member_record(row) if row else None

    async def by_id(self, member_id: int) -> MemberRecord | None:
        return await self._one(id=member_id)

    async def by_email(self, email: str) -> MemberRecord | None:
        return await self._one(email=email)

    async def by_phone(self, phone: str) -> MemberRecord | None:
        return await self._one(phone=phone)

    async def by_code(self, code: str) -> MemberRecord | None:
        return await self._one(member_code=code)

    async def add(self, **fields: Any) -> MemberRecord:
        row = await m.Member.create(using_db=self.conn, **fields)
        return member_record(row)

    async def update(self, member_id: int, **fields: Any) -> None:
        await m.Member.filter(id=member_id).using_db(self.conn).update(**fields)

    async def add_session(self, member_id: int, *, token_hash: str, expires_at: datetime) -> None:
        await m.MemberSession.create(
            using_db=self.conn, member_id=member_id, token_hash=token_hash, expires_at=expires_at
        )

    async def session(self, token_hash: str, *, for_update: bool = False) -> m.MemberSession | None:
        query = m.MemberSession.filter(token_hash=token_hash).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        return await query.first()

    async def revoke_sessions(self, member_id: int, *, at: datetime) -> None:
        await (
            m.MemberSession.filter(member_id=member_id, revoked_at=None)
            .using_db(self.conn)
            .update(revoked_at=at)
        )

    async def revoke_session(self, token_hash: str, *, at: datetime) -> None:
        await (
            m.MemberSession.filter(token_hash=token_hash, revoked_at=None)
            .using_db(self.conn)
            .update(revoked_at=at)
        )

    async def add_verification(
        self, member_id: int, *, channel: str, token_hash: str, expires_at: datetime
    ) -> None:
        await m.Verification.create(
            using_db=self.conn,
            member_id=member_id,
            channel=channel,
            token_hash=token_hash,
            expires_at=expires_at,
        )

    async def use_verification(self, token_hash: str, *, at: datetime) -> tuple[int, str] | None:
        row = (
            await m.Verification.filter(token_hash=token_hash, used_at=None, expires_at__gt=at)
            .using_db(self.conn)
            .select_for_update()
            .first()
        )
        if row is None:
            return None
        row.used_at = at
        await row.save(using_db=self.conn, update_fields=["used_at"])
        return row.member_id, row.channel

    async def attach_guest_orders(
        self, member_id: int, *, email: str | None, phone: str | None
    ) -> int:
        query = m.Order.filter(member_id=None).using_db(self.conn)
        rows = await query.values_list("id", "buyer")
        ids = [
            i for i, buyer in rows
            if (email and (buyer or {}).get("email") == email)
            or (phone and (buyer or {}).get("phone") == phone)
        ]  # fmt: skip
        if ids:
            await m.Order.filter(id__in=ids).using_db(self.conn).update(member_id=member_id)
        return len(ids)

    async def open_cart_token(
        self, member_id: int, *, channel_id: int, now: datetime
    ) -> str | None:
        row = (
            await m.Cart.filter(
                member_id=member_id, channel_id=channel_id, order_id=None, expires_at__gt=now
            )
            .using_db(self.conn)
            .order_by("-updated_at")
            .first()
        )
        return row.token if row else None
