"""Walmart Marketplace's published OpenAPI files (../shared/specs/walmart/*.yml), each loaded
once, as validators for what the adapter sends and what the fake answers.

The files are Walmart developer-portal exports with known defects, patched here on the loaded
objects (the files are never edited):
- ``info.version`` is missing everywhere: one is injected.
- Every file but the authentication one lists ``security: basicScheme`` without defining the
  scheme; calls authenticate with the ``WM_SEC.ACCESS_TOKEN`` header each operation declares,
  so the global requirement is dropped. In the authentication file the ``http`` scheme carries
  ``name``/``in`` (apiKey fields), the token answer has both ``example`` and ``examples``, and
  ``scopes`` has a string default for an object: those are removed.
- The prices file's repricer paths lack their ``strategyCollectionId`` path parameter.
- Only 200 answers are documented; Walmart answers errors (401, 404, 400, 429, 500) with
  ``{"errors": [...]}`` whose items follow the error schema the same files use inside 200
  answers (e.g. getAllOrders' ``list.errors``): a ``default`` answer with that envelope is added.
- getAnOrder's 200 schema is the bare order with ``orderDate`` as a date-time string, while its
  example (and every other order answer) wraps it in ``order`` with ``orderDate`` in epoch
  milliseconds: the schema is replaced by ``{order: <the order schema of getAllOrders>}``.
- The feed files (multipart ``file``) and the webhook bodies have no schema in the files: feed
  documents are checked against schemas built from the files' own pieces (the updatePrice
  pricing schema, the MultiNode feed example), webhook bodies against the event layout of
  Walmart's event documentation with an event type the notifications file lists for ORDER.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tools.fake_marketplaces.common import Exchange

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / ".." / "shared" / "specs" / "walmart"
SKIP_REASON = "../shared/specs absent (a fresh clone): contract tests run in CI"
FILES = {
    "auth": "walmart-marketplace-authentication-openapi-original.yml",
    "feeds": "walmart-marketplace-feeds-openapi-original.yml",
    "inventory": "walmart-marketplace-inventory-openapi-original.yml",
    "notifications": "walmart-marketplace-notifications-openapi-original.yml",
    "orders": "walmart-marketplace-orders-openapi-original.yml",
    "prices": "walmart-marketplace-prices-openapi-original.yml",
}
SERVER = "https://marketplace.walmartapis.com"

requires_specs = pytest.mark.skipif(not (SPECS_DIR / FILES["orders"]).is_file(), reason=SKIP_REASON)


@functools.cache
def loaded(name: str) -> dict[str, Any]:
    """One spec file as parsed, before any patch (parsed once per session)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (SPECS_DIR / FILES[name]).open("rb") as fh:
        spec: dict[str, Any] = yaml.load(fh, Loader=loader)
    return spec


def _operations(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        op
        for item in spec["paths"].values()
        for method, op in item.items()
        if method in ("get", "put", "post", "delete", "patch") and isinstance(op, dict)
    ]


