"""The text of attribution codes and their signed QR payloads.

A QR carries ``<code>.<signature>``: the code and the first 16 base32 characters (80 bits) of
HMAC-SHA256 over it, keyed from the brand's secret. Anyone can read the code; nobody without
the secret can make a payload for a code that does not exist or alter one (a campaign's into
a clerk's). The payload is short and URL-safe (A-Z, 0-9, '-', '.'), so it fits a small QR.
The legacy referral codes REF-S<location id> and REF-C<staff id> are the codes of the stores'
and the clerks' rows, so an old printed code and a new QR lead to the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from domain.attribution.model import AttributionErrorCode, CodeKind
from domain.errors import DomainError

SIGNATURE_CHARS = 16
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{2,39}$")
_PREFIX = {CodeKind.STORE: "REF-S", CodeKind.CLERK: "REF-C", CodeKind.CAMPAIGN: "CMP-"}


@dataclass(frozen=True, slots=True)
class QrSigner:
    """Signs codes into QR payloads and checks payloads (constant-time comparison)."""

    key: bytes

    @classmethod
    def from_secret(cls, secret: str) -> QrSigner:
        """A signer whose key is derived from the brand's secret for this purpose only."""
        return cls(hmac.new(secret.encode(), b"o2o attribution qr", hashlib.sha256).digest())

    def signature(self, code: str) -> str:
        """The payload's signature part for ``code``."""
        digest = hmac.new(self.key, code.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode()[:SIGNATURE_CHARS]

    def payload(self, code: str) -> str:
        """What the code's QR carries."""
        return f"{code}.{self.signature(code)}"

    def verify(self, payload: str) -> str:
        """The code a payload carries; BAD_SIGNATURE when it was not signed with our key."""
        code, dot, signature = payload.strip().rpartition(".")
        code = code.upper()
        if not dot or not code or len(payload) > 100:
            raise DomainError(
                AttributionErrorCode.BAD_SIGNATURE, "not a signed code", field="payload"
            )
        if not hmac.compare_digest(self.signature(code), signature.upper()):
            raise DomainError(
                AttributionErrorCode.BAD_SIGNATURE, "the code's signature is wrong", field="payload"
            )
        return code


def looks_signed(text: str) -> bool:
    """A signed payload (code.signature) rather than a bare code."""
    return "." in text


def landing_url(base_url: str, landing_path: str, payload: str) -> str:
    """Where the QR leads: the public site's landing page with the payload as ``a``."""
    path = landing_path if landing_path.startswith("/") else "/" + landing_path
    joiner = "&" if "?" in path else "?"
    return f"{base_url.rstrip('/')}{path}{joiner}a={quote(payload, safe='.-')}"


def check_code_text(text: str) -> str:
    """A staff-chosen code: 3 to 40 of A-Z, 0-9 and '-', upper-cased; REF- is reserved for
    the stores' and clerks' codes."""
    code = text.strip().upper()
    if not _CODE.match(code) or code.startswith("REF-"):
        raise DomainError(
            AttributionErrorCode.INVALID_CODE,
            "a code has 3 to 40 letters, digits or '-' and does not start with REF-",
            field="code",
        )
    return code


def default_code(kind: CodeKind, owner_id: int | None, *, taken: bool = False) -> str:
    """A new code: REF-S<store> / REF-C<clerk> (the legacy referral codes), else a prefix and
    random characters; ``taken`` adds a random tail when the plain one exists already."""
    if kind in (CodeKind.STORE, CodeKind.CLERK) and owner_id is not None:
        plain = f"{_PREFIX[kind]}{owner_id}"
        return plain if not taken else f"{plain}-{_random(4)}"
    return f"{_PREFIX.get(kind, 'VEN-')}{_random(6)}"


def _random(n: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(n))


def check_landing_path(path: str | None) -> str:
    """A path on the public site (no scheme, no host): '/', '/stores/bellecour', ..."""
    path = (path or "/").strip() or "/"
    if not path.startswith("/") or path.startswith("//") or len(path) > 300 or " " in path:
        raise DomainError(
            AttributionErrorCode.INVALID_CODE,
            "the landing path is a path on the site, e.g. /stores/bellecour",
            field="landingPath",
        )
    return path
