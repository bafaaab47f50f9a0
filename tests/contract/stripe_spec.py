"""Stripe's published OpenAPI spec (../shared/specs/stripe/spec3.yaml), loaded once, as a validator.

`validate_exchange` checks one HTTP request and its response against the spec with openapi-core.
Known mismatches between the spec and the OAS 3.0 tooling are patched here, in test code only
(the spec file is never edited):
- `nullable: true` next to `anyOf`/`enum`: Stripe means "or null", but OAS 3.0 validators only
  honour `nullable` beside `type`; we add an explicit null alternative.
- Request bodies are `application/x-www-form-urlencoded` with bracketed deep objects
  (`metadata[k]=v`, `payment_method_types[0]=alipay`), which openapi-core cannot deserialise;
  we decode the form ourselves (cast by the schema) and validate it as a JSON body of the same
  schema.
- Query parameters in `deepObject` style (`expand[0]=…`) break openapi-core's deserialiser even
  when absent; they are dropped from the patched spec (their values go unchecked).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / ".." / "shared" / "specs" / "stripe"
SPEC_PATH = SPECS_DIR / "spec3.yaml"
FIXTURES_PATH = SPECS_DIR / "fixtures3.json"
SKIP_REASON = "../shared/specs absent (a fresh clone): contract tests run in CI"
FORM = "application/x-www-form-urlencoded"

requires_spec = pytest.mark.skipif(not SPEC_PATH.is_file(), reason=SKIP_REASON)


@functools.cache
def raw_spec() -> dict[str, Any]:
    """The parsed spec3.yaml with the test-side patches applied (parsed once per session)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with SPEC_PATH.open("rb") as fh:
        spec = yaml.load(fh, Loader=loader)
    _patch_nullable(spec)
    _mirror_form_bodies_as_json(spec)
    _drop_deep_object_query_parameters(spec)
    return spec


@functools.cache
def fixtures() -> dict[str, Any]:
    """Stripe's example objects per resource (fixtures3.json)."""
    return json.loads(FIXTURES_PATH.read_text())["resources"]


def fixture(resource: str) -> dict[str, Any]:
    """A deep copy of one example object, e.g. fixture("payment_intent")."""
    return copy.deepcopy(fixtures()[resource])


@functools.cache
def openapi() -> Any:
    """The openapi-core OpenAPI object over the patched spec (built once per session)."""
    from openapi_core import Config, OpenAPI

    # spec3.yaml passes openapi-spec-validator (see ../shared/specs/README.md); skip re-checking 4 MiB.
    return OpenAPI.from_dict(raw_spec(), config=Config(spec_validator_cls=None))


def _patch_nullable(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("nullable") is True:
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
            for key in ("anyOf", "oneOf"):
                if key in node and "type" not in node:
                    node[key] = [*node[key], {"type": "object", "nullable": True, "enum": [None]}]
        for value in node.values():
            _patch_nullable(value)
    elif isinstance(node, list):
        for value in node:
            _patch_nullable(value)


def _mirror_form_bodies_as_json(spec: dict[str, Any]) -> None:
    for item in spec["paths"].values():
        for operation in item.values():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if isinstance(operation, dict)
                else {}
            )
            if FORM in content:
                content["application/json"] = {"schema": content[FORM]["schema"]}


def _drop_deep_object_query_parameters(spec: dict[str, Any]) -> None:
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    p
                    for p in operation["parameters"]
                    if not (p.get("in") == "query" and p.get("style") == "deepObject")
                ]


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        node: Any = raw_spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def decode_form(body: bytes) -> dict[str, Any]:
    """Stripe's bracketed form encoding to a nested value (`a[b][0]=x` -> {"a": {"b": {"0": "x"}}})."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        head, *rest = re.findall(r"[^\[\]]+|(?<=\[)(?=\])", key) or [key]
        path = [head, *rest]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return root


def cast(value: Any, schema: Mapping[str, Any]) -> Any:
    """Cast decoded form strings to the types the (resolved) schema asks for."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            for option in schema[key]:
                option = _resolve(option)
                casted = cast(value, option)
                if _fits(casted, option):
                    return casted
            return value
    kind = schema.get("type")
    if kind == "array" and isinstance(value, dict):
        items = [value[k] for k in sorted(value, key=lambda k: int(k) if k.isdigit() else 0)]
        return [cast(v, schema.get("items", {})) for v in items]
    if kind == "object" and isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else {}
        return {k: cast(v, props.get(k, extra)) for k, v in value.items()}
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
    return value


def _fits(value: Any, schema: Mapping[str, Any]) -> bool:
    from openapi_schema_validator import OAS30Validator

    return bool(OAS30Validator(dict(schema)).is_valid(value))


def _request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> Any:
    from openapi_core.testing import MockRequest

    parts = urlsplit(url)
    host = f"{parts.scheme}://{parts.netloc}"
    lowered = {k.lower(): v for k, v in headers.items()}
    data, ctype = b"", lowered.get("content-type", "application/json").split(";")[0]
    if body and ctype == FORM:
        operation = _operation(method, parts.path)
        schema = operation["requestBody"]["content"][FORM]["schema"]
        data, ctype = json.dumps(cast(decode_form(body), schema)).encode(), "application/json"
    elif body:
        data = body
    args = {k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if "[" not in k}
    # Stripe's servers entry is https://api.stripe.com/: validate as if the request went there.
    del host
    return MockRequest(
        "https://api.stripe.com",
        method.lower(),
        parts.path,
        args=args,
        headers=dict(headers),
        data=data,
        content_type=ctype,
    )


def _operation(method: str, path: str) -> dict[str, Any]:
    for template, item in raw_spec()["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in item:
            return item[method.lower()]
    raise AssertionError(f"{method} {path} is not an operation of the Stripe spec")


def validate_request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> None:
    """Raise if the request is not one the Stripe spec accepts (path, auth, headers, body)."""
    openapi().validate_request(_request(method, url, headers, body))


def validate_exchange(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    status: int,
    response_body: bytes,
) -> None:
    """Raise if the request, or the response given to it, does not match the Stripe spec."""
    from openapi_core.testing import MockResponse

    request = _request(method, url, headers, body)
    openapi().validate_request(request)
    response = MockResponse(response_body, status_code=status, content_type="application/json")
    openapi().validate_response(request, response)
