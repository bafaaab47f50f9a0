"""Password hashing (argon2id, OWASP parameters) and signed access tokens (JWT, HS256)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jwt
from argon2 import PasswordHasher as Argon2
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_ARGON2 = Argon2(time_cost=2, memory_cost=19 * 1024, parallelism=1, hash_len=32, salt_len=16)
_DUMMY_HASH = _ARGON2.hash("dummy password for timing")


class Argon2PasswordHasher:
    """argon2id with OWASP's minimum parameters."""

    def hash(self, password: str) -> str:
        return _ARGON2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return _ARGON2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_verify(self) -> None:
        """Spend the time of a real check, so unknown accounts cannot be told by timing."""
        self.verify(_DUMMY_HASH, "not the password")


class JwtTokenSigner:
    """HS256 tokens with an expiry, an issuer and an audience."""

    ISSUER = "o2o-gateway"
    AUDIENCE = "o2o-gateway:api"

    REMEMBERED = 10_000  # verified tokens kept; all are forgotten when full

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._verified: dict[str, dict[str, Any]] = {}

    def issue(self, *, subject: str, claims: dict[str, Any], ttl_seconds: int) -> str:
        now = int(time.time())
        payload = {
            **claims,
            "sub": subject,
            "iat": now,
            "exp": now + ttl_seconds,
            "iss": self.ISSUER,
            "aud": self.AUDIENCE,
        }
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid token, else None. A token verified once is remembered (by its
        whole text, signature included) until it expires: a frontend sends the same token with
        every request, and checking its signature again cost a tenth of a small request."""
        known = self._verified.get(token)
        if known is not None:
            if known["exp"] > time.time():
                return dict(known)
            del self._verified[token]
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self.AUDIENCE,
                issuer=self.ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        if isinstance(claims.get("exp"), (int, float)):
            if len(self._verified) >= self.REMEMBERED:
                self._verified.clear()
            self._verified[token] = claims
        return dict(claims)


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
