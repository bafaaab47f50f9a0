"""How failures reach the client: business errors with codes, internal faults masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission
from strawberry.types import Info

from domain.errors import DomainError

log = logging.getLogger("o2o.graphql")


class Unauthenticated(GraphQLError):
    """No valid credentials were presented for a field that needs them."""

    def __init__(self) -> None:
        super().__init__(
            "authentication required: send a staff token or a partner API key",
            extensions={"code": "UNAUTHENTICATED"},
        )


class IsAuthenticated(BasePermission):
    """Refuses anonymous callers with a top-level UNAUTHENTICATED error."""

    message = "authentication required"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        if info.context.principal.is_anonymous:
            raise Unauthenticated()
        return True


class ErrorShaping(SchemaExtension):
    """DomainErrors keep their message and gain `code`/`field`; anything unexpected is masked."""

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not result or not result.errors:
            return
        shaped = []
        for error in result.errors:
            original = error.original_error
            if isinstance(original, DomainError):
                extensions = {"code": original.code}
                if original.field:
                    extensions["field"] = original.field
                shaped.append(
                    GraphQLError(
                        original.message,
                        nodes=error.nodes,
                        path=error.path,
                        extensions=extensions,
                    )
                )
            elif original is None or isinstance(original, GraphQLError):
                shaped.append(error)
            else:
                log.error("internal error at %s", error.path, exc_info=original)
                shaped.append(
                    GraphQLError(
                        "Internal server error",
                        nodes=error.nodes,
                        path=error.path,
                        extensions={"code": "INTERNAL_SERVER_ERROR"},
                    )
                )
        result.errors = shaped


def authenticated() -> Any:
    """A field extension list refusing anonymous callers."""
    return strawberry.permission.PermissionExtension(
        permissions=[IsAuthenticated()], use_directives=False
    )
