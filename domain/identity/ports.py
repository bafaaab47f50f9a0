"""What the identity use cases need from storage: staff accounts, partners, API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StaffRecord:
    """A staff account as stored."""

    id: int
    email: str
    name: str
    password_hash: str
    role: str
    location_ids: tuple[int, ...]
    active: bool
    token_version: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A partner API key as stored: never the secret, only its hash."""

    id: int
    partner_id: int
    partner_name: str
    name: str
    prefix: str
    secret_hash: str
    scopes: tuple[str, ...]
    rate_limit_per_minute: int
    revoked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StaffDraft:
    """A new staff account: its password already hashed, its stores (none for brand-wide roles)."""

    email: str
    name: str
    password_hash: str
    role: str
    location_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ApiKeyDraft:
    """A new API key of a partner: only the secret's hash and its visible prefix are kept."""

    partner_id: int
    name: str
    prefix: str
    secret_hash: str
    scopes: tuple[str, ...]
    rate_limit_per_minute: int


class IdentityRepository(Protocol):
    """Staff accounts, partners and their API keys. ``None`` means not found."""

    async def staff_by_email(self, email: str) -> StaffRecord | None: ...
    async def staff_by_id(self, staff_id: int) -> StaffRecord | None: ...
    async def add_staff(self, draft: StaffDraft) -> StaffRecord: ...
    async def partner_id(self, name: str, *, create: bool) -> int | None: ...
    async def add_api_key(self, draft: ApiKeyDraft) -> ApiKeyRecord: ...
    async def api_key_by_prefix(self, prefix: str) -> ApiKeyRecord | None: ...
    async def revoke_api_key(self, key_id: int, *, at: datetime) -> ApiKeyRecord | None: ...
