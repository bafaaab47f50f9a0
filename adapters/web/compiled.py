"""Compiled execution of queries: a plan made once per document, run without per-field dispatch.

graphql-core's executor spends most of a catalog page on its own bookkeeping: for each of the
~1,500 values of a 20-product page it builds a resolve info and a path, wraps the resolver in
strawberry's argument conversion and extension chain, checks for awaitables and completes the
value through a chain of type checks. None of that depends on the data: it depends on the
document. ``compile_query`` walks the document once against the schema and gives a ``Plan``:
per selection set, the fields with their response keys, a getter (an attribute read for plain
fields, the resolver itself for the rest, strawberry's own wrapper wherever a field has
extensions or arguments, so the authorization policy runs exactly as before) and a completer
(null checks, list walk and scalar serialization decided at compile time).

``Plan.run`` executes breadth first: every field of one depth is resolved for every object of
that depth before the next depth starts, and the awaitables of a depth are awaited together, so
the DataLoaders batch a depth into one query as they do under graphql-core.

The plan answers only when it can answer exactly as the standard executor would: on any error,
a null in a non-null field, or variables that do not coerce, ``run`` returns ``None`` and the
caller executes the document the standard way (queries only: re-running them changes nothing),
which reports errors with their paths. Documents with directives, abstract types or
introspection are not compiled. ``tests/api/test_compiled_execution.py`` checks over generated
queries that both executors give the same bytes.
"""

from __future__ import annotations

import asyncio
import operator
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from graphql.execution.values import get_argument_values, get_variable_values
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

# ``(completed value, pending objects)``: a completer turns a resolved value into its JSON form;
# an object becomes a dict whose keys are set now (so their order is the document's) and whose
# values the next depth fills, which is why it is also appended to the pending list.
Completer = Callable[[Any, list[tuple[dict[str, Any], Any]]], Any]
_MAX_INT = 2**31 - 1


class NotCompiled(Exception):
    """The document uses something the plan does not cover; run it the standard way."""


class _Refused(Exception):
    """This request cannot be answered by the plan; run it the standard way."""


class ResolveInfo(NamedTuple):
    """The resolve info a resolver gets (the fields of strawberry's own), one per field and
    request: ``path`` is not tracked (nothing in the project reads it)."""

    field_name: str
    field_nodes: list[FieldNode]
    return_type: Any
    parent_type: GraphQLObjectType
    path: Any
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    root_value: Any
    operation: OperationDefinitionNode
    variable_values: dict[str, Any]
    context: Any
    is_awaitable: Callable[[Any], bool]
    abort_signal: Any
    async_helpers: Any
    operation_extensions: dict[str, Any] | None


_awaitable_types: dict[type, bool] = {}


def _is_awaitable(value: Any) -> bool:
    kind = type(value)
    known = _awaitable_types.get(kind)
    if known is None:
        known = _awaitable_types[kind] = hasattr(kind, "__await__")
    return known


@dataclass(eq=False)
class _FieldPlan:
    key: str
    name: str
    gfield: GraphQLField | None  # None: __typename
    nodes: list[FieldNode]
    parent: GraphQLObjectType
    complete: Completer
    # (source, info, arguments) -> value or awaitable
    resolve: Callable[[Any, Any, dict[str, Any]], Any]
    needs_info: bool
    has_arguments: bool
    sub: _ObjectPlan | None = None  # the object type's plan, for object and list-of-object fields
    strawberry: Any = None  # strawberry's Info for the direct resolver calls
    # a direct call with arguments: (GraphQL arguments, info) -> the resolver's keyword arguments
    convert: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


@dataclass(eq=False)
class _ObjectPlan:
    type: GraphQLObjectType
    fields: list[_FieldPlan] = field(default_factory=list)
    keys: tuple[str, ...] = ()


