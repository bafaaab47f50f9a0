"""GraphQL over HTTP transport for a strawberry schema, as a Starlette (ASGI) endpoint.

Follows the GraphQL-over-HTTP draft (https://graphql.github.io/graphql-over-http/draft/)
instead of strawberry's own ASGI view, so that status codes and response caching are ours.

Outcomes, from the outside in:

- Not acceptable ``Accept`` → 406. Malformed HTTP request (content type, JSON body, parameter
  types, missing query, batching) → 415/400 with ``{"errors": [{"message": ...}]}``. A mutation
  over GET → 405 with ``Allow: POST``.
- GraphQL *request* errors (syntax, validation, operation selection, variable coercion) produce a
  response without ``data``: 200 with ``application/json`` (legacy clients), 400 with
  ``application/graphql-response+json``.
- Once execution started the response carries ``data`` (possibly null) and the status is 200.

Queries from callers that ``is_cacheable`` approves, whose operation ``cache_policy`` lists as
the same for everyone (adapters/web/cache_policy.py), are served from a ``ResponseCache`` keyed
by the catalog data version, so a price or stock change invalidates every cached body at once.
Variables count in the token budget with the document; a ``guard`` may refuse an operation
before it runs (429, per-address limits of adapters/web/throttle.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    get_operation_ast,
    get_variable_values,
    parse,
)
from graphql import OperationType as AstOperationType
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from adapters.web.compiled import PlanCache, compile_query
from adapters.web.limits import token_count, too_many_tokens
from adapters.web.negotiation import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    UTF8_CHARSETS,
    negotiate_media_type,
    parse_media_range,
    prefers_html,
)

__all__ = [
    "CachePolicy",
    "GraphQLEndpoint",
    "GraphQLHTTPConfig",
    "OperationGuard",
    "ResponseCache",
]

logger = logging.getLogger(__name__)

_NO_STORE = {"Cache-Control": "no-store"}


CachePolicy = Callable[[DocumentNode, OperationDefinitionNode, "dict[str, Any] | None"], bool]


# (message, seconds until a retry may succeed) when the operation is refused, else None
OperationGuard = Callable[
    [Request, Any, DocumentNode, OperationDefinitionNode], Awaitable["tuple[str, int] | None"]
]


# (catalog version, document, operation name, which of variables/extensions are None) → the
# cache key of a request without variables or extensions (None or {}): made once per version
_PLAIN_KEYS: dict[tuple[str, str, str | None, bool, bool], str] = {}


class ResponseCache(Protocol):
    """Stores serialized GraphQL responses; implemented by a Redis and an in-process adapter."""

    async def get(self, key: str) -> bytes | None:
        """Return the body stored under ``key``, or None when absent or expired."""
        ...

    async def set(self, key: str, value: bytes, *, ttl_seconds: int) -> None:
        """Store ``value`` under ``key`` for ``ttl_seconds``."""
        ...

    async def version(self) -> str:
        """Return a token that changes whenever catalog, price or stock data changes."""
        ...


@dataclass
class GraphQLHTTPConfig:
    """Switches of the HTTP transport."""

    graphiql: bool = True
    allow_get_queries: bool = True
    cache_ttl_seconds: int = 300
    # Tokens of the document (None: no limit here; the schema's limiter counts them too) ...
    max_tokens: int | None = None
    # ... and of its variables and extensions: one per scalar, key and word of a string, so a
    # 20,000-word search costs 20,000 (a 1,000-price bulk update about 16,000).
    max_variable_tokens: int | None = None
    # GET requests carry their document and variables in the URL, outside the body size limit.
    max_query_string_bytes: int = 1_048_576
    # Queries run through a plan compiled once per document (adapters/web/compiled.py) after
    # their first standard execution; False runs every request through the standard executor.
    compiled_execution: bool = True


@dataclass(frozen=True)
class _GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class _HTTPError(Exception):
    """A request the transport refuses before GraphQL sees it."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class GraphQLEndpoint:
    """ASGI app serving ``schema`` at one route over GET and POST."""

    def __init__(
        self,
        schema: strawberry.Schema,
        *,
        context_factory: Callable[[Request], Awaitable[Any]],
        cache: ResponseCache | None = None,
        config: GraphQLHTTPConfig | None = None,
        is_cacheable: Callable[[Request, Any], bool] | None = None,
        cache_policy: CachePolicy | None = None,
        guard: OperationGuard | None = None,
    ) -> None:
        self._schema = schema
        self._context_factory = context_factory
        self._cache = cache
        self._config = config or GraphQLHTTPConfig()
        # Without a predicate nothing is cached: a personalised response must never be shared.
        self._is_cacheable = is_cacheable
        # ... and, when given, the operation itself must be one the policy lists as shared.
        self._cache_policy = cache_policy
        # may refuse an operation before it runs (e.g. too many sign-ups from one address)
        self._guard = guard
        self._graphiql_html = get_graphql_ide_html("graphiql") if self._config.graphiql else None
        self._plans = PlanCache() if self._config.compiled_execution else None
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()  # parsed, by query text

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request."""
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return _error_response(
                405, "Use GET or POST.", APPLICATION_JSON, headers={"Allow": "GET, POST"}
            )
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and prefers_html(accept):
            if self._graphiql_html is None:
                return _error_response(404, "Not Found", APPLICATION_JSON)
            return HTMLResponse(self._graphiql_html)
        media_type = negotiate_media_type(accept)
        if media_type is None:
            message = f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {APPLICATION_JSON}."
            return _error_response(406, message, APPLICATION_JSON)
        try:
            if request.method == "GET":
                params = self._params_from_query_string(request)
            else:
                params = await _params_from_body(request)
            return await self._run(request, params, media_type)
        except _HTTPError as exc:
            return _error_response(exc.status, exc.message, media_type, headers=exc.headers)

    def _params_from_query_string(self, request: Request) -> _GraphQLParams:
        if not self._config.allow_get_queries:
            raise _HTTPError(405, "GraphQL over GET is disabled; use POST.", {"Allow": "POST"})
        if len(request.url.query.encode()) > self._config.max_query_string_bytes:
            raise _HTTPError(414, "The query string is too long; send the request by POST.")
        args = request.query_params
        if "query" not in args:
            raise _HTTPError(400, "Missing 'query' parameter.")
        return _GraphQLParams(
            query=args["query"],
            variables=_json_object_param(args.get("variables"), "variables"),
            operation_name=args.get("operationName") or None,
            extensions=_json_object_param(args.get("extensions"), "extensions"),
        )

    async def _run(self, request: Request, params: _GraphQLParams, media_type: str) -> Response:
        budget = self._config.max_tokens
        allowance = self._config.max_variable_tokens
        if allowance is not None:
            spent = token_count(params.variables) + token_count(params.extensions)
            if spent > allowance:
                return _request_error_response([too_many_tokens()], media_type)
        try:
            document = self._parse(params.query, budget)
        except GraphQLError as error:
            if budget is not None and "tokens" in error.message:
                error = too_many_tokens()
            return _request_error_response([error], media_type)
        operation = get_operation_ast(document, params.operation_name)
        if operation is None:
            return _request_error_response(
                [_operation_selection_error(document, params)], media_type
            )
        if request.method == "GET" and operation.operation is not AstOperationType.QUERY:
            raise _HTTPError(405, "Only queries can be sent over GET; use POST.", {"Allow": "POST"})
        if operation.operation is AstOperationType.SUBSCRIPTION:
            refusal = GraphQLError("Subscriptions are not supported over HTTP.")
            return _request_error_response([refusal], media_type)

        context = await self._context_factory(request)
        if self._guard is not None:
            refusal = await self._guard(request, context, document, operation)
            if refusal is not None:
                return _throttled_response(refusal, media_type)
        cache_key = None
        if (
            self._cache is not None
            and operation.operation is AstOperationType.QUERY
            and self._is_cacheable is not None
            and self._is_cacheable(request, context)
            and (
                self._cache_policy is None
                or self._cache_policy(document, operation, params.variables)
            )
        ):
            cache_key = await self._cache_key(self._cache, params)
        if cache_key is not None:
            cached = await self._cache_get(cache_key)
            if cached is not None:
                return _graphql_response(cached, 200, media_type, {"X-Cache": "HIT"})

        result = await self._execute(request, params, context, document, operation)
        started = self._execution_started(result, operation, params.variables)
        body = _dumps(_payload(result, data_present=started))
        status = 200 if started or media_type == APPLICATION_JSON else 400
        if cache_key is None:
            return _graphql_response(body, status, media_type, _NO_STORE)
        if started and not result.errors:
            await self._cache_set(cache_key, body)
            return _graphql_response(body, status, media_type, {"X-Cache": "MISS"})
        return _graphql_response(body, status, media_type, {"X-Cache": "MISS", **_NO_STORE})

    def _parse(self, query: str, budget: int | None) -> DocumentNode:
        """The document of ``query``, parsed once while it is among the 256 latest."""
        documents = self._documents
        document = documents.get(query)
        if document is None:
            document = parse(query, max_lexical_tokens=budget)
            documents[query] = document
            if len(documents) > 256:
                documents.popitem(last=False)
        return document

    async def _execute(
        self,
        request: Request,
        params: _GraphQLParams,
        context: Any,
        document: DocumentNode,
        operation: OperationDefinitionNode,
    ) -> ExecutionResult:
        plans = self._plans
        known = True
        key = (params.query, params.operation_name)
        if plans is not None and operation.operation is AstOperationType.QUERY:
            known, plan = plans.get(key)
            if plan is not None:
                data = await plan.run(context, params.variables, params.extensions)
                if data is not None:
                    return ExecutionResult(data=data, errors=None)
        result = await self._standard_execute(request, params, context)
        if not known and not result.errors and not isinstance(result, PreExecutionError):
            # a document that ran once without errors is valid: compile it for the next time
            assert plans is not None
            plans.put(key, compile_query(self._schema, document, params.operation_name))
        return result

    async def _standard_execute(
        self, request: Request, params: _GraphQLParams, context: Any
    ) -> ExecutionResult:
        allowed = {OperationType.QUERY}
        if request.method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self._schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError) as exc:
            # Checked before execution already; kept so strawberry's own refusals stay 4xx.
            raise _HTTPError(400, str(exc) or type(exc).__name__) from exc

    def _execution_started(
        self,
        result: ExecutionResult,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
    ) -> bool:
        """Tell a request error (no ``data`` entry) from an execution whose data is null."""
        if isinstance(result, PreExecutionError):
            return False
        if result.data is not None:
            return True
        # graphql-core reports variable coercion failures as data=None, like a null root field;
        # coercing again tells the two apart without relying on error messages.
        coerced = get_variable_values(
            self._schema._schema, operation.variable_definitions or (), variables or {}
        )
        return not isinstance(coerced, list)

    async def _cache_key(self, cache: ResponseCache, params: _GraphQLParams) -> str | None:
        try:
            version = await cache.version()
        except Exception:
            logger.warning("response cache unavailable: version() failed", exc_info=True)
            return None
        # the storefront's pages: the same few documents, over and over, without variables
        plain = not params.variables and not params.extensions
        memo = (
            version,
            params.query,
            params.operation_name,
            params.variables is None,
            params.extensions is None,
        )
        if plain and (known := _PLAIN_KEYS.get(memo)) is not None:
            return known
        canonical = json.dumps(
            [version, params.query, params.variables, params.operation_name, params.extensions],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        key = hashlib.sha256(canonical.encode()).hexdigest()
        if plain:
            if len(_PLAIN_KEYS) >= 1024:
                _PLAIN_KEYS.clear()
            _PLAIN_KEYS[memo] = key
        return key

    async def _cache_get(self, key: str) -> bytes | None:
        assert self._cache is not None
        try:
            return await self._cache.get(key)
        except Exception:
            # A cache outage degrades to uncached responses, never to failed requests.
            logger.warning("response cache unavailable: get() failed", exc_info=True)
            return None

    async def _cache_set(self, key: str, body: bytes) -> None:
        assert self._cache is not None
        try:
            await self._cache.set(key, body, ttl_seconds=self._config.cache_ttl_seconds)
        except Exception:
            logger.warning("response cache unavailable: set() failed", exc_info=True)


async def _params_from_body(request: Request) -> _GraphQLParams:
    content_type = request.headers.get("content-type")
    if not content_type:
        raise _HTTPError(415, f"Missing Content-Type; send {APPLICATION_JSON}.")
    mime, parameters = parse_media_range(content_type)
    if mime != APPLICATION_JSON or parameters.get("charset", "utf-8") not in UTF8_CHARSETS:
        raise _HTTPError(
            415, f"Unsupported Content-Type {content_type!r}; send {APPLICATION_JSON}."
        )
    try:
        raw = await request.body()
    except ClientDisconnect as exc:
        raise _HTTPError(400, "The client disconnected before sending the body.") from exc
    if not raw.strip():
        raise _HTTPError(400, "The request body is empty; send a JSON object.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _HTTPError(400, "The request body is not valid UTF-8 JSON.") from exc
    if isinstance(data, list):
        raise _HTTPError(400, "Batched requests are not supported; send one operation per request.")
    if not isinstance(data, dict):
        raise _HTTPError(400, "The request body must be a JSON object.")
    query = data.get("query")
    if query is None:
        raise _HTTPError(400, "Missing 'query' parameter.")
    if not isinstance(query, str):
        raise _HTTPError(400, "'query' must be a string.")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _HTTPError(400, "'operationName' must be a string or null.")
    return _GraphQLParams(
        query=query,
        variables=_object_or_null(data.get("variables"), "variables"),
        operation_name=operation_name,
        extensions=_object_or_null(data.get("extensions"), "extensions"),
    )


def _json_object_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _HTTPError(400, f"'{name}' must be a JSON-encoded object.") from exc
    return _object_or_null(value, name)


def _object_or_null(value: Any, name: str) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise _HTTPError(400, f"'{name}' must be an object or null.")
    return value


def _operation_selection_error(document: DocumentNode, params: _GraphQLParams) -> GraphQLError:
    if params.operation_name is not None:
        return GraphQLError(f"Unknown operation named '{params.operation_name}'.")
    if any(isinstance(node, OperationDefinitionNode) for node in document.definitions):
        return GraphQLError("The document has several operations; provide 'operationName'.")
    return GraphQLError("The document contains no operation.")


def _payload(result: ExecutionResult, *, data_present: bool) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if data_present:
        payload["data"] = result.data
    if result.extensions:
        payload["extensions"] = result.extensions
    return payload


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _graphql_response(
    body: bytes, status: int, media_type: str, headers: Mapping[str, str]
) -> Response:
    return Response(
        body,
        status_code=status,
        headers={"Vary": "Accept", **headers},
        media_type=f"{media_type}; charset=utf-8",
    )


def _request_error_response(errors: list[GraphQLError], media_type: str) -> Response:
    body = _dumps({"errors": [error.formatted for error in errors]})
    status = 200 if media_type == APPLICATION_JSON else 400
    return _graphql_response(body, status, media_type, _NO_STORE)


def _throttled_response(refusal: tuple[str, int], media_type: str) -> Response:
    message, retry_after = refusal
    body = _dumps({"errors": [{"message": message, "extensions": {"code": "THROTTLED"}}]})
    headers = {**_NO_STORE, "Retry-After": str(max(1, retry_after))}
    return _graphql_response(body, 429, media_type, headers)


def _error_response(
    status: int, message: str, media_type: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = _dumps({"errors": [{"message": message}]})
    return _graphql_response(body, status, media_type, {**_NO_STORE, **(headers or {})})


# --- Accept negotiation --------------------------------------------------------------------
