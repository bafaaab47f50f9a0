"""Which GraphQL requests the shared response cache may answer: only what is the same for everyone.

A request is cacheable when its caller is anonymous (no token, no key) and *every* root field it
selects is on ``CACHEABLE_ROOT_FIELDS``: the public catalog. Carts, orders, ``me`` and anything
personal are not listed, so they are never cached; a root field added to the schema later is not
cacheable until someone lists it here (``tests/api/test_cache_policy.py`` walks the schema).
``node(id)`` is cacheable only when its ID names a catalog type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
)

__all__ = [
    "CACHEABLE_NODE_TYPES",
    "CACHEABLE_ROOT_FIELDS",
    "cacheable_operation",
    "root_field_names",
]

# Root Query fields whose answer depends only on their arguments and the catalog data version.
CACHEABLE_ROOT_FIELDS = frozenset(
    {
        "__typename",
        "node",
        "products",
        "product",
        "collections",
        "categories",
        "channels",
        "channel",
        "locations",
    }
)
# The types ``node(id)`` may be asked for and still be cached (public catalog objects).
CACHEABLE_NODE_TYPES = frozenset(
    {"Product", "ProductVariant", "Collection", "Category", "Location", "Channel"}
)


def _root_fields(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], depth: int = 0
) -> Iterator[FieldNode | None]:
    """Every root field selected, through inline fragments and fragment spreads (None: unknown)."""
    if depth > 10:
        yield None
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, depth + 1)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is None:
                yield None
            else:
                yield from _root_fields(fragment.selection_set, fragments, depth + 1)
        else:
            yield None


def root_field_names(document: DocumentNode, operation: OperationDefinitionNode) -> list[str]:
    """The name of every root field ``operation`` selects, once per occurrence ("" for a
    fragment that is not in the document)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return [f.name.value if f else "" for f in _root_fields(operation.selection_set, fragments)]


def _node_id(field: FieldNode, variables: Mapping[str, Any]) -> str | None:
    for argument in field.arguments or ():
        if argument.name.value != "id":
            continue
        value = argument.value
        if isinstance(value, StringValueNode):
            return value.value
        if isinstance(value, VariableNode):
            found = variables.get(value.name.value)
            return found if isinstance(found, str) else None
    return None


def _node_type(global_id: str | None, type_of: Callable[[str], str]) -> str | None:
    if global_id is None:
        return None
    try:
        return type_of(global_id)
    except Exception:  # an invalid ID answers an error, which is never cached anyway
        return None


def cacheable_operation(
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
    *,
    type_of: Callable[[str], str],
) -> bool:
    """True when every root field of ``operation`` is on the allow-list (and node IDs are
    catalog objects); ``type_of`` names the type a global ID encodes."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found = False
    for field in _root_fields(operation.selection_set, fragments):
        if field is None or field.name.value not in CACHEABLE_ROOT_FIELDS:
            return False
        if field.name.value == "node":
            if _node_type(_node_id(field, variables or {}), type_of) not in CACHEABLE_NODE_TYPES:
                return False
        found = True
    return found
