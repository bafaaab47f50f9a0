"""Member use cases: sign up (through a store's or clerk's code), verify, log in with short-lived
access tokens and rotated refresh tokens, log out, and staff look-ups at the till.

Sign-up answers the same whether or not the email or phone is already registered, and login
answers the same (in message and in time) for an unknown account and a wrong password, so
neither reveals who is a member."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from domain.attribution.codes import QrSigner, looks_signed
from domain.attribution.model import CodeKind
from domain.attribution.services import after_signup, check_visitor, signup_code
from domain.contact import canonical_email, canonical_identifier, canonical_phone
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, PrincipalKind, Role, check_password_strength
from domain.identity.throttle import login_guard
from domain.members.events import (
    DuplicateSignup,
    MemberRegistered,
    RefreshTokenReused,
    VerificationRequested,
)
from domain.members.model import (
    MemberChanges,
    MemberDraft,
    MemberErrorCode,
    MemberRecord,
    check_birthday,
    check_member_code,
    member_stores,
    new_member_code,
    normalize_email,
    normalize_phone,
    parse_referral,
)
from domain.ports import (
    Clock,
    PasswordHasher,
    RateLimiter,
    TokenSigner,
    UnitOfWork,
    UnitOfWorkFactory,
)

REFRESH_LIFETIME = timedelta(days=30)
VERIFICATION_LIFETIME = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Session:
    """What a successful login or refresh hands the member's app."""

    access_token: str
    refresh_token: str
    expires_in: int
    member: MemberRecord
    cart_token: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _new_verification(uow: UnitOfWork, member: MemberRecord, clock: Clock) -> None:
    for channel, address in (("EMAIL", member.email), ("PHONE", member.phone)):
        if address is None:
            continue
        token = secrets.token_urlsafe(24)
        await uow.members.add_verification(
            member.id,
            channel=channel,
            token_hash=_hash(token),
            expires_at=clock.now() + VERIFICATION_LIFETIME,
        )
        # the token goes to the notifier's private queue; the event (read by partners) has none
        body = f"your verification token is {token}"
        await uow.members.add_message(member.id, channel=channel, to=address, body=body)
        await uow.outbox.add(VerificationRequested(member_id=member.id, channel=channel))


async def register(
    uow_factory: UnitOfWorkFactory,
    *,
    email: str | None,
    phone: str | None,
    password: str,
    name: str,
    referral: str | None,
    hasher: PasswordHasher,
    clock: Clock,
    qr: QrSigner | None = None,
    visitor: str | None = None,
    birthday: date | None = None,
) -> None:
    """Create a member (or, when the email/phone is taken, quietly notify its owner).

    ``referral`` is a store's or a clerk's legacy code (REF-S2, REF-C4) or any code's signed
    QR payload (``qr`` checks it); the member is bound by it, and the anonymous scans made
    under ``visitor`` (the id the frontend keeps) become theirs."""
    clean_email, clean_phone = _canonical(email, phone)
    if clean_email is None and clean_phone is None:
        raise DomainError(
            MemberErrorCode.IDENTIFIER_REQUIRED,
            "an email or a phone number is needed",
            field="email",
        )
    check_password_strength(password)
    visitor = check_visitor(visitor)
    birthday = check_birthday(birthday, today=clock.now().date())
    if referral and not looks_signed(referral):
        parse_referral(referral)  # a malformed code is refused before any work
    # hashed on every path (same time either way), off the event loop
    password_hash = await asyncio.to_thread(hasher.hash, password)
    async with uow_factory() as uow:
        code = await signup_code(uow, referral, signer=qr)
        taken = (clean_email and await uow.members.by_email(clean_email)) or (
            clean_phone and await uow.members.by_phone(clean_phone)
        )
        if taken:
            await uow.outbox.add(DuplicateSignup(member_id=taken.id))
            return
        store = code.location_id if code and code.kind is CodeKind.STORE else None
        clerk = code.staff_id if code and code.kind is CodeKind.CLERK else None
        member = await uow.members.add(
            MemberDraft(
                email=clean_email,
                phone=clean_phone,
                name=name.strip()[:200],
                password_hash=password_hash,
                member_code=new_member_code(),
                referral_location_id=store,
                referral_staff_id=clerk,
                tags=(
                    *([f"store:{store}"] if store is not None else []),
                    *([f"clerk:{clerk}"] if clerk is not None else []),
                ),
                birthday=birthday,
            )
        )
        await _new_verification(uow, member, clock)
        await after_signup(uow, member.id, code=code, visitor=visitor, at=clock.now())
        await uow.outbox.add(MemberRegistered(member_id=member.id, referral=referral))


