"""Identity fields of the Mutation root."""

from __future__ import annotations

import strawberry

from resolvers import identity as resolve
from schema.errors import authenticated
from schema.identity.types import (
    ApiKeyCreatePayload,
    ApiKeyRevokePayload,
    StaffLoginPayload,
    StaffUserPayload,
)


@strawberry.type
class IdentityMutation:
    staff_login: StaffLoginPayload = strawberry.mutation(
        resolver=resolve.staff_login,
        description="Exchange a staff email and password for an access token.",
    )
    staff_user_create: StaffUserPayload = strawberry.mutation(
        resolver=resolve.staff_user_create, extensions=[authenticated()]
    )
    api_key_create: ApiKeyCreatePayload = strawberry.mutation(
        resolver=resolve.api_key_create, extensions=[authenticated()]
    )
    api_key_revoke: ApiKeyRevokePayload = strawberry.mutation(
        resolver=resolve.api_key_revoke, extensions=[authenticated()]
    )
