"""Members: sign-up, verification, login with refresh tokens, `me`, and staff look-ups."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from adapters.db.order_queries import OrderFilter
from domain.cart import services as cart_services
from domain.errors import DomainError
from domain.loyalty import services as points_services
from domain.members import services as svc
from domain.members.model import MemberRecord, referral_code
from resolvers.context import Context
from schema.common import Connection, UserError, connection
from schema.errors import authenticated
from schema.orders.types import Order
from schema.promotions import Voucher
from schema.relay import decode_cursor, expect_id, to_global_id

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
    _id: strawberry.Private[int]

    @classmethod
    def of(cls, record: MemberRecord) -> Member:
        return cls(
            id=strawberry.ID(to_global_id("Member", record.id)), email=record.email,
            phone=record.phone, email_verified=record.email_verified,
            phone_verified=record.phone_verified, name=record.name,
            member_code=record.member_code, qr_payload=f"o2o:member:{record.member_code}",
            tier=record.tier, tags=list(record.tags), addresses=list(record.addresses),
            created_at=record.created_at, _id=record.id,
        )  # fmt: skip

    @strawberry.field(description="Spendable points now (the ledger's live lots).")
    async def points_balance(self, info: Info[Context, None]) -> int:
        s = info.context.services
        return await points_services.member_balance(s.uow, self._id, clock=s.clock)

    @strawberry.field(description="The points ledger, newest first.")
    async def points_ledger(self, info: Info[Context, None], first: int = 50) -> list[PointsEntry]:
        if not 1 <= first <= info.context.services.settings.max_page_size:
            raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
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
        if not 1 <= first <= info.context.services.settings.max_page_size:
            raise DomainError("MAX_PAGE_SIZE_EXCEEDED", "first is out of range", field="first")
        before = decode_cursor(after, field="after")[1] if after else None
        found, more = await info.context.services.orders.page(
            OrderFilter(member_id=self._id), limit=first, before_id=before
        )
        staff = info.context.principal.role is not None
        return connection(found, wrap=lambda o: Order.of(o, staff=staff),
                          cursor_of=lambda o: ("id", o.id), has_next=more,
                          has_previous=after is not None)  # fmt: skip


@strawberry.type
class MemberCreatePayload:
    accepted: bool = strawberry.field(
        description="True once the request is taken; a verification message follows. The "
        "same answer whether or not the address was already registered."
    )
    user_errors: list[UserError]


@strawberry.type
class MemberSessionPayload:
    access_token: str | None
    refresh_token: str | None
    expires_in: int | None
    member: Member | None
    cart_id: str | None = strawberry.field(
        description="The member's cart after merging the anonymous one given at login."
    )
    user_errors: list[UserError]


@strawberry.type
class MemberVerifyPayload:
    verified: bool
    orders_attached: int
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
        default=None, description="A store's or a clerk's code, e.g. REF-S3 (scanned in store)."
    )


def _failed_session(error: DomainError) -> MemberSessionPayload:
    return MemberSessionPayload(
        access_token=None,
        refresh_token=None,
        expires_in=None,
        member=None,
        cart_id=None,
        user_errors=[UserError.of(error)],
    )


async def _session(
    info: Info[Context, None], session: svc.Session, cart_id: str | None
) -> MemberSessionPayload:
    s = info.context.services
    merged = None
    if cart_id:
        try:
            merged = await cart_services.adopt_cart(
                s.uow, token=cart_id, member=session.member, clock=s.clock
            )
        except DomainError:
            merged = None  # a stale anonymous cart must not block the login
    return MemberSessionPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        member=Member.of(session.member),
        cart_id=merged,
        user_errors=[],
    )


@strawberry.type
class MemberQuery:
    @strawberry.field(description="The logged-in member; null for anyone else.")
    async def me(self, info: Info[Context, None]) -> Member | None:
        member_id = info.context.principal.member_id
        if member_id is None:
            return None
        s = info.context.services
        async with s.uow() as uow:
            record = await uow.members.by_id(member_id)
        return Member.of(record) if record else None

    @strawberry.field(
        extensions=[authenticated()],
        description="Staff at the till: a member by scanned code or phone.",
    )
    async def member_lookup(
        self, info: Info[Context, None], code: str | None = None, phone: str | None = None
    ) -> Member | None:
        ctx = info.context
        found = await svc.lookup(ctx.services.uow, ctx.principal, code=code, phone=phone)
        return Member.of(found) if found else None

    @strawberry.field(description="The code a store shows so shoppers sign up through it.")
    def store_referral_code(self, location_id: strawberry.ID) -> str:
        from schema.relay import expect_id

        return referral_code("STORE", expect_id(location_id, "Location", field="locationId"))


@strawberry.type
class PointsAdjustPayload:
    points_balance: int | None
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
    ok: bool
    user_errors: list[UserError]


@strawberry.input
class MemberUpdateInput:
    name: str | None = None
    addresses: JSON | None = strawberry.field(
        default=None, description='Replaces them: [{"line1", "city", "postalCode", ...}]'
    )
    consents: JSON | None = strawberry.field(default=None, description='{"marketingEmail": true}')


@strawberry.type
class MemberUpdatePayload:
    member: Member | None
    user_errors: list[UserError]


@strawberry.type
class MemberMutation:
    @strawberry.mutation(description="The logged-in member edits their profile.")
    async def member_update(
        self, info: Info[Context, None], input: MemberUpdateInput
    ) -> MemberUpdatePayload:
        s = info.context.services
        try:
            if input.addresses is not None and not isinstance(input.addresses, list):
                raise DomainError("INVALID", "addresses is a list", field="addresses")
            if input.consents is not None and not isinstance(input.consents, dict):
                raise DomainError("INVALID", "consents is an object", field="consents")
            record = await svc.update_profile(
                s.uow,
                info.context.principal,
                name=input.name,
                addresses=input.addresses,
                consents=input.consents,
            )
        except DomainError as error:
            return MemberUpdatePayload(member=None, user_errors=[UserError.of(error)])
        return MemberUpdatePayload(member=Member.of(record), user_errors=[])

    @strawberry.mutation(extensions=[authenticated()], description="Staff: add or remove points.")
    async def points_adjust(
        self, info: Info[Context, None], member_id: strawberry.ID, points: int, reason: str
    ) -> PointsAdjustPayload:
        ctx = info.context
        try:
            after = await points_services.adjust(
                ctx.services.uow,
                ctx.principal,
                member_id=expect_id(member_id, "Member", field="memberId"),
                points=points,
                reason=reason,
                clock=ctx.services.clock,
            )
        except DomainError as error:
            return PointsAdjustPayload(points_balance=None, user_errors=[UserError.of(error)])
        return PointsAdjustPayload(points_balance=after, user_errors=[])

    @strawberry.mutation(extensions=[authenticated()], description="Owner/admin: points rules.")
    async def loyalty_program_update(
        self, info: Info[Context, None], input: LoyaltyProgramInput
    ) -> LoyaltyProgramPayload:
        ctx = info.context
        earn = {
            "pointsPerUnit": input.points_per_unit,
            "channelMultipliers": input.channel_multipliers,
            "tierMultipliers": input.tier_multipliers,
            "categoryBonus": input.category_bonus,
            "campaignBonusPercent": input.campaign_bonus_percent,
            "lotLifetimeDays": input.lot_lifetime_days,
        }
        redeem = {
            "pointsPerCurrencyUnit": input.points_per_currency_unit,
            "maxSharePercent": input.max_share_percent,
        }
        try:
            await points_services.update_program(
                ctx.services.uow,
                ctx.principal,
                earn={k: v for k, v in earn.items() if v is not None},
                redeem={k: v for k, v in redeem.items() if v is not None},
            )
        except DomainError as error:
            return LoyaltyProgramPayload(ok=False, user_errors=[UserError.of(error)])
        return LoyaltyProgramPayload(ok=True, user_errors=[])

    @strawberry.mutation(description="Sign up (shoppers); then verify with the token sent.")
    async def member_create(
        self, info: Info[Context, None], input: MemberCreateInput
    ) -> MemberCreatePayload:
        s = info.context.services
        try:
            await svc.register(
                s.uow,
                email=input.email,
                phone=input.phone,
                password=input.password,
                name=input.name,
                referral=input.referral_code,
                hasher=s.hasher,
                clock=s.clock,
            )
        except DomainError as error:
            return MemberCreatePayload(accepted=False, user_errors=[UserError.of(error)])
        return MemberCreatePayload(accepted=True, user_errors=[])

    @strawberry.mutation(description="Confirm an email or phone with the token sent to it.")
    async def member_verify(self, info: Info[Context, None], token: str) -> MemberVerifyPayload:
        s = info.context.services
        try:
            attached = await svc.verify(s.uow, token=token, clock=s.clock)
        except DomainError as error:
            return MemberVerifyPayload(verified=False, orders_attached=0,
                                       user_errors=[UserError.of(error)])  # fmt: skip
        return MemberVerifyPayload(verified=True, orders_attached=attached, user_errors=[])

    @strawberry.mutation(description="Email or phone + password; merges an anonymous cart.")
    async def member_login(
        self,
        info: Info[Context, None],
        identifier: str,
        password: str,
        cart_id: str | None = None,
    ) -> MemberSessionPayload:
        s = info.context.services
        try:
            session = await svc.login(
                s.uow,
                identifier=identifier,
                password=password,
                client=info.context.client,
                hasher=s.hasher,
                signer=s.signer,
                limiter=s.kv,
                clock=s.clock,
            )
        except DomainError as error:
            return _failed_session(error)
        return await _session(info, session, cart_id)

    @strawberry.mutation(description="A new access token for a refresh token (rotated).")
    async def member_token_refresh(
        self, info: Info[Context, None], refresh_token: str
    ) -> MemberSessionPayload:
        s = info.context.services
        try:
            session = await svc.refresh(s.uow, token=refresh_token, signer=s.signer, clock=s.clock)
        except DomainError as error:
            return _failed_session(error)
        return await _session(info, session, None)

    @strawberry.mutation(description="End this session, or every session with everywhere.")
    async def member_logout(
        self, info: Info[Context, None], refresh_token: str, everywhere: bool = False
    ) -> LogoutPayload:
        s = info.context.services
        await svc.logout(s.uow, token=refresh_token, everywhere=everywhere,
                         principal=info.context.principal, clock=s.clock)  # fmt: skip
        return LogoutPayload(ok=True)
