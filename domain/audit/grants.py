"""Admission of a value grant (points or a voucher given by staff): store managers only to the
members of their stores and within their daily caps; above a cap the grant waits for an owner."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from domain.audit.model import (
    GrantKind,
    GrantLimits,
    GrantStatus,
    TrustErrorCode,
    ValueGrant,
    over_cap,
)
from domain.errors import DomainError
from domain.identity.model import Principal, Role
from domain.members.model import MemberRecord, member_stores
from domain.ports import UnitOfWork


class ApprovalRequired(DomainError):
    """The grant is above the caller's daily cap: it was stored, pending an owner's approval."""

    def __init__(self, grant_id: int) -> None:
        super().__init__(
            TrustErrorCode.APPROVAL_REQUIRED,
            f"above your daily cap: pending approval ValueGrant/{grant_id} (an owner approves "
            "it with valueGrantApprove)",
            field="approval",
        )
        self.grant_id = grant_id


def check_member_in_stores(principal: Principal, member: MemberRecord) -> None:
    """A store manager acts only on members of their stores; brand-wide roles on everyone."""
    if principal.role is Role.STORE_MANAGER and not member_stores(member) & principal.location_ids:
        raise DomainError(
            TrustErrorCode.OUTSIDE_YOUR_STORES,
            "this member belongs to none of your stores",
            field="memberId",
        )


async def admit(
    uow: UnitOfWork,
    principal: Principal,
    *,
    grant: ValueGrant,
    member: MemberRecord,
    limits: GrantLimits,
) -> int | None:
    """Record the grant: None when it may be applied now, else the id of the pending grant
    (store managers above their cap for the day). OUTSIDE_YOUR_STORES for others' members."""
    check_member_in_stores(principal, member)
    if grant.value <= 0:
        return None
    at = grant.created_at
    status = GrantStatus.APPLIED
    if principal.role is Role.STORE_MANAGER:
        if principal.staff_id is not None:  # two grants at once still stay within the cap
            await uow.audit.lock_requester(principal.staff_id)
        cap = (
            limits.points_per_day
            if grant.kind is GrantKind.POINTS
            else limits.voucher_minor_per_day
        )
        since = start_of_day(at)
        used = await uow.audit.applied_since(grant.requested_by, kind=grant.kind, since=since)
        if over_cap(used_today=used, value=grant.value, cap=cap):
            status = GrantStatus.PENDING
    grant_id = await uow.audit.add_grant(replace(grant, status=status))
    return grant_id if status is GrantStatus.PENDING else None


def start_of_day(at: datetime) -> datetime:
    """Midnight of ``at``'s day in its time zone (the caps are per day)."""
    return at.replace(hour=0, minute=0, second=0, microsecond=0)
