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
    """Attach UserErrorsExtension to each field of ``mutation`` that returns a payload."""
    definition = get_object_definition(mutation, strict=True)
    for field in definition.fields:
        payload = payload_with_user_errors(field)
        attached = any(isinstance(e, UserErrorsExtension) for e in field.extensions)
        if payload is not None and not attached:
            field.extensions.append(UserErrorsExtension(payload))
