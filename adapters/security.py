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

    def __init__(self, secret: str) -> None:
        self._secret = secret

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
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self.AUDIENCE,
                issuer=self.ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
