"""Domain errors become userErrors in one place: a field extension on every payload mutation.

A resolver just calls its use case; when the use case raises ``DomainError``, this extension
answers the field's payload type with ``user_errors=[UserError.of(error)]`` and every other
field at its declared default (None, or False/0 where the field is non-null). Queries keep
their DomainErrors as top-level errors with a code (``schema.errors.ErrorShaping``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import StrawberryObjectDefinition, get_object_definition
from strawberry.types.field import StrawberryField

from domain.errors import DomainError
from schema.common import UserError


class UserErrorsExtension(FieldExtension):
    """Turns a DomainError raised by the resolver into the field's payload with userErrors."""

    def __init__(self, payload: type) -> None:
        self.payload = payload

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        """Sync resolvers: the payload with the error instead of the exception."""
        try:
            return next_(source, info, **kwargs)
        except DomainError as error:
            return self.failed(error)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        """Async resolvers: the payload with the error instead of the exception."""
        try:
            return await next_(source, info, **kwargs)
        except DomainError as error:
            return self.failed(error)

    def failed(self, error: DomainError) -> Any:
        """The payload that reports ``error``: every other field at its default."""
        return self.payload(user_errors=[UserError.of(error)])


def payload_with_user_errors(field: StrawberryField) -> type | None:
    """The field's return type when it is an object type with a `user_errors` field."""
    definition = get_object_definition(field.type)
    if not isinstance(definition, StrawberryObjectDefinition):
        return None
    if not any(f.python_name == "user_errors" for f in definition.fields):
        return None
    return definition.origin


def map_domain_errors(mutation: type) -> None:
    """Attach UserErrorsExtension to each field of ``mutation`` that returns a payload.

    Refuses (TypeError, at import) a payload that cannot be built from ``user_errors`` alone:
    its other fields need defaults (None, or False/0 for a non-null field).
    """
    definition = get_object_definition(mutation, strict=True)
    for field in definition.fields:
        payload = payload_with_user_errors(field)
        if payload is None or any(isinstance(e, UserErrorsExtension) for e in field.extensions):
            continue
        try:
            payload(user_errors=[])
        except TypeError as error:
            raise TypeError(
                f"{payload.__name__}: give every field but user_errors a default"
            ) from error
        field.extensions.append(UserErrorsExtension(payload))
