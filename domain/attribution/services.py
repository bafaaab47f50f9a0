"""Attribution use cases: staff create and deactivate codes, shoppers scan them, members get
bound to a store and a clerk (at sign-up, by a scan, at the till, by a manager), and the
owners set the binding policy.

Who may do what: owners and admins everything; a store manager the codes of their stores and
of their stores' clerks, and bindings to their stores; a clerk reads their own code. Every
binding made or taken over is an outbox event ``member.bound`` carrying the old and the new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from domain.attribution.codes import (
    QrSigner,
    check_code_text,
    check_landing_path,
    default_code,
    looks_signed,
)
from domain.attribution.events import MemberBound, binding_json
from domain.attribution.model import (
    BINDING_KINDS,
    AttributionErrorCode,
    Binding,
    BindingPolicy,
    BindingSource,
    CodeDraft,
    CodeKind,
    CodeRecord,
    binding_rule,
    bound_until,
    check_policy,
    may_take_over,
)
from domain.channels.model import LocationKind
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal, Role
from domain.identity.ports import StaffRecord
from domain.members.model import MemberErrorCode, MemberRecord, member_stores, parse_referral
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory

# the same code scanned again by the same person within this time is the same scan
SCAN_REPEAT = timedelta(minutes=10)
_VISITOR = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def check_visitor(visitor: str | None) -> str | None:
    """An anonymous visitor id as the frontend keeps it: 8 to 64 of A-Z a-z 0-9 _ -."""
    if visitor is None or not visitor.strip():
        return None
    visitor = visitor.strip()
    if not _VISITOR.match(visitor):
        raise DomainError(
            AttributionErrorCode.INVALID_VISITOR,
            "a visitor id has 8 to 64 letters, digits, '_' or '-'",
            field="visitorId",
        )
    return visitor


def clerk_name(staff: StaffRecord | None, staff_id: int) -> str:
    """How a clerk is named to shoppers and in rules: their name, else Clerk C<id>."""
    return staff.name if staff is not None and staff.name else f"Clerk C{staff_id}"


# --- codes -----------------------------------------------------------------------------------


def _require_manager_of(principal: Principal, location_id: int | None) -> None:
    """Owners and admins anywhere; a store manager at their stores only."""
    if principal.brand_wide:
        return
    principal.require_staff(Role.STORE_MANAGER)
    if location_id is None or location_id not in principal.location_ids:
        raise PermissionDenied("only for your stores", field="locationId")


async def _staff(uow: UnitOfWork, staff_id: int, *, field: str = "staffId") -> StaffRecord:
    staff = await uow.identity.staff_by_id(staff_id)
    if staff is None or not staff.active:
        raise NotFound("staff member", field=field)
    return staff


async def _store(uow: UnitOfWork, location_id: int, *, field: str = "locationId") -> str:
    location = await uow.locations.location(location_id)
    if location is None or location.kind is not LocationKind.STORE:
        raise NotFound("store", field=field)
    return location.name


async def create_code(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    kind: CodeKind,
    name: str | None,
    location_id: int | None,
    staff_id: int | None,
    code: str | None,
    landing_path: str | None,
) -> CodeRecord:
    """A new code: a store's (its store), a clerk's (the clerk, at one of their stores), a
    campaign's or a partner venue's (a name; a store optional, required of managers)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    path = check_landing_path(landing_path)
    text = check_code_text(code) if code else None
    async with uow_factory() as uow:
        owner_id: int | None = None
        default_name = ""
        if kind is CodeKind.CLERK:
            if staff_id is None:
                raise DomainError(AttributionErrorCode.INVALID_CODE, "whose code?", field="staffId")
            staff = await _staff(uow, staff_id)
            location_id = location_id if location_id is not None else _first(staff.location_ids)
            if location_id is None or location_id not in staff.location_ids:
                raise DomainError(
                    AttributionErrorCode.INVALID_CODE,
                    "a clerk's code belongs to one of their stores",
                    field="locationId",
                )
            owner_id, default_name = staff_id, clerk_name(staff, staff_id)
        elif staff_id is not None:
            raise DomainError(
                AttributionErrorCode.INVALID_CODE,
                "only a clerk's code has a clerk",
                field="staffId",
            )
        if kind is CodeKind.STORE:
            if location_id is None:
                raise DomainError(
                    AttributionErrorCode.INVALID_CODE, "which store?", field="locationId"
                )
            owner_id = location_id
        _require_manager_of(principal, location_id)
        store_name = await _store(uow, location_id) if location_id is not None else ""
        if kind is CodeKind.STORE:
            default_name = store_name
        label = (name or "").strip()[:200] or default_name
        if not label:
            raise DomainError(AttributionErrorCode.INVALID_CODE, "give it a name", field="name")
        if text is None:
            text = default_code(kind, owner_id)
            if await uow.attribution.code_by_text(text) is not None:
                text = default_code(kind, owner_id, taken=True)
        if await uow.attribution.code_by_text(text) is not None:
            raise DomainError(
                AttributionErrorCode.DUPLICATE_CODE, "this code exists already", field="code"
            )
        return await uow.attribution.add_code(
            CodeDraft(
                code=text,
                kind=kind,
                name=label,
                location_id=location_id,
                staff_id=staff_id,
                landing_path=path,
                created_by=principal.subject,
            )
        )


