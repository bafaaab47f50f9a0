"""Types shared by every area: money, user errors, generic connections."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, overload

import strawberry

from domain.errors import DomainError
from domain.money import Money
from schema.relay import PageInfo, encode_cursor

T = TypeVar("T")


@strawberry.type(description="An amount and its currency; `amount` is a decimal string.")
class MoneyV2:
    amount: str
    currency_code: str

    @overload
    @classmethod
    def of(cls, money: Money) -> MoneyV2: ...
    @overload
    @classmethod
    def of(cls, money: None) -> None: ...
    @overload
    @classmethod
    def of(cls, money: Money | None) -> MoneyV2 | None: ...
    @classmethod
    def of(cls, money: Money | None) -> MoneyV2 | None:
        """The amount as a decimal string and its currency; None for None."""
        if money is None:
            return None
        return cls(amount=money.to_decimal_string(), currency_code=money.currency)


@strawberry.type(description="A business rule said no: `code` is stable, `message` is for people.")
class UserError:
    field: list[str] | None
    code: str
    message: str

    @classmethod
    def of(cls, error: DomainError) -> UserError:
        path = error.field.split(".") if error.field else None
        return cls(field=path, code=error.code, message=error.message)


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    _items: strawberry.Private[Sequence[Any]]
    _cursor_of: strawberry.Private[Callable[[Any], tuple[Any, int]]]

    # edges and their cursors are made only when asked for: most pages read `nodes`
    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        cursor_of = self._cursor_of
        return [
            Edge(cursor=encode_cursor(*cursor_of(i)), node=n)
            for i, n in zip(self._items, self.nodes, strict=True)
        ]

    nodes: list[T]
    page_info: PageInfo


def connection(
    items: Sequence[Any],
    *,
    wrap: Callable[[Any], T],
    cursor_of: Callable[[Any], tuple[Any, int]],
    has_next: bool,
    has_previous: bool,
) -> Connection[T]:
    """A connection over a page of domain objects, with keyset cursors."""
    return Connection(
        _items=items,
        _cursor_of=cursor_of,
        nodes=[wrap(i) for i in items],
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=encode_cursor(*cursor_of(items[0])) if items else None,
            end_cursor=encode_cursor(*cursor_of(items[-1])) if items else None,
        ),
    )


def offset_connection(
    items: Sequence[Any], *, wrap: Callable[[Any], T], first: int
) -> Connection[T]:
    """A connection over a short, fully loaded list (cursor = position)."""
    page = list(items[:first])
    position = {id(item): n for n, item in enumerate(page)}
    return connection(
        page,
        wrap=wrap,
        cursor_of=lambda i: ("pos", position[id(i)]),
        has_next=len(items) > first,
        has_previous=False,
    )
