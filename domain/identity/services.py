"""Identity use cases: staff login, staff accounts, partner API keys, and who a request is."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from domain.contact import canonical_email
from domain.errors import DomainError, NotFound
from domain.identity.model import (
    ANONYMOUS,
    IdentityErrorCode,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    check_password_strength,
    normalize_email,
    parse_role,
    parse_scopes,
)
from domain.identity.ports import ApiKeyDraft, ApiKeyRecord, StaffDraft, StaffRecord
from domain.identity.throttle import login_guard
from domain.ports import Clock, PasswordHasher, RateLimiter, TokenSigner, UnitOfWorkFactory

API_KEY_PREFIX = "o2o_"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A signed access token and who it is for."""

    token: str
    expires_in: int
    staff: StaffRecord


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key: ``secret`` is shown once and never stored."""

    secret: str
    record: ApiKeyRecord


async def staff_login(
    uow_factory: UnitOfWorkFactory,
    *,
    email: str,
    password: str,
    client: str,
    hasher: PasswordHasher,
    signer: TokenSigner,
    limiter: RateLimiter,
    ttl_seconds: int,
) -> LoginResult:
    """Check a staff password; one message and similar timing for every failure."""
    invalid = DomainError(
        IdentityErrorCode.INVALID_CREDENTIALS, "email or password is wrong", field="password"
    )
    normalized = canonical_email(email) or ""
    # per address, per (account, address), and a growing delay per account: domain/identity/throttle
    await login_guard(
        limiter, account=f"staff:{normalized}", client=client, code=IdentityErrorCode.THROTTLED
    )
    async with uow_factory() as uow:
        staff = await uow.identity.staff_by_email(normalized)
    if staff is None or not staff.active:
        await asyncio.to_thread(hasher.dummy_verify)  # argon2 off the event loop
        raise invalid
    if not await asyncio.to_thread(hasher.verify, staff.password_hash, password):
        raise invalid
    claims = {"kind": "staff", "role": staff.role, "loc": list(staff.location_ids)}
    token = signer.issue(subject=f"staff:{staff.id}", claims=claims, ttl_seconds=ttl_seconds)
    return LoginResult(token=token, expires_in=ttl_seconds, staff=staff)


async def create_staff(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    location_ids: list[int],
    hasher: PasswordHasher,
) -> StaffRecord:
    """Create a staff account; store roles need the stores they work at."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    email = normalize_email(email)
    check_password_strength(password)
    parsed = parse_role(role)
    if parsed is Role.OWNER and principal.role is not Role.OWNER:
        raise DomainError("PERMISSION_DENIED", "only an owner creates owners", field="role")
    if parsed in (Role.STORE_MANAGER, Role.CLERK) and not location_ids:
        raise DomainError(
            IdentityErrorCode.LOCATION_REQUIRED, "store staff need stores", field="locationIds"
        )
    async with uow_factory() as uow:
        for location_id in location_ids:
            if await uow.locations.location(location_id) is None:
                raise NotFound(f"location {location_id}", field="locationIds")
        if await uow.identity.staff_by_email(email) is not None:
            raise DomainError(IdentityErrorCode.DUPLICATE_EMAIL, "email is taken", field="email")
        draft = StaffDraft(
            email=email,
            name=name.strip(),
            password_hash=await asyncio.to_thread(hasher.hash, password),
            role=parsed.value,
            location_ids=tuple(sorted(set(location_ids))),
        )
        return await uow.identity.add_staff(draft)


def hash_api_key(secret: str) -> str:
    """API keys carry 256 bits of entropy, so one SHA-256 is enough (no stretching needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def create_api_key(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    partner: str,
    name: str,
    scopes: list[str],
    rate_limit_per_minute: int = 600,
) -> IssuedKey:
    """Issue a scoped key for a partner (created on first use); the secret is shown once."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    parsed = parse_scopes(scopes)
    if not parsed:
        raise DomainError(
            IdentityErrorCode.INVALID_SCOPE, "name at least one scope", field="scopes"
        )
    if not partner.strip():
        raise DomainError("REQUIRED", "a partner name is required", field="partner")
    if not 1 <= rate_limit_per_minute <= 100_000:
        raise DomainError("INVALID", "1 to 100000 per minute", field="rateLimitPerMinute")
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    async with uow_factory() as uow:
        partner_id = await uow.identity.partner_id(partner.strip(), create=True)
        assert partner_id is not None
        draft = ApiKeyDraft(
            partner_id=partner_id,
            name=name.strip(),
            prefix=prefix,
            secret_hash=hash_api_key(secret),
            scopes=tuple(sorted(s.value for s in parsed)),
            rate_limit_per_minute=rate_limit_per_minute,
        )
        record = await uow.identity.add_api_key(draft)
    return IssuedKey(secret=secret, record=record)


async def revoke_api_key(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, key_id: int, clock: Clock
) -> ApiKeyRecord:
    """Revoke a key at once; requests with it are refused from now on."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        record = await uow.identity.revoke_api_key(key_id, at=clock.now())
    if record is None:
        raise NotFound("API key", field="id")
    return record


def principal_from_claims(claims: dict[str, object]) -> Principal:
    """The caller that a verified access token names."""
    if claims.get("kind") == "member" and str(claims.get("sub", "")).startswith("member:"):
        tier = claims.get("tier")
        return Principal(
            kind=PrincipalKind.MEMBER,
            subject=str(claims["sub"]),
            tier=str(tier) if tier else None,
        )
    if claims.get("kind") != "staff":
        return ANONYMOUS
    locations = claims.get("loc")
    return Principal(
        kind=PrincipalKind.STAFF,
        subject=str(claims.get("sub")),
        role=Role(str(claims.get("role"))),
        location_ids=frozenset(int(x) for x in locations if isinstance(x, int))
        if isinstance(locations, list)
        else frozenset(),
    )


async def principal_from_api_key(
    uow_factory: UnitOfWorkFactory, secret: str, *, now: datetime
) -> Principal | None:
    """The partner behind a presented key, or None when it is unknown, wrong or revoked."""
    parts = secret.removeprefix(API_KEY_PREFIX).split("_", 1)
    if not secret.startswith(API_KEY_PREFIX) or len(parts) != 2:
        return None
    async with uow_factory() as uow:
        record = await uow.identity.api_key_by_prefix(parts[0])
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.secret_hash, hash_api_key(secret)):
        return None
    return Principal(
        kind=PrincipalKind.PARTNER,
        subject=f"partner:{record.partner_id}:key:{record.prefix}",
        scopes=frozenset(Scope(s) for s in record.scopes if s in Scope._value2member_map_),
        rate_limit_per_minute=record.rate_limit_per_minute,
    )
