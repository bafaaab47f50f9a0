"""The member at the till: their app shows a one-time code (a QR code, valid about a minute)
that a clerk scans before spending the member's points or vouchers; a member code or a phone
number only identifies the member (they earn), it does not let anyone spend."""

from __future__ import annotations

from datetime import datetime

from domain.errors import DomainError, PermissionDenied
from domain.identity.model import Principal
from domain.members.model import (
    PRESENCE_LIFETIME,
    MemberErrorCode,
    new_presence_code,
    presence_hash,
)
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


async def issue_presence_code(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, clock: Clock
) -> tuple[str, datetime]:
    """A fresh one-time presence code for the logged-in member, and when it expires."""
    member_id = principal.member_id
    if member_id is None:
        raise PermissionDenied("log in as a member")
    code, expires_at = new_presence_code(), clock.now() + PRESENCE_LIFETIME
    async with uow_factory() as uow:
        await uow.members.add_presence(
            member_id, code_hash=presence_hash(code), expires_at=expires_at
        )
    return code, expires_at


async def require_presence(
    uow: UnitOfWork, member_id: int, *, code: str | None, at: datetime
) -> None:
    """Use up the member's presence code; MEMBER_PRESENCE_REQUIRED when it is missing, expired,
    used already or another member's."""
    if not code or not await uow.members.use_presence(
        member_id, code_hash=presence_hash(code), at=at
    ):
        raise DomainError(
            MemberErrorCode.MEMBER_PRESENCE_REQUIRED,
            "spending a member's points or vouchers needs the member's presence code from "
            "their app (a member code or phone number only identifies them)",
            field="memberPresence",
        )
