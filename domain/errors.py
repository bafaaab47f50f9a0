"""The domain's one exception type: a business rule said no.

Resolvers turn a ``DomainError`` into a ``userError { field code message }``; its ``code`` is a
stable string from the ``<Area>ErrorCode`` enums of each area, never a free text.
"""

from __future__ import annotations

from enum import StrEnum


class CommonErrorCode(StrEnum):
    """Codes shared by every area."""

    INVALID = "INVALID"
    NOT_FOUND = "NOT_FOUND"
    REQUIRED = "REQUIRED"
    DUPLICATE = "DUPLICATE"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CONFLICT = "CONFLICT"
    INVALID_ID = "INVALID_ID"
    INVALID_CURSOR = "INVALID_CURSOR"
    MAX_PAGE_SIZE_EXCEEDED = "MAX_PAGE_SIZE_EXCEEDED"


class DomainError(Exception):
    """A business rule refused the request; carries a stable code and the offending field."""

    def __init__(self, code: StrEnum | str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = str(code)
        self.message = message
        self.field = field


class NotFound(DomainError):
    """The named object does not exist (or the caller may not see it)."""

    def __init__(self, what: str, *, field: str | None = None) -> None:
        super().__init__(CommonErrorCode.NOT_FOUND, f"{what} not found", field=field)


class PermissionDenied(DomainError):
    """The caller is known but not allowed to do this."""

    def __init__(self, message: str = "not allowed", *, field: str | None = None) -> None:
        super().__init__(CommonErrorCode.PERMISSION_DENIED, message, field=field)