def _first(ids: tuple[int, ...]) -> int | None:
    return ids[0] if ids else None


async def deactivate_code(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, code_id: int
) -> CodeRecord:
    """Stop a code: its QR and its legacy text are refused from now on (scans, sign-ups)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    async with uow_factory() as uow:
        found = await uow.attribution.code(code_id)
        if found is None:
            raise NotFound("code", field="id")
        _require_manager_of(principal, found.location_id)
        await uow.attribution.set_code_active(code_id, False)
        return replace(found, active=False)


async def list_codes(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, kind: CodeKind | None, limit: int
) -> list[CodeRecord]:
    """The codes the caller may see: all (brand), their stores' (managers), their own
    (clerks)."""
    principal.require_staff()
    async with uow_factory() as uow:
        if principal.brand_wide:
            return await uow.attribution.codes(
                location_ids=None, staff_id=None, kind=kind, limit=limit
            )
        if principal.role is Role.STORE_MANAGER:
            return await uow.attribution.codes(
                location_ids=principal.location_ids, staff_id=None, kind=kind, limit=limit
            )
        if principal.staff_id is None:
            return []
        return await uow.attribution.codes(
            location_ids=None, staff_id=principal.staff_id, kind=kind, limit=limit
        )


# --- scans -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan answers the landing page: the code, its store's and clerk's names."""

    code: CodeRecord
    store_name: str | None
    clerk_name: str | None
    bound: bool  # the scan bound the member (their first store or clerk scan)


async def _active(uow: UnitOfWork, text: str, *, field: str) -> CodeRecord:
    found = await uow.attribution.code_by_text(text)
    if found is None:
        raise DomainError(AttributionErrorCode.UNKNOWN_CODE, "no such code", field=field)
    if not found.active:
        raise DomainError(
            AttributionErrorCode.CODE_INACTIVE, "this code is no longer in use", field=field
        )
    return found


async def scan(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    payload: str,
    visitor: str | None,
    signer: QrSigner,
    clock: Clock,
) -> ScanResult:
    """Record a scan of a signed payload by the member (their token) or an anonymous visitor;
    a member's first store or clerk scan binds them when the policy says so. The same code
    scanned again by the same person within ``SCAN_REPEAT`` is the same scan."""
    text = signer.verify(payload)
    visitor = check_visitor(visitor)
    member_id = principal.member_id
    at = clock.now()
    async with uow_factory() as uow:
        found = await _active(uow, text, field="payload")
        await _record_scan(uow, found, member_id=member_id, visitor=visitor, at=at)
        bound = False
        if member_id is not None and found.kind in BINDING_KINDS:
            bound = await _bind_by_scan(uow, member_id, found, at=at)
        store, clerk = await _names(uow, found)
    return ScanResult(found, store, clerk, bound)


async def _record_scan(
    uow: UnitOfWork,
    code: CodeRecord,
    *,
    member_id: int | None,
    visitor: str | None,
    at: datetime,
) -> None:
    repeat = await uow.attribution.recent_scan(
        code.id, member_id=member_id, visitor=visitor, since=at - SCAN_REPEAT
    )
    if repeat is None:
        await uow.attribution.add_scan(code.id, member_id=member_id, visitor=visitor, at=at)


