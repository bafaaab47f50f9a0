"""Attribution types: codes with their QR payload and landing URL, scans, members' bindings
and the binding policy; their inputs and payloads."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry.types import Info

from domain.attribution.model import Binding, CodeKind, CodeRecord
from domain.attribution.model import BindingPolicy as DBindingPolicy
from resolvers.context import Context
from schema.channels.types import Location
from schema.common import UserError
from schema.relay import to_global_id

AttributionCodeKind = strawberry.enum(
    Enum("AttributionCodeKind", {k.value: k.value for k in CodeKind}),  # type: ignore[misc]
    description="Whose code a QR carries: a store's, a clerk's, a campaign's, a venue's.",
)


@strawberry.type(description="A staff member credited by attribution (id and display name).")
class AttributedStaff:
    id: strawberry.ID
    name: str


async def _location(info: Info[Context, None], location_id: int | None) -> Location | None:
    if location_id is None:
        return None
    found = (await info.context.locations()).get(location_id)
    return Location(_location=found) if found else None


def _staff(staff_id: int | None, names: dict[int, str]) -> AttributedStaff | None:
    if staff_id is None:
        return None
    name = names.get(staff_id) or f"Clerk C{staff_id}"
    return AttributedStaff(id=strawberry.ID(to_global_id("StaffUser", staff_id)), name=name)


@strawberry.type(description="A code behind a QR, with the signed payload the QR carries.")
class AttributionCode:
    id: strawberry.ID
    code: str = strawberry.field(description="The code itself (REF-S2, REF-C4, CMP-…).")
    kind: str
    name: str
    landing_path: str
    active: bool
    qr_payload: str = strawberry.field(description="What the QR carries: code.signature.")
    landing_url: str = strawberry.field(description="Where the QR leads.")
    created_at: datetime
    clerk: AttributedStaff | None
    _location_id: strawberry.Private[int | None]

    @classmethod
    def of(
        cls, record: CodeRecord, *, payload: str, url: str, names: dict[int, str]
    ) -> AttributionCode:
        """A code with its payload and landing URL, its clerk named from ``names``."""
        return cls(
            id=strawberry.ID(to_global_id("AttributionCode", record.id)),
            code=record.code,
            kind=record.kind.value,
            name=record.name,
            landing_path=record.landing_path,
            active=record.active,
            qr_payload=payload,
            landing_url=url,
            created_at=record.created_at,
            clerk=_staff(record.staff_id, names),
            _location_id=record.location_id,
        )

    @strawberry.field(description="The store the code credits (stores' and clerks' codes).")
    async def store(self, info: Info[Context, None]) -> Location | None:
        return await _location(info, self._location_id)


@strawberry.type(description="The store and clerk a member is bound to, and why.")
class MemberBinding:
    source: str = strawberry.field(description="SIGNUP, SCAN, TILL or MANUAL.")
    bound_at: datetime
    expires_at: datetime | None
    rule: str = strawberry.field(description="Why, in words.")
    clerk: AttributedStaff | None
    _location_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, binding: Binding, *, names: dict[int, str]) -> MemberBinding:
        """A binding, its clerk named from ``names``."""
        return cls(
            source=binding.source.value,
            bound_at=binding.bound_at,
            expires_at=binding.expires_at,
            rule=binding.rule,
            clerk=_staff(binding.staff_id, names),
            _location_id=binding.location_id,
        )

    @strawberry.field
    async def store(self, info: Info[Context, None]) -> Location | None:
        return await _location(info, self._location_id)


@strawberry.type(name="BindingPolicy", description="The binding and attribution rules.")
class BindingPolicyType:
    bind_days: int = strawberry.field(description="A binding lasts this long.")
    takeover_after_days: int = strawberry.field(
        description="A clerk serving the member at the till takes the binding over after this."
    )
    last_touch_days: int = strawberry.field(
        description="A campaign or venue scan counts for orders within this window."
    )
    bind_on_scan: bool
    bind_on_signup: bool
    bind_at_till: bool

    @classmethod
    def of(cls, policy: DBindingPolicy) -> BindingPolicyType:
        """The policy as GraphQL shows it."""
        return cls(
            bind_days=policy.bind_days,
            takeover_after_days=policy.takeover_after_days,
            last_touch_days=policy.last_touch_days,
            bind_on_scan=policy.bind_on_scan,
            bind_on_signup=policy.bind_on_signup,
            bind_at_till=policy.bind_at_till,
        )


@strawberry.input
class AttributionCodeInput:
    kind: AttributionCodeKind  # type: ignore[valid-type]
    name: str | None = strawberry.field(
        default=None, description="Required for campaigns and venues; else the store's or clerk's."
    )
    location_id: strawberry.ID | None = None
    staff_id: strawberry.ID | None = strawberry.field(default=None, description="A clerk's code.")
    code: str | None = strawberry.field(
        default=None, description="3 to 40 of A-Z 0-9 -; generated when left out."
    )
    landing_path: str | None = strawberry.field(default=None, description="Default /.")


@strawberry.type
class AttributionCodePayload:
    code: AttributionCode | None = None
    user_errors: list[UserError]


@strawberry.type
class AttributionScanPayload:
    kind: str | None = None
    name: str | None = strawberry.field(default=None, description="The code's name.")
    store_name: str | None = None
    clerk_name: str | None = None
    landing_url: str | None = None
    user_errors: list[UserError]


@strawberry.input
class BindingPolicyInput:
    bind_days: int | None = None
    takeover_after_days: int | None = None
    last_touch_days: int | None = None
    bind_on_scan: bool | None = None
    bind_on_signup: bool | None = None
    bind_at_till: bool | None = None


@strawberry.type
class BindingPolicyPayload:
    policy: BindingPolicyType | None = None
    user_errors: list[UserError]


@strawberry.type
class MemberBindPayload:
    binding: MemberBinding | None = None
    user_errors: list[UserError]
