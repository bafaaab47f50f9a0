"""The identity port in memory: staff accounts, partners and their API keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from adapters.memory.state import MemoryState
from domain.identity.ports import ApiKeyDraft, ApiKeyRecord, StaffDraft, StaffRecord


class InMemoryIdentityRepository:
    """Staff, partners and API keys in a :class:`MemoryState`."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def staff_by_email(self, email: str) -> StaffRecord | None:
        return next((s for s in self.state.staff.values() if s.email == email), None)

    async def staff_by_id(self, staff_id: int) -> StaffRecord | None:
        return self.state.staff.get(staff_id)

    async def add_staff(self, draft: StaffDraft) -> StaffRecord:
        if await self.staff_by_email(draft.email) is not None:
            raise ValueError(f"staff email {draft.email!r} is taken")
        staff = StaffRecord(
            id=self.state.next_id("staff"),
            email=draft.email,
            name=draft.name,
            password_hash=draft.password_hash,
            role=draft.role,
            location_ids=draft.location_ids,
            active=True,
            token_version=0,
        )
        self.state.staff[staff.id] = staff
        return staff

    async def partner_id(self, name: str, *, create: bool) -> int | None:
        found = next((i for i, n in self.state.partners.items() if n == name), None)
        if found is None and create:
            found = self.state.next_id("partner")
            self.state.partners[found] = name
        return found

    async def add_api_key(self, draft: ApiKeyDraft) -> ApiKeyRecord:
        key = ApiKeyRecord(
            id=self.state.next_id("api_key"),
            partner_id=draft.partner_id,
            partner_name=self.state.partners[draft.partner_id],
            name=draft.name,
            prefix=draft.prefix,
            secret_hash=draft.secret_hash,
            scopes=draft.scopes,
            rate_limit_per_minute=draft.rate_limit_per_minute,
            revoked_at=None,
            created_at=self.state.now(),
        )
        self.state.api_keys[key.id] = key
        return key

    async def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None:
        found = next((k for k in self.state.api_keys.values() if k.prefix == prefix), None)
        return replace(found, partner_name="") if found else None  # as the table reads it

    async def revoke_api_key(self, key_id: int, *, at: datetime) -> ApiKeyRecord | None:
        key = self.state.api_keys.get(key_id)
        if key is None:
            return None
        if key.revoked_at is None:
            key = self.state.api_keys[key_id] = replace(key, revoked_at=at)
        return key
