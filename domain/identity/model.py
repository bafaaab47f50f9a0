"""Who is calling and what they may do: staff roles, partner scopes, shoppers.

Every admin use case asks the ``Principal`` before it changes anything. A store manager or a
clerk is scoped to the locations (stores) they are assigned to; owners and admins see all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from domain.contact import canonical_email
from domain.errors import DomainError, PermissionDenied


class IdentityErrorCode(StrEnum):
    """Stable codes of identity userErrors."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    INVALID_EMAIL = "INVALID_EMAIL"
    DUPLICATE_EMAIL = "DUPLICATE_EMAIL"
    INVALID_SCOPE = "INVALID_SCOPE"
    INVALID_ROLE = "INVALID_ROLE"
    LOCATION_REQUIRED = "LOCATION_REQUIRED"
    NOT_FOUND = "NOT_FOUND"
    THROTTLED = "THROTTLED"


class Role(StrEnum):
    """Staff roles, from the most to the least powerful."""

    OWNER = "OWNER"
    ADMIN = "ADMIN"
    STORE_MANAGER = "STORE_MANAGER"
    CLERK = "CLERK"


class Scope(StrEnum):
    """What a partner API key may do."""

    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    PRICES_WRITE = "prices:write"
    INVENTORY_READ = "inventory:read"
    INVENTORY_WRITE = "inventory:write"


class PrincipalKind(StrEnum):
    """The three kinds of caller."""

    ANONYMOUS = "ANONYMOUS"
    STAFF = "STAFF"
    PARTNER = "PARTNER"
    MEMBER = "MEMBER"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    kind: PrincipalKind
    subject: str = "anonymous"
    role: Role | None = None
    location_ids: frozenset[int] = field(default_factory=frozenset)
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    rate_limit_per_minute: int | None = None
    tier: str | None = None  # a member's tier, for tier prices

    @property
    def is_anonymous(self) -> bool:
        return self.kind is PrincipalKind.ANONYMOUS

    @property
    def member_id(self) -> int | None:
        """The member behind a member token, else None."""
        if self.kind is not PrincipalKind.MEMBER:
            return None
        return int(self.subject.split(":", 1)[1])

    @property
    def staff_id(self) -> int | None:
        """The staff account behind a staff token, else None."""
        if self.kind is not PrincipalKind.STAFF or not self.subject.startswith("staff:"):
            return None
        return int(self.subject.split(":", 1)[1])

    @property
    def brand_wide(self) -> bool:
        """Owners and admins act on every location."""
        return self.role in (Role.OWNER, Role.ADMIN)

    @property
    def sees_unpublished_catalog(self) -> bool:
        """Staff and partner keys with a catalog scope see draft and archived products;
        anonymous callers and members see only what is on sale."""
        if self.kind is PrincipalKind.STAFF:
            return True
        catalog = {Scope.CATALOG_READ, Scope.CATALOG_WRITE}
        return self.kind is PrincipalKind.PARTNER and bool(self.scopes & catalog)

    def require_staff(self, *roles: Role) -> None:
        """Refuse unless the caller is staff with one of ``roles`` (any role when none given)."""
        if self.kind is not PrincipalKind.STAFF or (roles and self.role not in roles):
            raise PermissionDenied("this needs a staff account with more rights")

    def require(self, *, scope: Scope, roles: tuple[Role, ...] = (Role.OWNER, Role.ADMIN)) -> None:
        """Staff with one of ``roles``, or a partner key carrying ``scope``."""
        if self.kind is PrincipalKind.PARTNER and scope in self.scopes:
            return
        if self.kind is PrincipalKind.STAFF and self.role in roles:
            return
        raise PermissionDenied(f"this needs the {scope.value} permission")

    def require_location(self, location_id: int, *, scope: Scope) -> None:
        """May the caller change stock at this location? Store staff only at their stores."""
        if self.kind is PrincipalKind.PARTNER and scope in self.scopes:
            return
        if self.kind is PrincipalKind.STAFF:
            if self.brand_wide:
                return
            if self.role is Role.STORE_MANAGER and location_id in self.location_ids:
                return
        raise PermissionDenied("you may not change stock at this location", field="locationId")


ANONYMOUS = Principal(kind=PrincipalKind.ANONYMOUS)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased; refuses what is not an address."""
    email = canonical_email(email) or ""
    if not _EMAIL.match(email) or len(email) > 254:
        raise DomainError(IdentityErrorCode.INVALID_EMAIL, "not an email address", field="email")
    return email


def check_password_strength(password: str) -> None:
    """At least 12 characters (NIST SP 800-63B favours length over composition rules)."""
    if len(password) < 12 or len(password) > 256:
        raise DomainError(
            IdentityErrorCode.WEAK_PASSWORD,
            "a password has 12 to 256 characters",
            field="password",
        )


def parse_scopes(values: list[str]) -> frozenset[Scope]:
    """Parse scope names, refusing unknown ones."""
    try:
        return frozenset(Scope(v) for v in values)
    except ValueError:
        known = ", ".join(s.value for s in Scope)
        raise DomainError(
            IdentityErrorCode.INVALID_SCOPE, f"unknown scope; known: {known}", field="scopes"
        ) from None


def parse_role(value: str) -> Role:
    """Parse a role name."""
    try:
        return Role(value.upper())
    except ValueError:
        raise DomainError(IdentityErrorCode.INVALID_ROLE, "unknown role", field="role") from None
