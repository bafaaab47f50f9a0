"""Resolvers of attribution: codes (staff), scans (public), bindings and the policy."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from domain.attribution import services as svc
from domain.attribution.codes import QrSigner, landing_url
from domain.attribution.model import AttributionErrorCode, Binding, CodeKind, CodeRecord
from domain.errors import DomainError
from domain.members.model import MemberRecord
from resolvers.context import Context
from schema.attribution.types import (
    AttributionCode,
    AttributionCodeInput,
    AttributionCodeKind,
    AttributionCodePayload,
    AttributionScanPayload,
    BindingPolicyInput,
    BindingPolicyPayload,
    BindingPolicyType,
    MemberBinding,
    MemberBindPayload,
)
from schema.relay import expect_id


def qr_signer(info: Info[Context, None]) -> QrSigner:
    """The QR signer keyed from the settings' secret key (derived once per request)."""
    signer: QrSigner | None = info.context.extra.get("qr_signer")
    if signer is None:
        secret = str(info.context.services.settings.secret_key)
        signer = info.context.extra["qr_signer"] = QrSigner.from_secret(secret)
    return signer


def _url(info: Info[Context, None], record: CodeRecord, payload: str) -> str:
    return landing_url(info.context.services.settings.public_base_url, record.landing_path, payload)


async def _codes(info: Info[Context, None], records: list[CodeRecord]) -> list[AttributionCode]:
    """Codes with their payloads, landing URLs and clerks' names (one query for the names)."""
    staff_ids = {r.staff_id for r in records if r.staff_id is not None}
    names: dict[int, str] = {}
    if staff_ids:
        async with info.context.services.uow() as uow:
            names = await uow.attribution.staff_names(staff_ids)
    signer = qr_signer(info)
    found = []
    for record in records:
        payload = signer.payload(record.code)
        found.append(
            AttributionCode.of(
                record, payload=payload, url=_url(info, record, payload), names=names
            )
        )
    return found


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> int | None:
    return expect_id(value, type_name, field=field) if value is not None else None


# --- codes -----------------------------------------------------------------------------------


async def attribution_codes(
    info: Info[Context, None],
    kind: AttributionCodeKind | None = None,  # type: ignore[valid-type]
    first: int = 50,
) -> list[AttributionCode]:
    """Owners and admins all codes, managers their stores', clerks their own."""
    info.context.check_first(first)
    ctx = info.context
    records = await svc.list_codes(
        ctx.services.uow, ctx.principal, kind=_kind(kind) if kind else None, limit=first
    )
    return await _codes(info, records)


def _kind(value: Any) -> CodeKind:
    try:
        return CodeKind(getattr(value, "value", value))
    except ValueError:
        raise DomainError(
            AttributionErrorCode.INVALID_CODE, "STORE, CLERK, CAMPAIGN or VENUE", field="kind"
        ) from None


async def attribution_code_create(
    info: Info[Context, None], input: AttributionCodeInput
) -> AttributionCodePayload:
    """Staff create a code (managers: for their stores and their clerks)."""
    ctx = info.context
    record = await svc.create_code(
        ctx.services.uow,
        ctx.principal,
        kind=_kind(input.kind),
        name=input.name,
        location_id=_optional_id(input.location_id, "Location", "locationId"),
        staff_id=_optional_id(input.staff_id, "StaffUser", "staffId"),
        code=input.code,
        landing_path=input.landing_path,
    )
    return AttributionCodePayload(code=(await _codes(info, [record]))[0], user_errors=[])


async def attribution_code_deactivate(
    info: Info[Context, None], id: strawberry.ID
) -> AttributionCodePayload:
    """Staff stop a code: its QR and its text are refused from now on."""
    ctx = info.context
    record = await svc.deactivate_code(
        ctx.services.uow, ctx.principal, code_id=expect_id(id, "AttributionCode")
    )
    return AttributionCodePayload(code=(await _codes(info, [record]))[0], user_errors=[])


# --- scans -----------------------------------------------------------------------------------


async def attribution_scan(
    info: Info[Context, None], payload: str, visitor_id: str | None = None
) -> AttributionScanPayload:
    """Anyone: record a scan of a QR; the landing page gets the code's names and URL."""
    ctx = info.context
    found = await svc.scan(
        ctx.services.uow,
        ctx.principal,
        payload=payload,
        visitor=visitor_id,
        signer=qr_signer(info),
        clock=ctx.services.clock,
    )
    return AttributionScanPayload(
        kind=found.code.kind.value,
        name=found.code.name,
        store_name=found.store_name,
        clerk_name=found.clerk_name,
        landing_url=_url(info, found.code, qr_signer(info).payload(found.code.code)),
        user_errors=[],
    )


# --- bindings and the policy -----------------------------------------------------------------


async def member_binding(info: Info[Context, None], member: MemberRecord) -> MemberBinding | None:
    """A member's binding for staff who may see it (one query for every member read)."""
    loader: DataLoader[int, tuple[Binding | None, dict[int, str]]] | None = info.context.extra.get(
        "bindings"
    )
    if loader is None:
        uow_factory = info.context.services.uow

        async def load(keys: list[int]) -> list[tuple[Binding | None, dict[int, str]]]:
            async with uow_factory() as uow:
                found = await uow.attribution.bindings(keys)
                staff = {b.staff_id for b in found.values() if b.staff_id is not None}
                names = await uow.attribution.staff_names(staff)
            return [(found.get(k), names) for k in keys]

        loader = info.context.extra["bindings"] = DataLoader(load_fn=load)
    binding, names = await loader.load(member.id)
    if binding is None or not svc.binding_visible(info.context.principal, member, binding):
        return None
    return MemberBinding.of(binding, names=names)


async def member_bind(
    info: Info[Context, None],
    member_id: strawberry.ID,
    location_id: strawberry.ID,
    staff_id: strawberry.ID | None = None,
) -> MemberBindPayload:
    """Managers bind a member to one of their stores (and one of its clerks) by hand."""
    ctx = info.context
    binding = await svc.bind_manually(
        ctx.services.uow,
        ctx.principal,
        member_id=expect_id(member_id, "Member", field="memberId"),
        location_id=expect_id(location_id, "Location", field="locationId"),
        staff_id=_optional_id(staff_id, "StaffUser", "staffId"),
        clock=ctx.services.clock,
    )
    names: dict[int, str] = {}
    if binding.staff_id is not None:
        async with ctx.services.uow() as uow:
            names = await uow.attribution.staff_names({binding.staff_id})
    return MemberBindPayload(binding=MemberBinding.of(binding, names=names), user_errors=[])


async def binding_policy(info: Info[Context, None]) -> BindingPolicyType:
    """Owners and admins: the binding policy."""
    ctx = info.context
    return BindingPolicyType.of(await svc.read_policy(ctx.services.uow, ctx.principal))


async def binding_policy_update(
    info: Info[Context, None], input: BindingPolicyInput
) -> BindingPolicyPayload:
    """Owners and admins change some rules of the binding policy; the rest stay."""
    ctx = info.context
    given = {
        "bind_days": input.bind_days,
        "takeover_after_days": input.takeover_after_days,
        "last_touch_days": input.last_touch_days,
        "bind_on_scan": input.bind_on_scan,
        "bind_on_signup": input.bind_on_signup,
        "bind_at_till": input.bind_at_till,
    }
    policy = await svc.update_policy(
        ctx.services.uow,
        ctx.principal,
        changes={k: v for k, v in given.items() if v is not None},
    )
    return BindingPolicyPayload(policy=BindingPolicyType.of(policy), user_errors=[])
