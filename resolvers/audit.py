"""Resolvers of trust, and the audit extension: every staff and partner mutation is written to
the audit log (who, role, field, input with secrets redacted, result, client address)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from adapters.settings import Settings
from domain.audit import services as svc
from domain.audit.model import AuditRecord, GrantLimits, GrantStatus, summarise
from domain.errors import CommonErrorCode, DomainError
from domain.identity.model import PrincipalKind
from domain.members.presence import issue_presence_code
from resolvers.context import Context
from schema.audit.types import AuditEntry, MemberPresencePayload, ValueGrantPayload, ValueGrantType
from schema.common import Connection, connection
from schema.relay import decode_cursor, expect_id

log = logging.getLogger("o2o.audit")
AUDITED = (PrincipalKind.STAFF, PrincipalKind.PARTNER)


def grant_limits(settings: Settings) -> GrantLimits:
    """The store managers' daily caps from the settings."""
    return GrantLimits(
        points_per_day=settings.manager_daily_points_cap,
        voucher_minor_per_day=settings.manager_daily_voucher_cap_cents,
    )


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            to_camel_case(f.name): _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is strawberry.UNSET:
        return None
    return value


def _outcome(result: Any) -> str:
    errors = getattr(result, "user_errors", None)
    return str(errors[0].code) if errors else "OK"


class AuditExtension(FieldExtension):
    """Writes one audit entry per staff or partner call of the mutation, whatever its end."""

    def __init__(self, field_name: str) -> None:
        self.field_name = field_name

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        """Run the mutation, then record it (errors are recorded and raised again)."""
        ctx: Context = info.context
        if ctx.principal.kind not in AUDITED:
            return await next_(source, info, **kwargs)
        try:
            result = await next_(source, info, **kwargs)
        except Exception as error:
            await self._write(ctx, kwargs, result=str(getattr(error, "code", type(error).__name__)))
            raise
        await self._write(ctx, kwargs, result=_outcome(result))
        return result

    async def _write(self, ctx: Context, kwargs: dict[str, Any], *, result: str) -> None:
        p = ctx.principal
        entry = AuditRecord(
            actor=p.subject,
            role=p.role.value if p.role else p.kind.value,
            field=self.field_name,
            summary=summarise({to_camel_case(k): _plain(v) for k, v in kwargs.items()}),
            result=result,
            client=ctx.client,
        )
        try:
            await svc.record(ctx.services.uow, entry)
        except Exception:  # the mutation stands; a lost audit line is loud in the log
            log.exception("audit entry not written: %s", entry)


def audit_mutations(mutation: type) -> None:
    """Attach the AuditExtension to every field of the Mutation root (outermost)."""
    for field in get_object_definition(mutation, strict=True).fields:
        if not any(isinstance(e, AuditExtension) for e in field.extensions):
            name = field.graphql_name or to_camel_case(field.python_name)
            field.extensions.append(AuditExtension(name))


def _before(after: str | None) -> int | None:
    return decode_cursor(after, field="after")[1] if after else None


async def audit_log(
    info: Info[Context, None], first: int = 50, after: str | None = None
) -> Connection[AuditEntry]:
    """Owners: the audit log, newest first."""
    ctx = info.context
    ctx.check_first(first)
    rows = await svc.audit_log(
        ctx.services.uow, ctx.principal, first=first, before_id=_before(after)
    )
    return connection(
        rows[:first],
        wrap=AuditEntry.of,
        cursor_of=lambda e: ("id", e.id),
        has_next=len(rows) > first,
        has_previous=after is not None,
    )


async def value_grants(
    info: Info[Context, None],
    status: str | None = "PENDING",
    first: int = 50,
    after: str | None = None,
) -> Connection[ValueGrantType]:
    """Owners: points and vouchers given by staff, the pending ones by default."""
    ctx = info.context
    ctx.check_first(first)
    try:
        wanted = GrantStatus(status.upper()) if status else None
    except ValueError:
        raise DomainError(CommonErrorCode.INVALID, "unknown status", field="status") from None
    rows = await svc.value_grants(
        ctx.services.uow, ctx.principal, status=wanted, first=first, before_id=_before(after)
    )
    return connection(
        rows[:first],
        wrap=ValueGrantType.of,
        cursor_of=lambda g: ("id", g.id),
        has_next=len(rows) > first,
        has_previous=after is not None,
    )


async def _decide(
    info: Info[Context, None], grant_id: strawberry.ID, *, approve: bool
) -> ValueGrantPayload:
    ctx = info.context
    grant = await svc.decide(
        ctx.services.uow,
        ctx.principal,
        grant_id=expect_id(grant_id, "ValueGrant"),
        approve=approve,
        clock=ctx.services.clock,
    )
    return ValueGrantPayload(grant=ValueGrantType.of(grant), user_errors=[])


async def value_grant_approve(info: Info[Context, None], id: strawberry.ID) -> ValueGrantPayload:
    """Owners: give the pending points or voucher now."""
    return await _decide(info, id, approve=True)


async def value_grant_reject(info: Info[Context, None], id: strawberry.ID) -> ValueGrantPayload:
    """Owners: refuse the pending points or voucher."""
    return await _decide(info, id, approve=False)


async def member_presence_code(info: Info[Context, None]) -> MemberPresencePayload:
    """The logged-in member: a one-time code for the till, valid about a minute."""
    ctx = info.context
    code, expires_at = await issue_presence_code(
        ctx.services.uow, ctx.principal, clock=ctx.services.clock
    )
    return MemberPresencePayload(code=code, expires_at=expires_at, user_errors=[])
