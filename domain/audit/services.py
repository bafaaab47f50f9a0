"""Trust use cases: write and read the audit log, and owners' decisions on pending grants."""

from __future__ import annotations

from datetime import datetime

from domain.audit.model import AuditRecord, GrantKind, GrantStatus, TrustErrorCode, ValueGrant
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Role
from domain.loyalty import services as loyalty
from domain.money import Money
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.promotions import services as promotions


async def record(uow_factory: UnitOfWorkFactory, entry: AuditRecord) -> None:
    """Append one entry to the audit log (its own transaction, after the mutation)."""
    async with uow_factory() as uow:
        await uow.audit.record(entry)


async def audit_log(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, first: int, before_id: int | None
) -> list[AuditRecord]:
    """Owners read the audit log, newest first (``first`` + 1 rows, to know if more follow)."""
    principal.require_staff(Role.OWNER)
    async with uow_factory() as uow:
        return await uow.audit.entries(first=first + 1, before_id=before_id)


async def value_grants(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    status: GrantStatus | None,
    first: int,
    before_id: int | None,
) -> list[ValueGrant]:
    """Owners list grants (the pending ones by default), newest first."""
    principal.require_staff(Role.OWNER)
    async with uow_factory() as uow:
        return await uow.audit.grants(status=status, first=first + 1, before_id=before_id)


async def decide(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    grant_id: int,
    approve: bool,
    clock: Clock,
) -> ValueGrant:
    """An owner approves (the points or the voucher are given now) or rejects a pending grant."""
    principal.require_staff(Role.OWNER)
    at = clock.now()
    async with uow_factory() as uow:
        grant = await uow.audit.grant(grant_id, for_update=True)
        if grant is None:
            raise NotFound("value grant", field="id")
        if grant.status is not GrantStatus.PENDING:
            raise DomainError(
                TrustErrorCode.NOT_PENDING, f"this grant is {grant.status.value}", field="id"
            )
        status = GrantStatus.APPROVED if approve else GrantStatus.REJECTED
        await uow.audit.decide_grant(grant_id, status=status, by=principal.subject, at=at)
        if approve:
            await _apply(
                uow, grant, actor=f"{grant.requested_by} (approved by {principal.subject})", at=at
            )
        found = await uow.audit.grant(grant_id)
        assert found is not None
        return found


async def _apply(uow: UnitOfWork, grant: ValueGrant, *, actor: str, at: datetime) -> None:
    if grant.kind is GrantKind.POINTS:
        await loyalty.apply_adjustment(
            uow,
            member_id=grant.member_id,
            points=grant.value,
            reason=grant.reason,
            actor=actor,
            at=at,
        )
    else:
        await promotions.add_member_voucher(
            uow,
            member_id=grant.member_id,
            amount=Money(grant.value, grant.currency),
            expires_at=grant.voucher_expires_at,
            issued_by=actor,
        )
