"""Tortoise implementation of the member port, bound to one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from adapters.db import models as m
from domain.insights.model import OrderSummary
from domain.loyalty.model import SPEND_STATUSES
from domain.members.model import MemberChanges, MemberDraft, MemberRecord, SessionRecord


def _tags_text(tags: Sequence[str]) -> str:
    return " " + " ".join(t.lower() for t in tags) + " "


def member_record(row: m.Member) -> MemberRecord:
    """A member row as a record."""
    return MemberRecord(
        id=row.id,
        email=row.email,
        phone=row.phone,
        email_verified=row.email_verified,
        phone_verified=row.phone_verified,
        name=row.name,
        password_hash=row.password_hash,
        member_code=row.member_code,
        tier=row.tier,
        referral_location_id=row.referral_location_id,
        referral_staff_id=row.referral_staff_id,
        tags=tuple(row.tags or ()),
        addresses=tuple(row.addresses or ()),
        created_at=row.created_at,
        active=row.active,
        consents=dict(row.consents or {}),
        birthday=row.birthday,
    )


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

    async def add(self, draft: MemberDraft) -> MemberRecord:
        row = await m.Member.create(
            using_db=self.conn,
            email=draft.email,
            phone=draft.phone,
            name=draft.name,
            password_hash=draft.password_hash,
            member_code=draft.member_code,
            referral_location_id=draft.referral_location_id,
            referral_staff_id=draft.referral_staff_id,
            tags=list(draft.tags),
            tags_text=_tags_text(draft.tags),
            birthday=draft.birthday,
        )
        return member_record(row)

    async def set_tags(self, member_id: int, tags: Sequence[str]) -> None:
        await (
            m.Member.filter(id=member_id)
            .using_db(self.conn)
            .update(tags=list(tags), tags_text=_tags_text(tags))
        )

    async def by_tag(self, tag: str, *, limit: int, after_id: int | None) -> list[MemberRecord]:
        query = m.Member.filter(tags_text__contains=f" {tag.strip().lower()} ").using_db(self.conn)
        if after_id is not None:
            query = query.filter(id__gt=after_id)
        return [member_record(r) for r in await query.order_by("id").limit(limit)]

    async def category_handles(self) -> dict[int, str]:
        rows = await m.Category.all().using_db(self.conn).values_list("id", "handle")
        return {int(i): str(h) for i, h in rows}

    async def order_summaries(
        self, *, member_ids: Sequence[int] | None, location_ids: Sequence[int] | None
    ) -> list[OrderSummary]:
        query = m.Order.filter(member_id__not_isnull=True, status__in=list(SPEND_STATUSES))
        if member_ids is not None:
            query = query.filter(member_id__in=list(member_ids))
        if location_ids is not None:
            members = (
                await m.Member.filter(referral_location_id__in=list(location_ids))
                .using_db(self.conn)
                .values_list("id", flat=True)
            )
            attributed = (
                await m.Order.filter(
                    attributed_location_id__in=list(location_ids), member_id__not_isnull=True
                )
                .using_db(self.conn)
                .values_list("member_id", flat=True)
            )
            query = query.filter(member_id__in=sorted({*members, *attributed}))
        orders = await query.using_db(self.conn).values_list(
            "id", "member_id", "created_at", "total", "refunded_total", "channel_handle"
        )
        ids = [o[0] for o in orders]
        lines = (
            await m.OrderLine.filter(order_id__in=ids)
            .using_db(self.conn)
            .values_list("order_id", "variant_id")
        )
        variants = {v for _, v in lines}
        categories = dict(
            await m.Variant.filter(id__in=list(variants))
            .using_db(self.conn)
            .values_list("id", "product__category_id")
        )
        by_order: dict[int, set[int]] = {}
        for order_id, variant_id in lines:
            if categories.get(variant_id) is not None:
                by_order.setdefault(order_id, set()).add(int(categories[variant_id]))
        return [
            OrderSummary(
                int(member),
                created,
                int(total) - int(refunded),
                str(channel),
                tuple(sorted(by_order.get(oid, ()))),
            )
            for oid, member, created, total, refunded, channel in orders
        ]

    async def update(self, member_id: int, changes: MemberChanges) -> None:
        values = {
            "name": changes.name,
            "addresses": list(changes.addresses) if changes.addresses is not None else None,
            "consents": changes.consents,
            "email_verified": changes.email_verified,
            "phone_verified": changes.phone_verified,
            "tier": changes.tier,
            "birthday": changes.birthday,
        }
        columns = {k: v for k, v in values.items() if v is not None}
        if columns:
            await m.Member.filter(id=member_id).using_db(self.conn).update(**columns)

    async def add_session(self, member_id: int, *, token_hash: str, expires_at: datetime) -> None:
        await m.MemberSession.create(
            using_db=self.conn, member_id=member_id, token_hash=token_hash, expires_at=expires_at
        )

    async def session(self, token_hash: str, *, for_update: bool = False) -> SessionRecord | None:
        query = m.MemberSession.filter(token_hash=token_hash).using_db(self.conn)
        if for_update:
            query = query.select_for_update()
        row = await query.first()
        if row is None:
            return None
        return SessionRecord(row.member_id, row.token_hash, row.expires_at, row.revoked_at)

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
            i
            for i, buyer in rows
            if (email and (buyer or {}).get("email") == email)
            or (phone and (buyer or {}).get("phone") == phone)
        ]
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

    async def add_message(self, member_id: int, *, channel: str, to: str, body: str) -> None:
        await m.MemberMessage.create(
            using_db=self.conn, member_id=member_id, channel=channel, to=to, body=body
        )

    async def add_presence(self, member_id: int, *, code_hash: str, expires_at: datetime) -> None:
        await m.MemberPresence.create(
            using_db=self.conn, member_id=member_id, code_hash=code_hash, expires_at=expires_at
        )

    async def use_presence(self, member_id: int, *, code_hash: str, at: datetime) -> bool:
        used = await (
            m.MemberPresence.filter(
                member_id=member_id, code_hash=code_hash, used_at=None, expires_at__gt=at
            )
            .using_db(self.conn)
            .update(used_at=at)
        )
        return bool(used)
