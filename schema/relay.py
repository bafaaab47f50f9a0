"""Relay plumbing: opaque global IDs, the Node interface, cursors and PageInfo."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import strawberry

from domain.errors import CommonErrorCode, DomainError

GID_PREFIX = "gid://o2o/"
MAX_DATABASE_ID = 2**31 - 1  # keys are 32-bit integers: larger numbers cannot name a row
MAX_BIG_ID = 2**63 - 1  # the append-only ledgers have 64-bit keys
_BIG_ID_TYPES = frozenset({"StockMovement", "PointsEntry"})
MAX_GLOBAL_ID_LENGTH = 200


class InvalidId(DomainError):
    """A global ID that is malformed or names another type."""

    def __init__(self, message: str, *, field: str | None = "id") -> None:
        super().__init__(CommonErrorCode.INVALID_ID, message, field=field)


def to_global_id(type_name: str, ident: int) -> str:
    """An opaque ID: base64 of gid://o2o/<Type>/<id>."""
    raw = f"{GID_PREFIX}{type_name}/{ident}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_global_id(value: str) -> tuple[str, int]:
    """(type name, database id) of a global ID; InvalidId when it is not one of ours."""
    try:
        if len(value) > MAX_GLOBAL_ID_LENGTH:
            raise ValueError
        padded = value + "=" * (-len(value) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        if not raw.startswith(GID_PREFIX):
            raise ValueError
        type_name, ident = raw[len(GID_PREFIX) :].split("/", 1)
        if not ident.isascii() or not ident.isdigit() or len(ident) > 20:
            raise ValueError
        number = int(ident)
        if not 0 < number <= (MAX_BIG_ID if type_name in _BIG_ID_TYPES else MAX_DATABASE_ID):
            raise ValueError
        return type_name, number
    except (ValueError, UnicodeDecodeError):
        raise InvalidId(f"{value[:40]!r} is not a valid ID") from None


def expect_id(value: str | strawberry.ID, type_name: str, *, field: str = "id") -> int:
    """The database id of a global ID that must name ``type_name``."""
    found, number = parse_global_id(str(value))
    if found != type_name:
        raise InvalidId(f"expected a {type_name} ID, got a {found} ID", field=field)
    return number


def encode_cursor(sort_value: Any, ident: int) -> str:
    """An opaque keyset cursor."""
    if isinstance(sort_value, datetime):
        sort_value = {"dt": sort_value.isoformat()}
    raw = json.dumps([sort_value, ident], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, field: str) -> tuple[Any, int]:
    """The (sort value, id) in a cursor; a clear error when it is not one."""
    try:
        if len(cursor) > 1000:
            raise ValueError
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        value, ident = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = datetime.fromisoformat(value["dt"])
        if isinstance(ident, bool) or not isinstance(ident, int):
            raise ValueError
        if not 0 <= ident <= MAX_DATABASE_ID:
            raise ValueError
        if value is not None and not isinstance(value, str | int | float | datetime):
            raise ValueError
        if isinstance(value, int) and not -MAX_DATABASE_ID <= value <= MAX_DATABASE_ID:
            raise ValueError
        return value, ident
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise DomainError(
            CommonErrorCode.INVALID_CURSOR, "not a cursor of this list", field=field
        ) from None


@strawberry.interface(description="An object with a globally unique, opaque ID.")
class Node:
    id: strawberry.ID


@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
