"""Trust fields of the Query and Mutation roots: the audit log and value grants (owners), and
the member's presence code for the till."""

from __future__ import annotations

import strawberry

from resolvers import audit as resolve
from schema.audit.types import AuditEntry, MemberPresencePayload, ValueGrantPayload, ValueGrantType
from schema.common import Connection
from schema.errors import authenticated


@strawberry.type
class AuditQuery:
    audit_log: Connection[AuditEntry] = strawberry.field(
        resolver=resolve.audit_log,
        extensions=[authenticated()],
        description="Owners: every staff and partner mutation, newest first.",
    )
    value_grants: Connection[ValueGrantType] = strawberry.field(
        resolver=resolve.value_grants,
        extensions=[authenticated()],
        description="Owners: points and vouchers given by staff (PENDING ones by default).",
    )


@strawberry.type
class AuditMutation:
    value_grant_approve: ValueGrantPayload = strawberry.mutation(
        resolver=resolve.value_grant_approve,
        extensions=[authenticated()],
        description="Owners: approve a pending grant; the points or voucher are given now.",
    )
    value_grant_reject: ValueGrantPayload = strawberry.mutation(
        resolver=resolve.value_grant_reject,
        extensions=[authenticated()],
        description="Owners: reject a pending grant.",
    )
    member_presence_code: MemberPresencePayload = strawberry.mutation(
        resolver=resolve.member_presence_code,
        extensions=[authenticated()],
        description="The logged-in member: a one-time code (QR) proving they are at the till, "
        "valid about a minute; needed to spend their points or vouchers there.",
    )