class _Request:
    """The per-request state: coerced variables, one info and one argument dict per field."""

    __slots__ = ("arguments", "context", "extensions", "infos", "plan", "variables")

    def __init__(self, plan: Plan, context: Any, variables: Any, extensions: Any) -> None:
        self.plan = plan
        self.context = context
        self.variables = variables
        self.extensions = extensions
        self.infos: dict[_FieldPlan, Any] = {}
        self.arguments: dict[_FieldPlan, dict[str, Any]] = {}

    def info(self, fp: _FieldPlan) -> Any:
        found = self.infos.get(fp)
        if found is None:
            assert fp.gfield is not None
            plan = self.plan
            found = ResolveInfo(
                fp.name,
                fp.nodes,
                fp.gfield.type,
                fp.parent,
                None,
                plan.schema,
                plan.fragments,
                None,
                plan.operation,
                self.variables.coerced,
                self.context,
                _is_awaitable,
                None,
                None,
                self.extensions,
            )
            if fp.strawberry is not None:  # a direct call wants strawberry's Info
                found = fp.strawberry(_raw_info=found, _field=_strawberry_field(fp.gfield))
            self.infos[fp] = found
        return found

    def args(self, fp: _FieldPlan) -> dict[str, Any]:
        found = self.arguments.get(fp)
        if found is None:
            assert fp.gfield is not None
            found = get_argument_values(fp.gfield, fp.nodes[0], self.variables)
            if fp.convert is not None:  # a direct call: the resolver's Python arguments
                found = fp.convert(found, self.info(fp))
            self.arguments[fp] = found
        return found


class Plan:
    """A query document compiled against the schema; ``run`` gives its ``data`` or None."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        root: _ObjectPlan,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.root = root

    async def run(
        self,
        context: Any,
        variables: dict[str, Any] | None,
        extensions: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), variables or {}
        )
        if isinstance(coerced, list):  # variable errors: the standard path reports them
            return None
        request = _Request(self, context, coerced, extensions)
        data: dict[str, Any] = dict.fromkeys(self.root.keys)
        try:
            await _run_depth(self.root, [(data, None)], request)
        except Exception:  # _Refused, or any error: the standard executor reports it
            return None
        return data


async def _run_depth(
    plan: _ObjectPlan, items: list[tuple[dict[str, Any], Any]], request: _Request
) -> None:
    """Resolve every field of ``plan`` for every item, then the next depth of each field."""
    waiting: list[Any] = []
    slots: list[tuple[dict[str, Any], _FieldPlan, list[tuple[dict[str, Any], Any]]]] = []
    children: list[tuple[_ObjectPlan, list[tuple[dict[str, Any], Any]]]] = []
    for fp in plan.fields:
        pending: list[tuple[dict[str, Any], Any]] = []
        if fp.sub is not None:
            children.append((fp.sub, pending))
        if fp.gfield is None:  # __typename
            for out, _ in items:
                out[fp.key] = fp.parent.name
            continue
        info = request.info(fp) if fp.needs_info else None
        args = request.args(fp) if fp.has_arguments else _NO_ARGS
        resolve, complete, key = fp.resolve, fp.complete, fp.key
        try:
            for out, source in items:
                value = resolve(source, info, args)
                if _is_awaitable(value):
                    waiting.append(value)
                    slots.append((out, fp, pending))
                else:
                    out[key] = complete(value, pending)
        except BaseException:
            _close(waiting)
            raise
    if waiting:
        values = await asyncio.gather(*waiting, return_exceptions=True)
        for (out, fp, pending), value in zip(slots, values, strict=True):
            if isinstance(value, BaseException):
                raise _Refused from value
            out[fp.key] = fp.complete(value, pending)
    work = [_run_depth(sub, pending, request) for sub, pending in children if pending]
    if len(work) == 1:
        await work[0]
    elif work:
        done = await asyncio.gather(*work, return_exceptions=True)
        for outcome in done:
            if isinstance(outcome, BaseException):
                raise _Refused from outcome


_NO_ARGS: dict[str, Any] = {}


def _close(waiting: list[Any]) -> None:
    """Close the coroutines that will not be awaited (no "never awaited" warnings)."""
    for value in waiting:
        close = getattr(value, "close", None)
        if close is not None:
            close()


# --- compiling --------------------------------------------------------------------------------


def compile_query(schema: Any, document: DocumentNode, operation_name: str | None) -> Plan | None:
    """The plan of the document's query operation, or None when it cannot be compiled."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    gschema: GraphQLSchema = schema._schema
    root_type = gschema.query_type
    if root_type is None or operation.directives:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    compiler = _Compiler(schema, gschema, fragments)
    try:
        root = compiler.object_plan(root_type, [operation.selection_set])
    except NotCompiled:
        return None
    return Plan(gschema, document, operation, root)