async def _names(uow: UnitOfWork, code: CodeRecord) -> tuple[str | None, str | None]:
    store = await uow.locations.location(code.location_id) if code.location_id else None
    clerk = None
    if code.staff_id is not None:
        clerk = clerk_name(await uow.identity.staff_by_id(code.staff_id), code.staff_id)
    return (store.name if store else None), clerk


async def _bind_by_scan(uow: UnitOfWork, member_id: int, code: CodeRecord, *, at: datetime) -> bool:
    policy = await uow.attribution.policy()
    if not policy.bind_on_scan:
        return False
    current = await uow.attribution.binding(member_id, for_update=True)
    if current is not None and current.live(at):
        return False
    who = code.name
    new = Binding(
        member_id=member_id,
        location_id=code.location_id,
        staff_id=code.staff_id,
        source=BindingSource.SCAN,
        bound_at=at,
        expires_at=bound_until(policy, at),
        code_id=code.id,
        rule=binding_rule(BindingSource.SCAN, at=at, policy=policy, who=who, code=code.code),
    )
    await _save(uow, new, previous=current)
    return True


async def _save(uow: UnitOfWork, new: Binding, *, previous: Binding | None) -> None:
    await uow.attribution.save_binding(new)
    await uow.outbox.add(
        MemberBound(
            member_id=new.member_id,
            source=new.source.value,
            old=binding_json(previous),
            new=binding_json(new),
        )
    )


# --- sign-up ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignupCode:
    """The code a member signs up with: a stored code, or a legacy referral without a row."""

    text: str
    kind: CodeKind
    location_id: int | None
    staff_id: int | None
    name: str
    code: CodeRecord | None = None


async def signup_code(
    uow: UnitOfWork, referral: str | None, *, signer: QrSigner | None
) -> SignupCode | None:
    """The code behind a sign-up's referral: a signed QR payload (any kind), or a legacy
    REF-S<store>/REF-C<clerk> (its stored row when there is one, else the store or clerk)."""
    if not referral or not referral.strip():
        return None
    field = "referralCode"
    if looks_signed(referral):
        if signer is None:
            raise DomainError(MemberErrorCode.INVALID_CODE, "unknown referral code", field=field)
        try:
            text = signer.verify(referral)
        except DomainError as error:
            raise DomainError(error.code, error.message, field=field) from None
        return _from_row(await _active(uow, text, field=field))
    parsed = parse_referral(referral)
    assert parsed is not None
    kind, ident = CodeKind(parsed[0]), parsed[1]
    text = f"REF-{'S' if kind is CodeKind.STORE else 'C'}{ident}"
    row = await uow.attribution.code_by_text(text)
    if row is not None:
        return _from_row(await _active(uow, text, field=field))
    if kind is CodeKind.STORE:
        location = await uow.locations.location(ident)
        if location is None:
            raise DomainError(MemberErrorCode.INVALID_CODE, "unknown referral code", field=field)
        return SignupCode(text, kind, ident, None, location.name)
    staff = await uow.identity.staff_by_id(ident)
    if staff is None:
        raise DomainError(MemberErrorCode.INVALID_CODE, "unknown referral code", field=field)
    return SignupCode(text, kind, _first(staff.location_ids), ident, clerk_name(staff, ident))


def _from_row(row: CodeRecord) -> SignupCode:
    return SignupCode(row.code, row.kind, row.location_id, row.staff_id, row.name, row)


