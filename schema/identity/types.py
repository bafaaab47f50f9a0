"""Identity types: StaffUser, ApiKey, the login, staff and API key inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.identity.ports import ApiKeyRecord, StaffRecord
from schema.common import UserError
from schema.relay import to_global_id


@strawberry.type
class StaffUser:
    id: strawberry.ID
    email: str
    name: str
    role: str
    location_ids: list[strawberry.ID]

    @classmethod
    def of(cls, record: StaffRecord) -> StaffUser:
        return cls(
            id=strawberry.ID(to_global_id("StaffUser", record.id)),
            email=record.email,
            name=record.name,
            role=record.role,
            location_ids=[strawberry.ID(to_global_id("Location", i)) for i in record.location_ids],
        )


@strawberry.type(description="A partner's key; the secret itself is only shown at creation.")
class ApiKey:
    id: strawberry.ID
    partner: str
    name: str
    prefix: str
    scopes: list[str]
    rate_limit_per_minute: int
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, record: ApiKeyRecord) -> ApiKey:
        return cls(
            id=strawberry.ID(to_global_id("ApiKey", record.id)),
            partner=record.partner_name,
            name=record.name,
            prefix=record.prefix,
            scopes=list(record.scopes),
            rate_limit_per_minute=record.rate_limit_per_minute,
            revoked_at=record.revoked_at,
            created_at=record.created_at,
        )


@strawberry.type
class StaffLoginPayload:
    access_token: str | None = None
    expires_in: int | None = None
    staff_user: StaffUser | None = None
    user_errors: list[UserError]


@strawberry.input
class StaffUserCreateInput:
    email: str
    name: str = ""
    password: str
    role: str = strawberry.field(description="OWNER, ADMIN, STORE_MANAGER or CLERK")
    location_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.type
class StaffUserPayload:
    staff_user: StaffUser | None = None
    user_errors: list[UserError]


@strawberry.input
class ApiKeyCreateInput:
    partner: str
    name: str = ""
    scopes: list[str] = strawberry.field(
        description="catalog:read catalog:write prices:write inventory:read inventory:write"
    )
    rate_limit_per_minute: int = 600


@strawberry.type
class ApiKeyCreatePayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(default=None, description="Shown once: store it now.")
    user_errors: list[UserError]


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKey | None = None
    user_errors: list[UserError]