@functools.cache
def error_item_schema() -> dict[str, Any]:
    """The error item schema the orders file uses inside getAllOrders' answer."""
    answer = loaded("orders")["paths"]["/v3/orders"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    return copy.deepcopy(schema["properties"]["list"]["properties"]["errors"]["items"])


@functools.cache
def order_schema() -> dict[str, Any]:
    """The purchase order schema of getAllOrders (and of the order actions' answers)."""
    answer = loaded("orders")["paths"]["/v3/orders"]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    elements = schema["properties"]["list"]["properties"]["elements"]
    return copy.deepcopy(elements["properties"]["order"]["items"])


@functools.cache
def spec(name: str) -> dict[str, Any]:
    """One spec file with the patches of this module's docstring."""
    patched = copy.deepcopy(loaded(name))
    patched["info"].setdefault("version", "1.0.0")
    errors = {
        "description": "Walmart's error envelope (not documented in the file)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["errors"],
                    "properties": {"errors": {"type": "array", "items": error_item_schema()}},
                }
            }
        },
    }
    if name == "auth":
        scheme = patched["components"]["securitySchemes"]["basicScheme"]
        scheme.pop("name", None)
        scheme.pop("in", None)
        token = patched["paths"]["/v3/token"]["post"]["responses"]["200"]["content"]
        token["application/json"].pop("example", None)
        patched["paths"]["/v3/token/detail"]["get"]["security"] = []
        _drop_string_defaults_of_objects(patched)
    else:
        patched.pop("security", None)
    if name == "prices":
        for method, op in patched["paths"]["/v3/repricer/strategy/{strategyCollectionId}"].items():
            if isinstance(op, dict) and not any(
                p.get("name") == "strategyCollectionId" for p in op.get("parameters", [])
            ):
                op.setdefault("parameters", []).append(
                    {
                        "name": "strategyCollectionId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                )
                del method
    if name == "orders":
        get = patched["paths"]["/v3/orders/{purchaseOrderId}"]["get"]
        get["responses"]["200"]["content"]["application/json"]["schema"] = {
            "type": "object",
            "properties": {"order": order_schema()},
        }
    for op in _operations(patched):
        op["responses"].setdefault("default", copy.deepcopy(errors))
    return patched


def _drop_string_defaults_of_objects(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "object" and isinstance(node.get("default"), str):
            del node["default"]
        for value in node.values():
            _drop_string_defaults_of_objects(value)
    elif isinstance(node, list):
        for value in node:
            _drop_string_defaults_of_objects(value)


@functools.cache
def openapi(name: str) -> Any:
    """The openapi-core OpenAPI object over one patched file (built once per session)."""
    from openapi_core import Config, OpenAPI

    return OpenAPI.from_dict(spec(name), config=Config(spec_validator_cls=None))


def spec_for(method: str, path: str, query: Mapping[str, str]) -> str:
    """Which Walmart file describes a call."""
    if path == "/v3/token":
        return "auth"
    if path.startswith("/v3/inventories"):
        return "inventory"
    if path == "/v3/price":
        return "prices"
    if path == "/v3/feeds" and method.upper() == "POST":
        return "inventory" if query.get("feedType") in ("inventory", "MP_INVENTORY") else "prices"
    if path.startswith("/v3/feeds"):
        return "feeds"
    if path.startswith("/v3/orders"):
        return "orders"
    raise AssertionError(f"{method} {path} is in none of the Walmart files used here")


def _mock_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> Any:
    from openapi_core.testing import MockRequest

    lowered = {k.lower(): v for k, v in headers.items()}
    ctype = lowered.get("content-type", "application/json")
    return MockRequest(
        SERVER,
        method.lower(),
        path,
        args=dict(parse_qsl(query, keep_blank_values=True)),
        headers=dict(headers),
        data=body,
        content_type=ctype,
    )


def validate_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> None:
    """Raise unless the file describing the call accepts the request."""
    name = spec_for(method, path, dict(parse_qsl(query)))
    openapi(name).validate_request(_mock_request(method, path, query, headers, body))


def validate_exchange(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    status: int,
    response_body: bytes,
    content_type: str = "application/json",
) -> None:
    """Raise unless the request and the answer given to it match the Walmart file."""
    from openapi_core.testing import MockResponse

    name = spec_for(method, path, dict(parse_qsl(query)))
    request = _mock_request(method, path, query, headers, body)
    openapi(name).validate_request(request)
    response = MockResponse(response_body, status_code=status, content_type=content_type)
    openapi(name).validate_response(request, response)


# -- what the files describe only by example ----------------------------------------------


def validate_recorded(exchange: Exchange) -> None:
    """``validate_exchange`` of an exchange the fake recorded."""
    validate_exchange(
        exchange.method,
        exchange.path,
        exchange.query,
        exchange.headers,
        exchange.body,
        status=exchange.status,
        response_body=exchange.response_body,
        content_type=exchange.content_type,
    )


def multipart_file(headers: Mapping[str, str], body: bytes) -> bytes:
    """The ``file`` part of a multipart/form-data feed upload."""
    lowered = {k.lower(): v for k, v in headers.items()}
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + lowered["content-type"].encode() + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload
    raise AssertionError("no file part in the feed upload")


def _schema_from_example(example: Any) -> dict[str, Any]:
    """A JSON Schema accepting documents shaped like ``example``: the same keys (those every
    example item has are required, no others allowed) and value types."""
    if isinstance(example, dict):
        return {
            "type": "object",
            "required": sorted(example),
            "additionalProperties": False,
            "properties": {k: _schema_from_example(v) for k, v in example.items()},
        }
    if isinstance(example, list):
        merged: dict[str, Any] = {}
        common: set[str] | None = None
        for item in example:
            if isinstance(item, dict):
                common = set(item) if common is None else common & set(item)
                merged.update(item)
        if merged:
            schema = _schema_from_example(merged)
            schema["required"] = sorted(common or ())
            return {"type": "array", "items": schema}
        return {"type": "array", "items": _schema_from_example(example[0]) if example else {}}
    if isinstance(example, bool):
        return {"type": "boolean"}
    if isinstance(example, int | float):
        return {"type": "number"}
    return {"type": "string"}


@functools.cache
def feed_schema(feed_type: str) -> dict[str, Any]:
    """The schema a feed document of ``feed_type`` is checked against."""
    if feed_type == "MP_INVENTORY":
        upload = loaded("inventory")["paths"]["/v3/feeds"]["post"]["requestBody"]
        example = upload["content"]["multipart/form-data"]["examples"]
        return _schema_from_example(example["MultiNode_Bulk_Inventory_Update_Request"]["value"])
    if feed_type == "price":
        update = loaded("prices")["paths"]["/v3/price"]["put"]["requestBody"]
        item = copy.deepcopy(update["content"]["application/json"]["schema"])
        return {
            "type": "object",
            "required": ["PriceHeader", "Price"],
            "properties": {
                "PriceHeader": {
                    "type": "object",
                    "required": ["version"],
                    "properties": {"version": {"type": "string"}},
                },
                "Price": {"type": "array", "minItems": 1, "items": item},
            },
        }
    raise AssertionError(f"no schema for feed type {feed_type}")


def validate_feed_document(feed_type: str, document: bytes) -> None:
    from openapi_schema_validator import OAS30Validator

    OAS30Validator(feed_schema(feed_type)).validate(json.loads(document))


@functools.cache
def order_event_types() -> frozenset[str]:
    """Event types the notifications file lists with resourceName ORDER."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("resourceName") == "ORDER" and isinstance(node.get("eventType"), str):
                found.add(node["eventType"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(loaded("notifications"))
    return frozenset(found)


# The order event layout of Walmart's event documentation (PO created / PO line auto-cancelled).
NOTIFICATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["source", "payload"],
    "properties": {
        "source": {
            "type": "object",
            "required": ["eventType", "eventTime", "eventId"],
            "properties": {
                "eventType": {"type": "string"},
                "eventTime": {"type": "string"},
                "eventId": {"type": "string"},
            },
        },
        "payload": {
            "type": "object",
            "required": ["purchaseOrderId", "customerOrderId", "orderDate", "orderLines"],
            "properties": {
                "partnerId": {"type": "string"},
                "purchaseOrderId": {"type": "string"},
                "customerOrderId": {"type": "string"},
                "orderDate": {"type": "string"},
                "estimatedDeliveryDate": {"type": "string"},
                "estimatedShipDate": {"type": "string"},
                "orderLines": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["lineNumber", "sku"],
                        "properties": {
                            "lineNumber": {"type": "string"},
                            "sku": {"type": "string"},
                            "productName": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


def validate_notification(body: bytes) -> str:
    """Raise unless ``body`` is an order event; its event type."""
    from jsonschema import Draft7Validator

    event = json.loads(body)
    Draft7Validator(NOTIFICATION_SCHEMA).validate(event)
    event_type = str(event["source"]["eventType"])
    assert event_type in order_event_types(), f"{event_type} is not an ORDER event of the file"
    return event_type
