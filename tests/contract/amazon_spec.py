"""Amazon SP-API's published models (../shared/specs/amazon-sp-api/), loaded once, as validators.

The API models are Swagger 2.0, which openapi-core does not read; an exchange is checked here
against the operation it names (method and path template) with ``jsonschema``:

- the request: path and query parameters (required, type, enum, ``collectionFormat`` csv
  arrays, ``date-time``), no undocumented query parameter, the JSON body against the body
  parameter's schema (Draft 4 over the file's ``definitions``), and the access token header;
- the response: its status is one the operation documents, and its body matches that status's
  schema (an error body too); a status without a schema has an empty body.

Feed documents are checked against the JSON Schemas of ``JSON_LISTINGS_FEED``
(listings-feed-schema-v2.json) and of the processing report
(listings-feed-processing-report-schema-v2.json), notifications against
OrderChangeNotification.json. Login with Amazon's token endpoint has no model in these files;
its form and answer are checked by hand (the fields LWA documents).

Known defects of the files patched here on the loaded objects (never in the files):
- none needed so far for the operations used (see ``_patch``).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonschema
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / ".." / "shared" / "specs" / "amazon-sp-api"
SKIP_REASON = "../shared/specs absent (a fresh clone): contract tests run in CI"
API_FILES = (
    "orders_2026-01-01.json",
    "ordersV0.json",
    "listingsItems_2021-08-01.json",
    "feeds_2021-06-30.json",
)
FEED_SCHEMA = "listings-feed-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"
NOTIFICATION_SCHEMA = "OrderChangeNotification.json"

requires_spec = pytest.mark.skipif(not SPECS_DIR.is_dir(), reason=SKIP_REASON)

FORMATS = jsonschema.FormatChecker(formats=())


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value.upper():
        raise ValueError(f"{value!r} is not an ISO 8601 date-time")
    datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


FORMATS.checks("date-time", raises=ValueError)(_date_time)


@functools.cache
def swagger(name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads((SPECS_DIR / name).read_text())
    _patch(name, spec)
    return spec


@functools.cache
def json_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SPECS_DIR / name).read_text())
    return schema


def _patch(name: str, spec: dict[str, Any]) -> None:
    """Test-side fixes of the loaded models (none needed for the operations used)."""


@dataclass(frozen=True)
class Operation:
    file: str
    method: str
    template: str
    pattern: re.Pattern[str]
    operation_id: str
    parameters: tuple[dict[str, Any], ...]
    responses: dict[str, Any]


@functools.cache
def operations() -> tuple[Operation, ...]:
    found = []
    for name in API_FILES:
        spec = swagger(name)
        for template, item in spec["paths"].items():
            shared = item.get("parameters") or []
            for method, op in item.items():
                if method == "parameters":
                    continue
                regex = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(template)) + "$"
                found.append(
                    Operation(
                        name,
                        method.upper(),
                        template,
                        re.compile(regex),
                        op["operationId"],
                        tuple([*shared, *(op.get("parameters") or [])]),
                        op["responses"],
                    )
                )
    return tuple(found)


def find_operation(method: str, path: str) -> Operation:
    for op in operations():
        if op.method == method.upper() and op.pattern.match(path):
            return op
    raise AssertionError(f"{method} {path}: no such operation in {', '.join(API_FILES)}")


def schema_errors(
    schema: dict[str, Any], instance: Any, *, definitions_of: str | None
) -> list[str]:
    """Messages of every place ``instance`` breaks ``schema`` (Draft 4 over a Swagger file's
    definitions when ``definitions_of`` names one, else the schema's own draft)."""
    if definitions_of is not None:
        root = {"definitions": swagger(definitions_of)["definitions"], "allOf": [schema]}
        validator: Any = jsonschema.Draft4Validator(root, format_checker=FORMATS)
    else:
        cls = jsonschema.validators.validator_for(schema)
        validator = cls(schema, format_checker=FORMATS)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in validator.iter_errors(instance)
    ]


def _scalar(param: dict[str, Any], value: str) -> tuple[Any, str | None]:
    kind = param.get("type", "string")
    try:
        if kind == "integer":
            return int(value), None
        if kind == "number":
            return float(value), None
        if kind == "boolean":
            if value not in ("true", "false"):
                raise ValueError(value)
            return value == "true", None
    except ValueError:
        return value, f"{param['name']}={value!r} is not a {kind}"
    return value, None


_SEPARATORS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}


def _parameter_errors(param: dict[str, Any], values: list[str]) -> list[str]:
    name = param["name"]
    problems: list[str] = []
    if param.get("type") == "array":
        fmt = param.get("collectionFormat", "csv")
        items = (
            values if fmt == "multi" else [v for raw in values for v in raw.split(_SEPARATORS[fmt])]
        )
        schema = {
            k: v for k, v in param.items() if k in ("items", "maxItems", "minItems", "uniqueItems")
        }
        cast = []
        for item in items:
            value, problem = (
                _scalar(param.get("items", {}), item)
                if param.get("items", {}).get("type") != "string"
                else (item, None)
            )
            cast.append(value)
            if problem:
                problems.append(problem)
        problems += [
            f"{name}: {e}"
            for e in schema_errors({"type": "array", **schema}, cast, definitions_of=None)
        ]
        return problems
    if len(values) > 1:
        problems.append(f"{name} given {len(values)} times")
    value, problem = _scalar(param, values[0])
    if problem:
        return [problem]
    schema = {
        k: v
        for k, v in param.items()
        if k
        in ("type", "enum", "format", "minimum", "maximum", "maxLength", "minLength", "pattern")
    }
    problems += [f"{name}: {e}" for e in schema_errors(schema, value, definitions_of=None)]
    return problems


