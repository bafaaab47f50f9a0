"""Types of the audit log, value grants and presence codes."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry

from domain.audit.model import AuditRecord, GrantKind, ValueGrant
from domain.money import Money
from schema.common import MoneyV2, UserError
from schema.relay import to_global_id


@strawberry.type(description="One staff or partner mutation, as the audit log keeps it.")
class AuditEntry:
    id: strawberry.ID
    at: datetime | None
    actor: str = strawberry.field(description="staff:<id>, partner:<id> …")
    role: str = strawberry.field(description="The staff role, or PARTNER.")
    field: str = strawberry.field(description="The mutation called.")
    input: str = strawberry.field(description="Its arguments as JSON, secrets redacted.")
    result: str = strawberry.field(description="OK, or the userError code / error it ended with.")
    client_address: str

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditEntry:
        return cls(
            id=strawberry.ID(to_global_id("AuditEntry", entry.id)),
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            field=entry.field,
            input=json.dumps(entry.summary, separators=(",", ":"), sort_keys=True),
            result=entry.result,
            client_address=entry.client,
        )


@strawberry.type(
    name="ValueGrant",
    description="Points or a voucher given by staff; above a manager's daily cap it waits "
    "(PENDING) until an owner approves or rejects it.",
)
class ValueGrantType:
    id: strawberry.ID
    kind: str = strawberry.field(description="POINTS or VOUCHER")
    member_id: strawberry.ID
    requested_by: str
    points: int | None
    amount: MoneyV2 | None
    reason: str
    status: str = strawberry.field(description="APPLIED, PENDING, APPROVED or REJECTED")
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, grant: ValueGrant) -> ValueGrantType:
        points = grant.kind is GrantKind.POINTS
        return cls(
            id=strawberry.ID(to_global_id("ValueGrant", grant.id)),
            kind=grant.kind.value,
            member_id=strawberry.ID(to_global_id("Member", grant.member_id)),
            requested_by=grant.requested_by,
            points=grant.value if points else None,
            amount=None if points else MoneyV2.of(Money(grant.value, grant.currency)),
            reason=grant.reason,
            status=grant.status.value,
            created_at=grant.created_at,
            decided_by=grant.decided_by,
            decided_at=grant.decided_at,
        )


@strawberry.type
class ValueGrantPayload:
    grant: ValueGrantType | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MemberPresencePayload:
    code: str | None = strawberry.field(
        default=None, description="Show it as a QR code at the till; it works once."
    )
    expires_at: datetime | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
