"""Canonical contact identifiers: one spelling per email address and per phone number.

Every look-up, throttle counter and per-buyer limit keys on these, so ``06 12 34 56 78``,
``+33 6 12 34 56 78`` and ``0033612345678`` are one number, and ``Ada@Example.COM `` one address.
Pure functions; phone numbers are read by ``phonenumbers`` (Google's libphonenumber metadata),
national numbers in the default region (``PHONE_DEFAULT_REGION``, FR unless configured).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

import phonenumbers

DEFAULT_REGION = "FR"
_region = DEFAULT_REGION


def set_default_region(region: str) -> None:
    """The region national numbers are read in (an ISO 3166 code), set once at start."""
    global _region
    region = region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown phone region {region!r}")
    _region = region


def default_region() -> str:
    """The region national numbers are read in."""
    return _region


def canonical_email(value: str | None) -> str | None:
    """Trimmed, NFKC-normalised and case-folded; None when empty (no validity check)."""
    if value is None:
        return None
    clean = unicodedata.normalize("NFKC", value).strip().casefold()
    return clean or None


def canonical_phone(value: str | None, *, region: str | None = None) -> str | None:
    """E.164 (``+33612345678``), or None when ``value`` is not a possible phone number.

    A leading ``00`` is the international prefix; a national number is read in ``region``.
    """
    if value is None or not value.strip() or len(value) > 40:
        return None
    text = value.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or _region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def canonical_identifier(value: str, *, region: str | None = None) -> str:
    """One key per person for throttling and look-ups: an email address case-folded, a phone
    number in E.164, anything else trimmed and case-folded."""
    if "@" in value:
        return canonical_email(value) or ""
    return canonical_phone(value, region=region) or (canonical_email(value) or "")


def same_buyer(buyer: Mapping[str, object], *, email: str | None, phone: str | None) -> bool:
    """Whether a stored buyer (its JSON) is the one with this canonical email or phone."""
    theirs_email = buyer.get("email")
    theirs_phone = buyer.get("phone")
    if email and isinstance(theirs_email, str) and canonical_email(theirs_email) == email:
        return True
    return bool(phone and isinstance(theirs_phone, str) and canonical_phone(theirs_phone) == phone)