async def after_signup(
    uow: UnitOfWork,
    member_id: int,
    *,
    code: SignupCode | None,
    visitor: str | None,
    at: datetime,
) -> None:
    """In the sign-up's transaction: the visitor's earlier anonymous scans become the
    member's, the sign-up's code counts as a scan, and the member is bound by the sign-up's
    store or clerk code, else by their first store or clerk scan (as the policy says)."""
    if visitor is not None:
        await uow.attribution.link_visitor(visitor, member_id)
    if code is not None and code.code is not None:
        await _record_scan(uow, code.code, member_id=member_id, visitor=visitor, at=at)
    policy = await uow.attribution.policy()
    if code is not None and code.kind in BINDING_KINDS:
        if not policy.bind_on_signup:
            return
        rule = binding_rule(
            BindingSource.SIGNUP, at=at, policy=policy, who=code.name, code=code.text
        )
        new = Binding(
            member_id=member_id,
            location_id=code.location_id,
            staff_id=code.staff_id,
            source=BindingSource.SIGNUP,
            bound_at=at,
            expires_at=bound_until(policy, at),
            code_id=code.code.id if code.code else None,
            rule=rule,
        )
        await _save(uow, new, previous=None)
        return
    if not policy.bind_on_scan or visitor is None:
        return
    first = await uow.attribution.first_scan(
        member_id, BINDING_KINDS, at - timedelta(days=policy.bind_days)
    )
    if first is not None:
        row = await uow.attribution.code(first[0])
        if row is not None and row.active:
            await _bind_by_scan(uow, member_id, row, at=at)


# --- the till and by hand --------------------------------------------------------------------


async def bind_at_till(
    uow: UnitOfWork, member_id: int, *, location_id: int, staff_id: int | None, at: datetime
) -> Binding | None:
    """In a till sale's transaction: the clerk who served the member (and the store) take the
    binding when ``may_take_over`` says so; None when the binding stays as it was."""
    if staff_id is None:
        return None
    policy = await uow.attribution.policy()
    current = await uow.attribution.binding(member_id, for_update=True)
    if current is not None and current.live(at):
        if (current.location_id, current.staff_id) == (location_id, staff_id):
            return None
    if not may_take_over(current, policy, at=at):
        return None
    clerk = clerk_name(await uow.identity.staff_by_id(staff_id), staff_id)
    store = await uow.locations.location(location_id)
    rule = binding_rule(
        BindingSource.TILL,
        at=at,
        policy=policy,
        who=clerk,
        place=store.name if store else f"store {location_id}",
        previous=current,
    )
    new = Binding(
        member_id=member_id,
        location_id=location_id,
        staff_id=staff_id,
        source=BindingSource.TILL,
        bound_at=at,
        expires_at=bound_until(policy, at),
        rule=rule,
    )
    await _save(uow, new, previous=current)
    return new


async def bind_manually(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    member_id: int,
    location_id: int,
    staff_id: int | None,
    clock: Clock,
) -> Binding:
    """A manager binds a member to one of their stores (and a clerk of it), whatever the
    current binding."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    _require_manager_of(principal, location_id)
    at = clock.now()
    async with uow_factory() as uow:
        if await uow.members.by_id(member_id) is None:
            raise NotFound("member", field="memberId")
        await _store(uow, location_id)
        if staff_id is not None:
            staff = await _staff(uow, staff_id)
            if location_id not in staff.location_ids:
                raise DomainError(
                    AttributionErrorCode.INVALID_CODE,
                    "the clerk does not work at this store",
                    field="staffId",
                )
        policy = await uow.attribution.policy()
        current = await uow.attribution.binding(member_id, for_update=True)
        new = Binding(
            member_id=member_id,
            location_id=location_id,
            staff_id=staff_id,
            source=BindingSource.MANUAL,
            bound_at=at,
            expires_at=bound_until(policy, at),
            rule=binding_rule(BindingSource.MANUAL, at=at, policy=policy, who=principal.subject),
        )
        await _save(uow, new, previous=current)
        return new


# --- reading bindings and the policy ---------------------------------------------------------


def binding_visible(principal: Principal, member: MemberRecord, binding: Binding) -> bool:
    """Staff of the bound store or of the member's stores, owners and admins."""
    if principal.role is None or principal.member_id is not None:
        return False
    if principal.brand_wide:
        return True
    stores = set(member_stores(member))
    if binding.location_id is not None:
        stores.add(binding.location_id)
    return bool(principal.location_ids & stores)


async def read_policy(uow_factory: UnitOfWorkFactory, principal: Principal) -> BindingPolicy:
    """The binding policy (owners and admins)."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        return await uow.attribution.policy()


async def update_policy(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, changes: dict[str, Any]
) -> BindingPolicy:
    """Change some rules of the binding policy (owners and admins); the rest stay."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        current = await uow.attribution.policy()
        policy = check_policy(replace(current, **changes))
        await uow.attribution.save_policy(policy)
        return policy
