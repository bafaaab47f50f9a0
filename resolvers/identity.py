"""Resolvers of identity: staff login, staff accounts, partner API keys."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.identity import services as svc
from resolvers.context import Context
from schema.identity.types import (
    ApiKey,
    ApiKeyCreateInput,
    ApiKeyCreatePayload,
    ApiKeyRevokePayload,
    StaffLoginPayload,
    StaffUser,
    StaffUserCreateInput,
    StaffUserPayload,
)
from schema.relay import expect_id


async def staff_login(info: Info[Context, None], email: str, password: str) -> StaffLoginPayload:
    """A staff email and password for an access token (throttled per client)."""
    s = info.context.services
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
    return StaffLoginPayload(
        access_token=result.token,
        expires_in=result.expires_in,
        staff_user=StaffUser.of(result.staff),
        user_errors=[],
    )


async def staff_user_create(
    info: Info[Context, None], input: StaffUserCreateInput
) -> StaffUserPayload:
    """Owner or admin: a staff account with a role and its stores."""
    ctx = info.context
    record = await svc.create_staff(
        ctx.services.uow,
        ctx.principal,
        email=input.email,
        name=input.name,
        password=input.password,
        role=input.role,
        location_ids=[expect_id(i, "Location", field="locationIds") for i in input.location_ids],
        hasher=ctx.services.hasher,
    )
    return StaffUserPayload(staff_user=StaffUser.of(record), user_errors=[])


async def api_key_create(
    info: Info[Context, None], input: ApiKeyCreateInput
) -> ApiKeyCreatePayload:
    """Owner or admin: a scoped key for a partner; the secret is returned once."""
    ctx = info.context
    issued = await svc.create_api_key(
        ctx.services.uow,
        ctx.principal,
        partner=input.partner,
        name=input.name,
        scopes=input.scopes,
        rate_limit_per_minute=input.rate_limit_per_minute,
    )
    return ApiKeyCreatePayload(
        api_key=ApiKey.of(issued.record), secret=issued.secret, user_errors=[]
    )


async def api_key_revoke(info: Info[Context, None], id: strawberry.ID) -> ApiKeyRevokePayload:
    """Owner or admin: revoke a key at once."""
    ctx = info.context
    record = await svc.revoke_api_key(
        ctx.services.uow,
        ctx.principal,
        key_id=expect_id(id, "ApiKey"),
        clock=ctx.services.clock,
    )
    return ApiKeyRevokePayload(api_key=ApiKey.of(record), user_errors=[])
