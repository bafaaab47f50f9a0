"""Relay plumbing: opaque global IDs, the Node interface, cursors and PageInfo."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import strawberry

from domain.errors import CommonErrorCode, DomainError

GID_PREFIX = "gid://o2o/"


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
        padded = value + "=" * (-len(value) % 4)
        raw = base64.urlsafe_b64decode(padded.encode()).decode()
        if not raw.startswith(GID_PREFIX):
            raise ValueError
        type_name, ident = raw[len(GID_PREFIX) :].split("/", 1)
        number = int(ident)
        if number <= 0 or number > 2**63:
            raise ValueError
        return type_name, number
    except (ValueError, UnicodeDecodeError):
        raise InvalidId(f"{value!r} is not a valid ID") from None


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
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode())
        value, ident = json.loads(raw)
        if isinstance(value, dict) and "dt" in value:
            value = datetime.fromisoformat(value["dt"])
        if not isinstance(ident, int):
            raise ValueError
        return value, ident
    except (ValueError, TypeError, UnicodeDecodeError):
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
