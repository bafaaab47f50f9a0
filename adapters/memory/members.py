"""The member port in memory: members, sessions and verification tokens."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState, Verification
from domain.insights.model import OrderSummary
from domain.members.model import MemberChanges, MemberDraft, MemberRecord, SessionRecord
from domain.orders.model import Buyer


class InMemoryMemberRepository:
    """Members, their sessions and verification tokens, in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _first(self, **where: object) -> MemberRecord | None:
        for member in self.state.members.values():
            if all(getattr(member, k) == v for k, v in where.items()):
                return member
        return None

    async def by_id(self, member_id: int) -> MemberRecord | None:
        return self.state.members.get(member_id)

    async def by_email(self, email: str) -> MemberRecord | None:
        return self._first(email=email)

    async def by_phone(self, phone: str) -> MemberRecord | None:
        return self._first(phone=phone)

    async def by_code(self, code: str) -> MemberRecord | None:
        return self._first(member_code=code)

    async def add(self, draft: MemberDraft) -> MemberRecord:
        for unique in ("email", "phone", "member_code"):
            value = getattr(draft, unique)
            if value is not None and self._first(**{unique: value}) is not None:
                raise ValueError(f"member {unique} {value!r} is taken")
        member = MemberRecord(
            id=self.state.next_id("member"),
            email=draft.email,
            phone=draft.phone,
            email_verified=False,
            phone_verified=False,
            name=draft.name,
            password_hash=draft.password_hash,
            member_code=draft.member_code,
            tier="BRONZE",
            referral_location_id=draft.referral_location_id,
            referral_staff_id=draft.referral_staff_id,
            tags=draft.tags,
            addresses=(),
            created_at=self.state.now(),
            birthday=draft.birthday,
        )
        self.state.members[member.id] = member
        return member

    async def update(self, member_id: int, changes: MemberChanges) -> None:
        member = self.state.members.get(member_id)
        if member is None:
            return
        values = {
            "name": changes.name,
            "addresses": changes.addresses,
            "consents": changes.consents,
            "email_verified": changes.email_verified,
            "phone_verified": changes.phone_verified,
            "tier": changes.tier,
            "birthday": changes.birthday,
        }
        changed = {k: v for k, v in values.items() if v is not None}
        self.state.members[member_id] = replace(member, **changed)  # type: ignore[arg-type]

    async def add_session(self, member_id: int, *, token_hash: str, expires_at: datetime) -> None:
        self.state.sessions[token_hash] = SessionRecord(member_id, token_hash, expires_at, None)

    async def session(self, token_hash: str, *, for_update: bool = False) -> SessionRecord | None:
        return self.state.sessions.get(token_hash)

    async def revoke_sessions(self, member_id: int, *, at: datetime) -> None:
        for key, session in self.state.sessions.items():
            if session.member_id == member_id and session.revoked_at is None:
                self.state.sessions[key] = replace(session, revoked_at=at)

    async def revoke_session(self, token_hash: str, *, at: datetime) -> None:
        session = self.state.sessions.get(token_hash)
        if session is not None and session.revoked_at is None:
            self.state.sessions[token_hash] = replace(session, revoked_at=at)

    async def add_verification(
        self, member_id: int, *, channel: str, token_hash: str, expires_at: datetime
    ) -> None:
        self.state.verifications[token_hash] = Verification(member_id, channel, expires_at)

    async def use_verification(self, token_hash: str, *, at: datetime) -> tuple[int, str] | None:
        found = self.state.verifications.get(token_hash)
        if found is None or found.used_at is not None or found.expires_at <= at:
            return None
        found.used_at = at
        return found.member_id, found.channel

    async def attach_guest_orders(
        self, member_id: int, *, email: str | None, phone: str | None
    ) -> int:
        def matches(buyer: Buyer) -> bool:
            return bool((email and buyer.email == email) or (phone and buyer.phone == phone))

        guests = [o for o in self.state.orders.values() if o.member_id is None and matches(o.buyer)]
        for order in guests:
            order.member_id = member_id
        return len(guests)

    async def open_cart_token(
        self, member_id: int, *, channel_id: int, now: datetime
    ) -> str | None:
        open_carts = [
            c
            for c in self.state.carts.values()
            if c.member_id == member_id
            and self.state.cart_channels[c.id] == channel_id
            and c.order_id is None
            and c.expires_at > now
        ]
        newest = max(open_carts, key=lambda c: self.state.cart_updated[c.id], default=None)
        return newest.token if newest else None

    async def set_tags(self, member_id: int, tags: Sequence[str]) -> None:
        member = self.state.members.get(member_id)
        if member is not None:
            self.state.members[member_id] = replace(member, tags=tuple(tags))

    async def order_summaries(
        self, *, member_ids: Sequence[int] | None, location_ids: Sequence[int] | None
    ) -> list[OrderSummary]:
        orders = self.state.spend_orders()
        if member_ids is not None:
            orders = [o for o in orders if o.member_id in member_ids]
        if location_ids is not None:
            referred = {
                m.id for m in self.state.members.values() if m.referral_location_id in location_ids
            }
            attributed = {
                o.member_id
                for o in self.state.orders.values()
                if o.attributed_location_id in location_ids and o.member_id is not None
            }
            orders = [o for o in orders if o.member_id in referred | attributed]
        return [self.state.summary(o) for o in sorted(orders, key=lambda o: o.id)]

    async def category_handles(self) -> dict[int, str]:
        return {c.id: c.handle for c in self.state.categories.values()}

    async def by_tag(self, tag: str, *, limit: int, after_id: int | None) -> list[MemberRecord]:
        wanted = tag.strip().lower()
        found = [
            m
            for m in sorted(self.state.members.values(), key=lambda m: m.id)
            if wanted in {t.lower() for t in m.tags} and (after_id is None or m.id > after_id)
        ]
        return found[:limit]

    async def add_message(self, member_id: int, *, channel: str, to: str, body: str) -> None:
        self.state.member_messages.append((member_id, channel, to, body))

    async def add_presence(self, member_id: int, *, code_hash: str, expires_at: datetime) -> None:
        self.state.presence[code_hash] = Verification(member_id, "PRESENCE", expires_at)

    async def use_presence(self, member_id: int, *, code_hash: str, at: datetime) -> bool:
        found = self.state.presence.get(code_hash)
        if found is None or found.member_id != member_id:
            return False
        if found.used_at is not None or found.expires_at <= at:
            return False
        found.used_at = at
        return True
