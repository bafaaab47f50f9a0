"""Members: one identity across channels, found by normalised email or phone, and by the member
code a clerk scans at the till; referral codes tag a member with a store or a clerk."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.errors import CommonErrorCode, DomainError


class MemberErrorCode(StrEnum):
    """Stable codes of member userErrors."""

    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    IDENTIFIER_REQUIRED = "IDENTIFIER_REQUIRED"
    ALREADY_REGISTERED = "ALREADY_REGISTERED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_CODE = "INVALID_CODE"
    INVALID_TOKEN = "INVALID_TOKEN"
    THROTTLED = "THROTTLED"
    NOT_FOUND = "NOT_FOUND"
    MEMBER_PRESENCE_REQUIRED = "MEMBER_PRESENCE_REQUIRED"


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REFERRAL = re.compile(r"^REF-([SC])(\d{1,9})$")
_STORE_TAG = re.compile(r"^store:(\d{1,9})$")
PRESENCE_LIFETIME = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """A member as stored (with the password hash, for login only)."""

    id: int
    email: str | None
    phone: str | None
    email_verified: bool
    phone_verified: bool
    name: str
    password_hash: str
    member_code: str
    tier: str
    referral_location_id: int | None
    referral_staff_id: int | None
    tags: tuple[str, ...]
    addresses: tuple[dict[str, object], ...]
    created_at: datetime
    active: bool = True
    consents: dict[str, bool] = field(default_factory=dict)
    birthday: date | None = None


@dataclass(frozen=True, slots=True)
class MemberDraft:
    """A new member, checked and normalised, before it is stored."""

    email: str | None
    phone: str | None
    name: str
    password_hash: str
    member_code: str
    referral_location_id: int | None
    referral_staff_id: int | None
    tags: tuple[str, ...]
    birthday: date | None = None


@dataclass(frozen=True, slots=True)
class MemberChanges:
    """What changes on a stored member; ``None`` keeps what is stored."""

    name: str | None = None
    addresses: tuple[dict[str, object], ...] | None = None
    consents: dict[str, bool] | None = None
    email_verified: bool | None = None
    phone_verified: bool | None = None
    tier: str | None = None
    birthday: date | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A member's refresh token as stored (only its hash is kept)."""

    member_id: int
    token_hash: str
    expires_at: datetime
    revoked_at: datetime | None


def check_birthday(birthday: date | None, *, today: date) -> date | None:
    """A birthday on or after 1 January 1900 and not after today, or None."""
    if birthday is not None and not date(1900, 1, 1) <= birthday <= today:
        raise DomainError(
            CommonErrorCode.INVALID, "a birthday between 1900 and today", field="birthday"
        )
    return birthday


def normalize_email(email: str | None) -> str | None:
    """Trimmed and lower-cased, or None; refuses what is not an address."""
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise DomainError(MemberErrorCode.INVALID_EMAIL, "not an email address", field="email")
    return email


def normalize_phone(phone: str | None, *, default_country: str = "33") -> str | None:
    """E.164 digits with a leading +; a national number (leading 0) gets the default country."""
    if phone is None or not phone.strip():
        return None
    digits = re.sub(r"[\s().-]", "", phone.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = f"+{default_country}{digits[1:]}"
    elif not digits.startswith("+"):
        digits = "+" + digits
    if not re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        raise DomainError(MemberErrorCode.INVALID_PHONE, "not a phone number", field="phone")
    return digits


def luhn_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (catches one mistyped digit at the till)."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_member_code() -> str:
    """A 12-digit member code with a Luhn check digit, printed as a QR code or typed."""
    body = f"{secrets.randbelow(10**11):011d}"
    return body + luhn_digit(body)


def check_member_code(code: str) -> str:
    """Normalise a typed or scanned member code; INVALID_CODE when its check digit is wrong."""
    code = re.sub(r"\D", "", code)
    if len(code) != 12 or luhn_digit(code[:11]) != code[11]:
        raise DomainError(MemberErrorCode.INVALID_CODE, "not a member code", field="memberCode")
    return code


def parse_referral(code: str | None) -> tuple[str, int] | None:
    """A store's or a clerk's referral code (REF-S<location id> / REF-C<staff id>)."""
    if not code:
        return None
    match = _REFERRAL.match(code.strip().upper())
    if match is None:
        raise DomainError(
            MemberErrorCode.INVALID_CODE, "unknown referral code", field="referralCode"
        )
    return ("STORE" if match.group(1) == "S" else "CLERK", int(match.group(2)))


def referral_code(kind: str, ident: int) -> str:
    """The code a store or a clerk shows to sign members up."""
    return f"REF-{'S' if kind == 'STORE' else 'C'}{ident}"


def member_stores(member: MemberRecord) -> frozenset[int]:
    """The stores a member belongs to: their referral store and every ``store:<id>`` tag."""
    stores = {int(m.group(1)) for t in member.tags if (m := _STORE_TAG.match(t))}
    if member.referral_location_id is not None:
        stores.add(member.referral_location_id)
    return frozenset(stores)


def new_presence_code() -> str:
    """A one-time code the member's app shows (as a QR code) to prove the member is at the till."""
    return "P" + secrets.token_urlsafe(12)


def presence_hash(code: str) -> str:
    """What is stored of a presence code (it is a secret while it lives)."""
    return hashlib.sha256(code.strip().encode()).hexdigest()
