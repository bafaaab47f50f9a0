"""Member types: Member with its points, vouchers and orders; the member inputs and payloads."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from domain.loyalty import services as points_services
from domain.members.model import MemberRecord
from domain.orders.ports import OrderFilter
from resolvers.attribution import member_binding
from resolvers.context import Context
from schema.attribution.types import MemberBinding
from schema.common import Connection, UserError, connection
from schema.orders.types import Order
from schema.promotions.types import Voucher
from schema.relay import decode_cursor, to_global_id

JSON = strawberry.scalars.JSON


@strawberry.type(description="One line of the points ledger.")
class PointsEntry:
    kind: str
    points: int
    balance_after: int
    reason: str
    order_id: strawberry.ID | None
    created_at: datetime


@strawberry.type(description="A member as they see themselves, and as staff see them.")
class Member:
    id: strawberry.ID
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    name: str
    member_code: str = strawberry.field(description="Scanned at the till.")
    qr_payload: str
    tier: str
    tags: list[str]
    addresses: JSON
    created_at: datetime
    birthday: date | None = strawberry.field(
        default=None, description="The member and staff of their stores: clerks' birthday tasks."
    )
    _id: strawberry.Private[int]
    _viewer: strawberry.Private[str]  # the policy's audience for this member (schema/policy.py)
    _record: strawberry.Private[MemberRecord | None] = None

    @classmethod
    def of(cls, record: MemberRecord, *, viewer: str) -> Member:
        """The member as ``viewer`` (a ``schema.policy.Audience``) reads them."""
        return cls(
            id=strawberry.ID(to_global_id("Member", record.id)),
            email=record.email,
            phone=record.phone,
            email_verified=record.email_verified,
            phone_verified=record.phone_verified,
            name=record.name,
            member_code=record.member_code,
            qr_payload=f"o2o:member:{record.member_code}",
            tier=record.tier,
            tags=list(record.tags),
            addresses=list(record.addresses),
            created_at=record.created_at,
            birthday=record.birthday,
            _id=record.id,
            _viewer=viewer,
            _record=record,
        )

    @strawberry.field(
        description="Staff: the store and clerk the member is bound to, and the rule why."
    )
    async def binding(self, info: Info[Context, None]) -> MemberBinding | None:
        if self._record is None:
            return None
        return await member_binding(info, self._record)

    @strawberry.field(description="Spendable points now (the ledger's live lots).")
    async def points_balance(self, info: Info[Context, None]) -> int:
        s = info.context.services
        return await points_services.member_balance(s.uow, self._id, clock=s.clock)

    @strawberry.field(description="The points ledger, newest first.")
    async def points_ledger(self, info: Info[Context, None], first: int = 50) -> list[PointsEntry]:
        info.context.check_first(first)
        rows = await info.context.services.orders.points_entries(self._id, limit=first)
        return [
            PointsEntry(
                kind=r.kind,
                points=r.points,
                balance_after=r.balance_after,
                reason=r.reason,
                order_id=strawberry.ID(to_global_id("Order", r.order_id)) if r.order_id else None,
                created_at=r.created_at,
            )
            for r in rows
        ]

    @strawberry.field(description="Vouchers owned by the member (usable online or at the till).")
    async def vouchers(self, info: Info[Context, None]) -> list[Voucher]:
        async with info.context.services.uow() as uow:
            return [Voucher.of(v) for v in await uow.promotions.vouchers_of(self._id)]

    @strawberry.field(description="Orders of every channel: web, app, stores' tills.")
    async def orders(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[Order]:
        info.context.check_first(first)
        before = decode_cursor(after, field="after")[1] if after else None
        found, more = await info.context.services.orders.page(
            OrderFilter(member_id=self._id), limit=first, before_id=before
        )
        staff = info.context.principal.role is not None
        return connection(
            found,
            wrap=lambda o: Order.of(o, staff=staff),
            cursor_of=lambda o: ("id", o.id),
            has_next=more,
            has_previous=after is not None,
        )


@strawberry.type
class MemberCreatePayload:
    accepted: bool = strawberry.field(
        default=False,
        description="True once the request is taken; a verification message follows. The "
        "same answer whether or not the address was already registered.",
    )
    user_errors: list[UserError]


@strawberry.type
class MemberSessionPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = None
    member: Member | None = None
    cart_id: str | None = strawberry.field(
        default=None,
        description="The member's cart after merging the anonymous one given at login.",
    )
    user_errors: list[UserError]


@strawberry.type
class MemberVerifyPayload:
    verified: bool = False
    orders_attached: int = 0
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool


@strawberry.input
class MemberCreateInput:
    email: str | None = None
    phone: str | None = None
    password: str
    name: str = ""
    referral_code: str | None = strawberry.field(
        default=None,
        description="A store's or a clerk's code, e.g. REF-S3, or any code's signed QR payload.",
    )
    visitor_id: str | None = strawberry.field(
        default=None,
        description="The anonymous visitor id the frontend kept: earlier scans become theirs.",
    )
    birthday: date | None = strawberry.field(
        default=None, description="From 1900 to today; clerks reach members near it."
    )


@strawberry.type
class PointsAdjustPayload:
    points_balance: int | None = None
    user_errors: list[UserError]


@strawberry.input
class LoyaltyProgramInput:
    points_per_unit: int | None = strawberry.field(
        default=None, description="Points per whole currency unit spent."
    )
    channel_multipliers: JSON | None = strawberry.field(
        default=None, description='Percent per channel handle, e.g. {"app": 200}'
    )
    tier_multipliers: JSON | None = strawberry.field(
        default=None, description='Percent per tier, e.g. {"GOLD": 150}'
    )
    category_bonus: JSON | None = strawberry.field(
        default=None, description="Extra percent per category id."
    )
    campaign_bonus_percent: int | None = None
    lot_lifetime_days: int | None = None
    points_per_currency_unit: int | None = strawberry.field(
        default=None, description="Redemption: points worth one currency unit (100)."
    )
    max_share_percent: int | None = strawberry.field(
        default=None, description="Redemption cap: at most this share of an order (50)."
    )


@strawberry.type
class LoyaltyProgramPayload:
    ok: bool = False
    user_errors: list[UserError]


@strawberry.input
class MemberUpdateInput:
    name: str | None = None
    addresses: JSON | None = strawberry.field(
        default=None, description='Replaces them: [{"line1", "city", "postalCode", ...}]'
    )
    consents: JSON | None = strawberry.field(default=None, description='{"marketingEmail": true}')
    birthday: date | None = strawberry.field(default=None, description="From 1900 to today.")


@strawberry.type
class MemberUpdatePayload:
    member: Member | None = None
    user_errors: list[UserError]
