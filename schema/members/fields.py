"""Member and points fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import members as resolve
from schema.members.types import (
    LogoutPayload,
    LoyaltyProgramPayload,
    Member,
    MemberCreatePayload,
    MemberSessionPayload,
    MemberUpdatePayload,
    MemberVerifyPayload,
    PointsAdjustPayload,
)


@strawberry.type
class MemberQuery:
    me: Member | None = strawberry.field(
        resolver=resolve.me, description="The logged-in member; null for anyone else."
    )
    member_lookup: Member | None = strawberry.field(
        resolver=resolve.member_lookup,
        description="Staff at the till: a member by scanned code or phone.",
    )
    store_referral_code: str = strawberry.field(
        resolver=resolve.store_referral_code,
        description="The code a store shows so shoppers sign up through it.",
    )


@strawberry.type
class MemberMutation:
    member_update: MemberUpdatePayload = strawberry.mutation(
        resolver=resolve.member_update,
        description="The logged-in member edits their profile.",
    )
    points_adjust: PointsAdjustPayload = strawberry.mutation(
        resolver=resolve.points_adjust,
        description="Staff: add or remove points.",
    )
    loyalty_program_update: LoyaltyProgramPayload = strawberry.mutation(
        resolver=resolve.loyalty_program_update,
        description="Owner/admin: points rules.",
    )
    member_create: MemberCreatePayload = strawberry.mutation(
        resolver=resolve.member_create,
        description="Sign up (shoppers); then verify with the token sent.",
    )
    member_verify: MemberVerifyPayload = strawberry.mutation(
        resolver=resolve.member_verify,
        description="Confirm an email or phone with the token sent to it.",
    )
    member_login: MemberSessionPayload = strawberry.mutation(
        resolver=resolve.member_login,
        description="Email or phone + password; merges an anonymous cart.",
    )
    member_token_refresh: MemberSessionPayload = strawberry.mutation(
        resolver=resolve.member_token_refresh,
        description="A new access token for a refresh token (rotated).",
    )
    member_logout: LogoutPayload = strawberry.mutation(
        resolver=resolve.member_logout,
        description="End this session, or every session with everywhere.",
    )
