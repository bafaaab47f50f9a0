"""Staff login, staff accounts and partner API keys."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from domain.errors import DomainError
from domain.identity import services as svc
from domain.ports import ApiKeyRecord, StaffRecord
from resolvers.context import Context
from schema.common import UserError
from schema.errors import authenticated
from schema.relay import expect_id, to_global_id


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
    access_token: str | None
    expires_in: int | None
    staff_user: StaffUser | None
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
    staff_user: StaffUser | None
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
    api_key: ApiKey | None
    secret: str | None = strawberry.field(description="Shown once: store it now.")
    user_errors: list[UserError]


@strawberry.type
class ApiKeyRevokePayload:
    api_key: ApiKey | None
    user_errors: list[UserError]


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Exchange a staff email and password for an access token.")
    async def staff_login(
        self, info: Info[Context, None], email: str, password: str
    ) -> StaffLoginPayload:
        s = info.context.services
        try:
            result = await svc.staff_login(
                s.uow,
                email=email,
                password=password,
                client=info.context.client,
                hasher=s.hasher,
                signer=s.signer,
                limiter=s.kv,
                ttl_seconds=s.settings.access_token_ttl_seconds,
            )
        except DomainError as error:
            return StaffLoginPayload(
                access_token=None,
                expires_in=None,
                staff_user=None,
                user_errors=[UserError.of(error)],
            )
        return StaffLoginPayload(
            access_token=result.token,
            expires_in=result.expires_in,
            staff_user=StaffUser.of(result.staff),
            user_errors=[],
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def staff_user_create(
        self, info: Info[Context, None], input: StaffUserCreateInput
    ) -> StaffUserPayload:
        ctx = info.context
        try:
            record = await svc.create_staff(
                ctx.services.uow,
                ctx.principal,
                email=input.email,
                name=input.name,
                password=input.password,
                role=input.role,
                location_ids=[
                    expect_id(i, "Location", field="locationIds") for i in input.location_ids
                ],
                hasher=ctx.services.hasher,
            )
        except DomainError as error:
            return StaffUserPayload(staff_user=None, user_errors=[UserError.of(error)])
        return StaffUserPayload(staff_user=StaffUser.of(record), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()])
    async def api_key_create(
        self, info: Info[Context, None], input: ApiKeyCreateInput
    ) -> ApiKeyCreatePayload:
        ctx = info.context
        try:
            issued = await svc.create_api_key(
                ctx.services.uow,
                ctx.principal,
                partner=input.partner,
                name=input.name,
                scopes=input.scopes,
                rate_limit_per_minute=input.rate_limit_per_minute,
            )
        except DomainError as error:
            return ApiKeyCreatePayload(api_key=None, secret=None, user_errors=[UserError.of(error)])
        return ApiKeyCreatePayload(
            api_key=ApiKey.of(issued.record), secret=issued.secret, user_errors=[]
        )

    @strawberry.mutation(extensions=[authenticated()])
    async def api_key_revoke(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ApiKeyRevokePayload:
        ctx = info.context
        try:
            record = await svc.revoke_api_key(
                ctx.services.uow,
                ctx.principal,
                key_id=expect_id(id, "ApiKey"),
                clock=ctx.services.clock,
            )
        except DomainError as error:
            return ApiKeyRevokePayload(api_key=None, user_errors=[UserError.of(error)])
        return ApiKeyRevokePayload(api_key=ApiKey.of(record), user_errors=[])