def request_errors(ex: Any, *, token: bool = True) -> list[str]:
    """Where a request breaks the operation's model."""
    op = find_operation(ex.method, urlsplit(ex.path).path)
    problems: list[str] = []
    match = op.pattern.match(urlsplit(ex.path).path)
    assert match is not None
    path_values = [unquote(v) for v in match.groups()]
    names = re.findall(r"\{([^}]+)\}", op.template)
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(ex.query, keep_blank_values=True):
        query.setdefault(key, []).append(value)
    documented = {p["name"] for p in op.parameters if p["in"] == "query"}
    for extra in sorted(set(query) - documented):
        problems.append(f"undocumented query parameter {extra}")
    body_param = None
    for param in op.parameters:
        where = param["in"]
        if where == "path":
            value = path_values[names.index(param["name"])]
            problems += _parameter_errors(param, [value])
        elif where == "query":
            if param["name"] in query:
                problems += _parameter_errors(param, query[param["name"]])
            elif param.get("required"):
                problems.append(f"missing required query parameter {param['name']}")
        elif where == "body":
            body_param = param
        elif where == "header":
            if param.get("required") and param["name"].lower() not in ex.headers:
                problems.append(f"missing header {param['name']}")
    if body_param is not None:
        if not ex.body:
            if body_param.get("required"):
                problems.append("missing JSON body")
        else:
            content_type = ex.headers.get("content-type", "")
            if not content_type.startswith("application/json"):
                problems.append(f"body sent as {content_type!r}, the API consumes application/json")
            try:
                body = json.loads(ex.body)
            except ValueError:
                problems.append("body is not JSON")
            else:
                problems += [
                    f"body {e}"
                    for e in schema_errors(body_param["schema"], body, definitions_of=op.file)
                ]
    elif ex.body:
        problems.append("a body on an operation that takes none")
    if token and not ex.headers.get("x-amz-access-token"):
        problems.append("no x-amz-access-token header")
    return [f"{op.operation_id} request: {p}" for p in problems]


def response_errors(ex: Any) -> list[str]:
    """Where a response breaks the operation's model for its status."""
    op = find_operation(ex.method, urlsplit(ex.path).path)
    documented = op.responses.get(str(ex.status)) or op.responses.get("default")
    if documented is None:
        return [f"{op.operation_id}: status {ex.status} not documented ({sorted(op.responses)})"]
    schema = documented.get("schema")
    if schema is None:
        if ex.response_body:
            return [f"{op.operation_id} {ex.status}: a body where the model has none"]
        return []
    try:
        body = json.loads(ex.response_body)
    except ValueError:
        return [f"{op.operation_id} {ex.status}: body is not JSON"]
    return [
        f"{op.operation_id} {ex.status} response {e}"
        for e in schema_errors(schema, body, definitions_of=op.file)
    ]


def feed_document_errors(document: bytes) -> list[str]:
    try:
        feed = json.loads(document)
    except ValueError:
        return ["feed document is not JSON"]
    schema = json_schema(FEED_SCHEMA)
    return [f"feed document {e}" for e in schema_errors(schema, feed, definitions_of=None)]


def report_errors(document: bytes) -> list[str]:
    if document[:2] == b"\x1f\x8b":
        document = gzip.decompress(document)
    return [
        f"processing report {e}"
        for e in schema_errors(
            json_schema(REPORT_SCHEMA), json.loads(document), definitions_of=None
        )
    ]


def notification_errors(body: bytes) -> list[str]:
    return [
        f"notification {e}"
        for e in schema_errors(
            json_schema(NOTIFICATION_SCHEMA), json.loads(body), definitions_of=None
        )
    ]


def lwa_errors(ex: Any) -> list[str]:
    """Login with Amazon's refresh-token grant (form fields) and its token answer."""
    problems = []
    form = dict(parse_qsl(ex.body.decode()))
    if form.get("grant_type") != "refresh_token":
        problems.append("grant_type is not refresh_token")
    for name in ("refresh_token", "client_id", "client_secret"):
        if not form.get(name):
            problems.append(f"no {name}")
    if not ex.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        problems.append("the token request is not a form")
    if "x-amz-access-token" in ex.headers:
        problems.append("an access token sent to the token endpoint")
    if ex.status == 200:
        answer = json.loads(ex.response_body)
        if not isinstance(answer.get("access_token"), str) or not isinstance(
            answer.get("expires_in"), int
        ):
            problems.append("token answer without access_token/expires_in")
    return [f"LWA token: {p}" for p in problems]


def exchange_errors(ex: Any) -> list[str]:
    """Every contract problem of one exchange recorded by the fake."""
    path = urlsplit(ex.path).path
    if path == "/auth/o2/token":
        return lwa_errors(ex)
    if path.startswith("/s3/feed-documents/"):
        problems = []
        if "x-amz-access-token" in ex.headers:
            problems.append("an access token sent to a pre-signed document URL")
        if ex.method == "PUT" and ex.status < 300:
            problems += feed_document_errors(ex.body)
        if ex.method == "GET" and ex.status == 200:
            problems += report_errors(ex.response_body)
        return problems
    # a request the fake refused for its token may lack one; everything else must hold
    refused = ex.status == 403 and b"Unauthorized" in ex.response_body
    return request_errors(ex, token=not refused) + response_errors(ex)


def assert_exchanges_valid(exchanges: list[Any]) -> None:
    problems = []
    for ex in exchanges:
        problems += [f"{ex.method} {ex.path}: {p}" for p in exchange_errors(ex)]
    assert not problems, "\n".join(problems[:40])
