"""Resolvers of members: sign-up, verification, sessions, profile, staff look-up and points."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.cart.services import adopt_cart
from domain.loyalty import services as points_services
from domain.members import services as svc
from domain.members.model import referral_code
from resolvers.attribution import qr_signer
from resolvers.audit import grant_limits
from resolvers.context import Context
from resolvers.inputs import json_shape
from schema.members.types import (
    LogoutPayload,
    LoyaltyProgramInput,
    LoyaltyProgramPayload,
    Member,
    MemberCreateInput,
    MemberCreatePayload,
    MemberSessionPayload,
    MemberUpdateInput,
    MemberUpdatePayload,
    MemberVerifyPayload,
    PointsAdjustPayload,
)
from schema.policy import Audience, member_audience
from schema.relay import expect_id

# --- reads -----------------------------------------------------------------------------------


async def me(info: Info[Context, None]) -> Member | None:
    """The logged-in member; None for anyone else."""
    member_id = info.context.principal.member_id
    if member_id is None:
        return None
    async with info.context.services.uow() as uow:
        record = await uow.members.by_id(member_id)
    return Member.of(record, viewer=Audience.MEMBER) if record else None


async def member_lookup(
    info: Info[Context, None], code: str | None = None, phone: str | None = None
) -> Member | None:
    """Staff at the till: a member by scanned code or phone."""
    ctx = info.context
    found = await svc.lookup(ctx.services.uow, ctx.principal, code=code, phone=phone)
    if found is None:
        return None
    viewer = member_audience(ctx.principal, svc.member_view(ctx.principal, found))
    return Member.of(found, viewer=viewer) if viewer else None


def store_referral_code(location_id: strawberry.ID) -> str:
    """The code a store shows so that shoppers sign up through it."""
    return referral_code("STORE", expect_id(location_id, "Location", field="locationId"))


# --- sign-up and sessions --------------------------------------------------------------------


async def member_create(info: Info[Context, None], input: MemberCreateInput) -> MemberCreatePayload:
    """Shoppers sign up; the same answer whether or not the address was registered."""
    s = info.context.services
    await svc.register(
        s.uow,
        email=input.email,
        phone=input.phone,
        password=input.password,
        name=input.name,
        referral=input.referral_code,
        hasher=s.hasher,
        clock=s.clock,
        qr=qr_signer(info),
        visitor=input.visitor_id,
        birthday=input.birthday,
    )
    return MemberCreatePayload(accepted=True, user_errors=[])


async def member_verify(info: Info[Context, None], token: str) -> MemberVerifyPayload:
    """Confirm an email or phone; the guest orders placed with it join the member."""
    s = info.context.services
    attached = await svc.verify(s.uow, token=token, clock=s.clock)
    return MemberVerifyPayload(verified=True, orders_attached=attached, user_errors=[])


async def _session(
    info: Info[Context, None], session: svc.Session, cart_id: str | None
) -> MemberSessionPayload:
    s = info.context.services
    merged = None
    if cart_id:
        merged = await adopt_cart(s.uow, token=cart_id, member=session.member, clock=s.clock)
    return MemberSessionPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        member=Member.of(session.member, viewer=Audience.MEMBER),
        cart_id=merged,
        user_errors=[],
    )


async def member_login(
    info: Info[Context, None], identifier: str, password: str, cart_id: str | None = None
) -> MemberSessionPayload:
    """Email or phone and password: tokens, and the anonymous cart merged into the member's."""
    s = info.context.services
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
    return await _session(info, session, cart_id)


async def member_token_refresh(
    info: Info[Context, None], refresh_token: str
) -> MemberSessionPayload:
    """A new access token for a refresh token, which is rotated."""
    s = info.context.services
    session = await svc.refresh(s.uow, token=refresh_token, signer=s.signer, clock=s.clock)
    return await _session(info, session, None)


async def member_logout(
    info: Info[Context, None], refresh_token: str, everywhere: bool = False
) -> LogoutPayload:
    """End this session, or every session of the member."""
    s = info.context.services
    await svc.logout(
        s.uow,
        token=refresh_token,
        everywhere=everywhere,
        principal=info.context.principal,
        clock=s.clock,
    )
    return LogoutPayload(ok=True)


async def member_update(info: Info[Context, None], input: MemberUpdateInput) -> MemberUpdatePayload:
    """The logged-in member edits their name, addresses and consents."""
    record = await svc.update_profile(
        info.context.services.uow,
        info.context.principal,
        name=input.name,
        addresses=json_shape(input.addresses, list, field="addresses"),
        consents=json_shape(input.consents, dict, field="consents"),
        birthday=input.birthday,
        today=info.context.services.clock.now().date(),
    )
    return MemberUpdatePayload(member=Member.of(record, viewer=Audience.MEMBER), user_errors=[])


# --- points ----------------------------------------------------------------------------------


async def points_adjust(
    info: Info[Context, None], member_id: strawberry.ID, points: int, reason: str
) -> PointsAdjustPayload:
    """Staff: add or remove points with a reason; the balance after."""
    ctx = info.context
    after = await points_services.adjust(
        ctx.services.uow,
        ctx.principal,
        member_id=expect_id(member_id, "Member", field="memberId"),
        points=points,
        reason=reason,
        clock=ctx.services.clock,
        limits=grant_limits(ctx.services.settings),
    )
    return PointsAdjustPayload(points_balance=after, user_errors=[])


async def loyalty_program_update(
    info: Info[Context, None], input: LoyaltyProgramInput
) -> LoyaltyProgramPayload:
    """Owners and admins: the points rules; settings left out keep their value."""
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
    await points_services.update_program(
        ctx.services.uow,
        ctx.principal,
        earn={k: v for k, v in earn.items() if v is not None},
        redeem={k: v for k, v in redeem.items() if v is not None},
    )
    return LoyaltyProgramPayload(ok=True, user_errors=[])