class _Compiler:
    def __init__(
        self, schema: Any, gschema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]
    ) -> None:
        self.schema = schema
        self.gschema = gschema
        self.fragments = fragments
        converter = getattr(schema, "schema_converter", None)
        self.handlers = getattr(converter, "_get_field_exception_handlers", None)
        self.info_class = schema.config.info_class
        self.default_resolver = schema.config.default_resolver

    def object_plan(
        self, type_: GraphQLObjectType, selection_sets: list[SelectionSetNode]
    ) -> _ObjectPlan:
        grouped: OrderedDict[str, list[FieldNode]] = OrderedDict()
        for selection_set in selection_sets:
            self._collect(type_, selection_set, grouped, set())
        plan = _ObjectPlan(type_)
        for key, nodes in grouped.items():
            plan.fields.append(self.field_plan(type_, key, nodes))
        plan.keys = tuple(grouped)
        return plan

    def _collect(
        self,
        type_: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: OrderedDict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if selection.directives:
                raise NotCompiled("directives")
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._applies(type_, selection.type_condition):
                    self._collect(type_, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self.fragments.get(name)
                if fragment is None or fragment.directives:
                    raise NotCompiled("fragment")
                if self._applies(type_, fragment.type_condition):
                    self._collect(type_, fragment.selection_set, grouped, visited)
            else:
                raise NotCompiled("selection")

    def _applies(self, type_: GraphQLObjectType, condition: Any) -> bool:
        if condition is None:
            return True
        named = self.gschema.get_type(condition.name.value)
        if named is type_:
            return True
        if named is None:
            raise NotCompiled("unknown type condition")
        return any(i is named for i in type_.interfaces)

    def field_plan(self, parent: GraphQLObjectType, key: str, nodes: list[FieldNode]) -> _FieldPlan:
        name = nodes[0].name.value
        if name == "__typename":
            return _FieldPlan(key, name, None, nodes, parent, _identity, _none3, False, False)
        if name.startswith("__"):
            raise NotCompiled("introspection")
        gfield = parent.fields.get(name)
        if gfield is None:
            raise NotCompiled("unknown field")
        sub_sets = [n.selection_set for n in nodes if n.selection_set is not None]
        subs: list[_ObjectPlan] = []
        complete = self._completer(gfield.type, sub_sets, subs)
        fp = _FieldPlan(
            key,
            name,
            gfield,
            nodes,
            parent,
            complete,
            _none3,
            needs_info=True,
            has_arguments=bool(gfield.args),
            sub=subs[0] if subs else None,
        )
        self._resolver(fp, gfield)
        return fp

    def _resolver(self, fp: _FieldPlan, gfield: GraphQLField) -> None:
        definition = _strawberry_field(gfield)
        if definition is None:
            raise NotCompiled("not a strawberry field")
        handlers = self.handlers(definition) if self.handlers is not None else ()
        if handlers:
            raise NotCompiled("exception handlers")
        if definition.is_basic_field:
            if self.default_resolver is getattr:
                get = operator.attrgetter(definition.python_name)
                fp.resolve = lambda source, info, args: get(source)
            else:
                default, attribute = self.default_resolver, definition.python_name
                fp.resolve = lambda source, info, args: default(source, attribute)
            fp.needs_info = False
            fp.has_arguments = False
            return
        resolver = definition.base_resolver
        if resolver is None or definition.extensions:
            # strawberry's own wrapper: argument conversion, field extensions (the policy)
            wrapped = gfield.resolve
            if wrapped is None:
                raise NotCompiled("no resolver")
            fp.resolve = lambda source, info, args: wrapped(source, info, **args)
            return
        # a resolver without extensions: called as strawberry calls it, its arguments converted
        # once per request rather than once per object
        func = resolver.wrapped_func
        info_param = resolver.info_parameter
        by_name = [p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p]
        takes_self = resolver.self_parameter is not None
        info_name = info_param.name if info_param is not None else None
        if definition.arguments:
            fp.strawberry = self.info_class
            fp.convert = self._converter(definition)
            fp.resolve = self._call_with_arguments(func, takes_self, by_name, info_name)
            return
        fp.has_arguments = False
        if info_param is None:
            fp.needs_info = False
        else:
            fp.strawberry = self.info_class
        if by_name:

            def call(source: Any, info: Any, args: Any) -> Any:
                kwargs = dict.fromkeys(by_name, source)
                if info_name is not None:
                    kwargs[info_name] = info
                return func(source, **kwargs) if takes_self else func(**kwargs)

            fp.resolve = call
        elif takes_self and info_name is None:
            fp.resolve = lambda source, info, args: func(source)
        elif takes_self:
            fp.resolve = lambda source, info, args: func(source, **{info_name: info})
        elif info_name is None:
            fp.resolve = lambda source, info, args: func()
        else:
            fp.resolve = lambda source, info, args: func(**{info_name: info})

    def _converter(self, definition: StrawberryField) -> Any:
        arguments = definition.arguments
        registry = self.schema.schema_converter.scalar_registry
        config = self.schema.config

        def convert(raw: dict[str, Any], info: Any) -> dict[str, Any]:
            converted: dict[str, Any] = convert_arguments(
                raw, arguments, scalar_registry=registry, config=config, info=info
            )
            return converted

        return convert

    @staticmethod
    def _call_with_arguments(
        func: Callable[..., Any], takes_self: bool, by_name: list[str], info_name: str | None
    ) -> Callable[[Any, Any, dict[str, Any]], Any]:
        def call(source: Any, info: Any, args: dict[str, Any]) -> Any:
            kwargs = dict(args)
            for name in by_name:
                kwargs[name] = source
            if info_name is not None:
                kwargs[info_name] = info
            return func(source, **kwargs) if takes_self else func(**kwargs)

        return call

    def _completer(
        self, type_: Any, sub_sets: list[SelectionSetNode], subs: list[_ObjectPlan]
    ) -> Completer:
        if isinstance(type_, GraphQLNonNull):
            inner = self._completer(type_.of_type, sub_sets, subs)

            def non_null(value: Any, pending: list[tuple[dict[str, Any], Any]]) -> Any:
                if value is None:
                    raise _Refused("null in a non-null field")
                return inner(value, pending)

            return non_null
        if isinstance(type_, GraphQLList):
            item = self._completer(type_.of_type, sub_sets, subs)

            def list_of(value: Any, pending: list[tuple[dict[str, Any], Any]]) -> Any:
                if value is None:
                    return None
                if isinstance(value, (str, bytes, dict)):
                    raise _Refused("not a list")
                return [item(v, pending) for v in value]

            return list_of
        if isinstance(type_, GraphQLObjectType):
            if not sub_sets:
                raise NotCompiled("object without selection")
            if not subs:
                subs.append(self.object_plan(type_, sub_sets))
            keys = subs[0].keys

            def an_object(value: Any, pending: list[tuple[dict[str, Any], Any]]) -> Any:
                if value is None:
                    return None
                out: dict[str, Any] = dict.fromkeys(keys)
                pending.append((out, value))
                return out

            return an_object
        if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
            return _leaf(type_)
        raise NotCompiled("abstract type")


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Completer:
    serialize = type_.serialize
    if type_ is GraphQLString or type_ is GraphQLID:
        plain: type | None = str
    elif type_ is GraphQLBoolean:
        plain = bool
    else:
        plain = None

    def leaf(value: Any, pending: list[tuple[dict[str, Any], Any]]) -> Any:
        if value is None:
            return None
        if plain is not None and type(value) is plain:
            return value
        if type_ is GraphQLInt and type(value) is int and -_MAX_INT - 1 <= value <= _MAX_INT:
            return value
        out = serialize(value)
        if out is None:
            raise _Refused("scalar serialized to null")
        return out

    return leaf


def _identity(value: Any, pending: list[tuple[dict[str, Any], Any]]) -> Any:
    return value


def _none3(source: Any, info: Any, args: Any) -> Any:
    return None


def _strawberry_field(gfield: GraphQLField) -> StrawberryField | None:
    found = (gfield.extensions or {}).get("strawberry-definition")
    return found if isinstance(found, StrawberryField) else None


class PlanCache:
    """Plans by (query text, operation name), least recently used first out; a document that
    cannot be compiled is remembered too, so it is not walked again."""

    def __init__(self, maxsize: int = 256) -> None:
        self._maxsize = maxsize
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()

    def get(self, key: tuple[str, str | None]) -> tuple[bool, Plan | None]:
        try:
            plan = self._plans[key]
        except KeyError:
            return False, None
        self._plans.move_to_end(key)
        return True, plan

    def put(self, key: tuple[str, str | None], plan: Plan | None) -> None:
        self._plans[key] = plan
        self._plans.move_to_end(key)
        while len(self._plans) > self._maxsize:
            self._plans.popitem(last=False)
