"""Domain events: facts that other parts of the system react to, as typed dataclasses.

Each area declares its events in ``domain/<area>/events.py`` as subclasses of ``DomainEvent``
with a ``topic`` (``order.placed``) and the name of the field that identifies the aggregate.
A use case records them with ``uow.outbox.add(event)`` in its own transaction; ``serialise``
is the one place where an event becomes the JSON the outbox stores (field names in camelCase).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """A fact, named in the past tense; ``aggregate`` names the field holding the object id."""

    topic: ClassVar[str]
    aggregate: ClassVar[str]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def serialise(event: DomainEvent) -> tuple[str, str, dict[str, Any]]:
    """The event as the outbox stores it: (topic, aggregate id, JSON payload)."""
    payload = {_camel(f.name): _plain(getattr(event, f.name)) for f in fields(event)}
    return event.topic, str(getattr(event, event.aggregate)), payload
