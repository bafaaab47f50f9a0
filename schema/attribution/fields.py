"""Attribution fields of the Query and Mutation roots."""

from __future__ import annotations

import strawberry

from resolvers import attribution as resolve
from schema.attribution.types import (
    AttributionCode,
    AttributionCodePayload,
    AttributionScanPayload,
    BindingPolicyPayload,
    BindingPolicyType,
    MemberBindPayload,
)


@strawberry.type
class AttributionQuery:
    attribution_codes: list[AttributionCode] = strawberry.field(
        resolver=resolve.attribution_codes,
        description="Staff: codes (owners all, managers their stores', clerks their own).",
    )
    binding_policy: BindingPolicyType = strawberry.field(
        resolver=resolve.binding_policy, description="Owner/admin: the binding rules."
    )


@strawberry.type
class AttributionMutation:
    attribution_scan: AttributionScanPayload = strawberry.mutation(
        resolver=resolve.attribution_scan,
        description="Anyone: a QR was scanned (a member token records the member, else "
        "visitorId, the id the frontend keeps); answers the code's names and landing URL.",
    )
    attribution_code_create: AttributionCodePayload = strawberry.mutation(
        resolver=resolve.attribution_code_create,
        description="Staff: a code for a store, a clerk, a campaign or a partner venue.",
    )
    attribution_code_deactivate: AttributionCodePayload = strawberry.mutation(
        resolver=resolve.attribution_code_deactivate,
        description="Staff: stop a code (scans and sign-ups with it are refused).",
    )
    member_bind: MemberBindPayload = strawberry.mutation(
        resolver=resolve.member_bind,
        description="Managers: bind a member to one of their stores and a clerk of it.",
    )
    binding_policy_update: BindingPolicyPayload = strawberry.mutation(
        resolver=resolve.binding_policy_update,
        description="Owner/admin: change the binding rules.",
    )
