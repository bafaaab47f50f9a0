"""Counts the SQL statements a block of code sends, whatever the database engine.

Every statement sent through the client's ``execute_*`` methods is recorded, inside a transaction
too: the transaction wrappers of a backend subclass its client and some override a method
(``execute_many``, used by ``bulk_create``), so every class of the backend is wrapped. Transaction
control (BEGIN, COMMIT, SAVEPOINT) goes straight to the driver and is not recorded.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from tortoise import connections

_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many")

# A wrapped method that reaches another wrapped one (super()) records its statement once.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("_inside", default=False)


def _backend_classes(root: type) -> list[type]:
    """The client class and every subclass of it (transaction wrappers, variants)."""
    found, todo = [], [root]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return found


@contextlib.contextmanager
def recording(
    record: Callable[[str, Any], None], methods: tuple[str, ...] = _METHODS
) -> Iterator[None]:
    """Calls ``record(sql, values)`` for every statement sent by ``methods`` inside the block."""
    # from the backend's own client class (the engine may subclass it, e.g. pg_backend)
    client = type(connections.get("default"))
    root = next(c for c in client.__mro__ if "execute_query" in c.__dict__)
    originals: list[tuple[type, str, Any]] = [
        (cls, name, cls.__dict__[name])
        for cls in _backend_classes(root)
        for name in methods
        if name in cls.__dict__
    ]

    def wrap(original: Any) -> Any:
        async def recorded(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if _inside.get():
                return await original(self, query, *args, **kwargs)
            record(query, args[0] if args else kwargs.get("values"))
            token = _inside.set(True)
            try:
                return await original(self, query, *args, **kwargs)
            finally:
                _inside.reset(token)

        return recorded

    for cls, name, original in originals:
        setattr(cls, name, wrap(original))
    try:
        yield
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


@contextlib.contextmanager
def count_queries() -> Iterator[list[str]]:
    """Yields a list that receives every SQL statement sent inside the block."""
    seen: list[str] = []
    with recording(lambda query, values: seen.append(query)):
        yield seen