def _canonical(email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    """Checked email and phone in their one canonical spelling (domain/contact.py)."""
    return normalize_email(canonical_email(email)), normalize_phone(canonical_phone(phone) or phone)


async def verify(uow_factory: UnitOfWorkFactory, *, token: str, clock: Clock) -> int:
    """Mark an email or phone verified; guest orders placed with it join the member."""
    async with uow_factory() as uow:
        used = await uow.members.use_verification(_hash(token.strip()), at=clock.now())
        if used is None:
            raise DomainError(
                MemberErrorCode.INVALID_TOKEN, "invalid or expired token", field="token"
            )
        member_id, channel = used
        member = await _member(uow, member_id)
        if channel == "EMAIL":
            await uow.members.update(member_id, MemberChanges(email_verified=True))
            return await uow.members.attach_guest_orders(member_id, email=member.email, phone=None)
        await uow.members.update(member_id, MemberChanges(phone_verified=True))
        return await uow.members.attach_guest_orders(member_id, email=None, phone=member.phone)


async def _member(uow: UnitOfWork, member_id: int) -> MemberRecord:
    member = await uow.members.by_id(member_id)
    if member is None:
        raise NotFound("member", field="memberId")
    return member


async def _issue(
    uow: UnitOfWork, member: MemberRecord, *, signer: TokenSigner, ttl: int, clock: Clock
) -> Session:
    refresh = secrets.token_urlsafe(32)
    await uow.members.add_session(
        member.id, token_hash=_hash(refresh), expires_at=clock.now() + REFRESH_LIFETIME
    )
    access = signer.issue(
        subject=f"member:{member.id}",
        claims={"kind": "member", "tier": member.tier},
        ttl_seconds=ttl,
    )
    return Session(access, refresh, ttl, member)


async def login(
    uow_factory: UnitOfWorkFactory,
    *,
    identifier: str,
    password: str,
    client: str,
    hasher: PasswordHasher,
    signer: TokenSigner,
    limiter: RateLimiter,
    clock: Clock,
    ttl_seconds: int = 900,
) -> Session:
    """Email or phone and password → a 15-minute access token and a refresh token."""
    invalid = DomainError(
        MemberErrorCode.INVALID_CREDENTIALS,
        "the identifier or the password is wrong",
        field="password",
    )
    key = canonical_identifier(identifier)  # one counter whatever the spelling
    await login_guard(
        limiter, account=f"member:{key}", client=client, code=MemberErrorCode.THROTTLED
    )
    async with uow_factory() as uow:
        member = await _find(uow, identifier)
        if member is None or not member.active:
            await asyncio.to_thread(hasher.dummy_verify)
            raise invalid
        if not await asyncio.to_thread(hasher.verify, member.password_hash, password):
            raise invalid
        return await _issue(uow, member, signer=signer, ttl=ttl_seconds, clock=clock)


async def _find(uow: UnitOfWork, identifier: str) -> MemberRecord | None:
    try:
        if "@" in identifier:
            email, _ = _canonical(identifier, None)
            return await uow.members.by_email(email) if email else None
        _, phone = _canonical(None, identifier)
        return await uow.members.by_phone(phone) if phone else None
    except DomainError:
        return None


async def refresh(
    uow_factory: UnitOfWorkFactory,
    *,
    token: str,
    signer: TokenSigner,
    clock: Clock,
    ttl_seconds: int = 900,
) -> Session:
    """Rotate a refresh token; a token used twice revokes every session (it was stolen)."""
    log_in_again = DomainError(MemberErrorCode.INVALID_TOKEN, "log in again", field="refreshToken")
    stolen = False
    async with uow_factory() as uow:
        session = await uow.members.session(_hash(token), for_update=True)
        if session is None or session.expires_at <= clock.now():
            raise log_in_again
        if session.revoked_at is not None:
            # committed before refusing: the revocation must survive the refusal
            await uow.members.revoke_sessions(session.member_id, at=clock.now())
            await uow.outbox.add(RefreshTokenReused(member_id=session.member_id))
            stolen = True
        else:
            await uow.members.revoke_session(_hash(token), at=clock.now())
            member = await _member(uow, session.member_id)
            return await _issue(uow, member, signer=signer, ttl=ttl_seconds, clock=clock)
    assert stolen
    raise log_in_again


async def logout(
    uow_factory: UnitOfWorkFactory,
    *,
    token: str,
    everywhere: bool,
    principal: Principal,
    clock: Clock,
) -> None:
    """End this session (or, with ``everywhere``, every session of the member)."""
    async with uow_factory() as uow:
        session = await uow.members.session(_hash(token))
        if session is None:
            return  # logging out twice is fine
        if everywhere:
            await uow.members.revoke_sessions(session.member_id, at=clock.now())
        else:
            await uow.members.revoke_session(_hash(token), at=clock.now())


async def lookup(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, code: str | None, phone: str | None
) -> MemberRecord | None:
    """Staff at the till: the member behind a scanned code or a phone number."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)
    async with uow_factory() as uow:
        if code:
            return await uow.members.by_code(check_member_code(code))
        if phone:
            _, clean = _canonical(None, phone)
            return await uow.members.by_phone(clean) if clean else None
    raise DomainError(MemberErrorCode.IDENTIFIER_REQUIRED, "give a code or a phone", field="code")


class MemberView(StrEnum):
    """How much of a member one caller may see (the policy maps it to an audience)."""

    SELF = "SELF"  # the member themselves
    BRAND = "BRAND"  # owners and admins: everything
    STORE = "STORE"  # managers and clerks of a store the member belongs to: everything
    COUNTER = "COUNTER"  # other store staff at the till: name, tier, balance and id only
    NONE = "NONE"  # anyone else: nothing


def member_view(principal: Principal, member: MemberRecord) -> MemberView:
    """What ``principal`` may see of ``member``: the data-dependent half of the policy."""
    if principal.member_id is not None:
        return MemberView.SELF if principal.member_id == member.id else MemberView.NONE
    if principal.kind is not PrincipalKind.STAFF or principal.role is None:
        return MemberView.NONE
    if principal.brand_wide:
        return MemberView.BRAND
    if principal.location_ids & member_stores(member):
        return MemberView.STORE
    return MemberView.COUNTER


async def update_profile(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    name: str | None,
    addresses: Sequence[dict[str, object]] | None,
    consents: dict[str, bool] | None,
    birthday: date | None = None,
    today: date | None = None,
) -> MemberRecord:
    """A member changes their name, addresses (at most 10), consents (marketing, ...) or
    birthday (from 1900 to ``today``)."""
    member_id = principal.member_id
    if member_id is None:
        raise DomainError(MemberErrorCode.NOT_FOUND, "log in as a member", field="input")
    if addresses is not None:
        if len(addresses) > 10 or not all(isinstance(a, dict) for a in addresses):
            raise DomainError("INVALID", "at most 10 address objects", field="addresses")
    if consents is not None:
        if not all(isinstance(v, bool) for v in consents.values()):
            raise DomainError("INVALID", "consents are true or false", field="consents")
    changes = MemberChanges(
        name=name.strip()[:200] if name is not None else None,
        addresses=tuple(addresses) if addresses is not None else None,
        consents=consents,
        birthday=check_birthday(birthday, today=today or datetime.now(UTC).date()),
    )
    async with uow_factory() as uow:
        if changes != MemberChanges():
            await uow.members.update(member_id, changes)
        return await _member(uow, member_id)
