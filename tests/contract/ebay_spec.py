"""eBay's published OpenAPI 3 specs (../shared/specs/ebay/*.json), loaded once, as validators.

``validate_exchange`` checks one HTTP request and the response given to it against the spec of
its API (chosen by path: /sell/inventory/v1, /sell/fulfillment/v1, /commerce/notification/v1)
with openapi-core. Patches, applied to the loaded objects in test code only (the files are
never edited):

- Servers are ``https://api.ebay.com{basePath}`` with a ``basePath`` variable holding slashes
  (``/sell/inventory/v1``), which openapi-core's server templates cannot match: the default is
  substituted.
- Security is OAuth 2 (``api_auth``), for which openapi-core has no provider (it only warns):
  validated as HTTP Bearer, the way eBay's user access tokens travel.
- Error responses carry no body schema, and 401 and 429 are not declared at all, although
  every eBay REST API answers them with its error container ``{"errors": [Error]}`` (eBay's
  "Using eBay RESTful APIs: error handling"): 400, 401, 403, 404, 409, 429 and 500 are given
  that container, with the spec's own ``Error`` schema.
- bulkUpdatePriceQuantity's 207 (Multi-Status, "some updates failed") has no body schema: it
  is the same ``BulkPriceQuantityResponse`` as its 200.

The OAuth token endpoint (/identity/v1/oauth2/token) is in none of the given specs;
``check_token_exchange`` checks those exchanges against eBay's documented grant instead.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS_DIR = REPO_ROOT / ".." / "shared" / "specs" / "ebay"
SKIP_REASON = "../shared/specs absent (a fresh clone): contract tests run in CI"
HOST = "https://api.ebay.com"
TOKEN_PATH = "/identity/v1/oauth2/token"

SPECS = {
    "/sell/inventory/v1": "sell_inventory_v1_oas3.json",
    "/sell/fulfillment/v1": "sell_fulfillment_v1_oas3.json",
    "/commerce/notification/v1": "commerce_notification_v1_oas3.json",
}
ERROR_STATUSES = ("400", "401", "403", "404", "409", "429", "500")

specs_present = all((SPECS_DIR / name).is_file() for name in SPECS.values())
requires_spec = pytest.mark.skipif(not specs_present, reason=SKIP_REASON)


@functools.cache
def raw_spec(base_path: str) -> dict[str, Any]:
    """One spec file, parsed and patched (once per session)."""
    spec: dict[str, Any] = json.loads((SPECS_DIR / SPECS[base_path]).read_text())
    spec["servers"] = [{"url": HOST + base_path}]
    spec["components"]["securitySchemes"]["api_auth"] = {"type": "http", "scheme": "bearer"}
    schemas = spec["components"]["schemas"]
    container = {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}
        },
    }
    schemas["_ErrorContainer"] = container
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "delete") or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for status in ERROR_STATUSES:
                response = responses.setdefault(status, {"description": "error"})
                response.setdefault(
                    "content",
                    {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/_ErrorContainer"}
                        }
                    },
                )
            if operation.get("operationId") == "bulkUpdatePriceQuantity":
                responses["207"]["content"] = responses["200"]["content"]
    return spec


@functools.cache
def openapi(base_path: str) -> Any:
    """The openapi-core OpenAPI object of one API (spec validated once, on load)."""
    from openapi_core import OpenAPI

    return OpenAPI.from_dict(raw_spec(base_path))


def base_path_of(path: str) -> str:
    for base in SPECS:
        if path.startswith(base + "/") or path == base:
            return base
    raise AssertionError(f"{path} belongs to none of the eBay specs")


def _request(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes) -> Any:
    from openapi_core.testing import MockRequest

    lowered = {k.lower(): v for k, v in headers.items()}
    # openapi-core reads header names as the spec spells them (Content-Type, Authorization)
    named = {"-".join(part.capitalize() for part in k.split("-")): v for k, v in lowered.items()}
    content_type = lowered.get("content-type", "application/json").split(";")[0].strip()
    return MockRequest(
        HOST,
        method.lower(),
        path,
        args=dict(parse_qsl(query, keep_blank_values=True)),
        headers=named,
        data=body or None,
        content_type=content_type,
    )


def validate_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
) -> None:
    """Raise if the spec of its API would not accept this request (path, query, auth, body)."""
    openapi(base_path_of(path)).validate_request(_request(method, path, query, headers, body))


def validate_exchange(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    status: int,
    response_body: bytes,
    response_headers: Mapping[str, str] | None = None,
) -> None:
    """Raise if the request, or the response given to it, does not match the spec."""
    from openapi_core.testing import MockResponse

    api = openapi(base_path_of(path))
    request = _request(method, path, query, headers, body)
    api.validate_request(request)
    response_headers = dict(response_headers or {})
    response = MockResponse(
        response_body,
        status_code=status,
        content_type=response_headers.get("content-type", "application/json").split(";")[0],
        headers={
            "-".join(p.capitalize() for p in k.split("-")): v for k, v in response_headers.items()
        },
    )
    api.validate_response(request, response)


def check_token_exchange(exchange: Any) -> None:
    """A token grant as eBay documents it ("Refreshing a User access token", "Client credentials
    grant flow"): a form POST with HTTP Basic client credentials, answered with access_token and
    expires_in."""
    headers = {k.lower(): v for k, v in exchange.headers.items()}
    assert exchange.method == "POST" and exchange.path == TOKEN_PATH
    assert headers["content-type"].startswith("application/x-www-form-urlencoded")
    scheme, _, encoded = headers["authorization"].partition(" ")
    assert scheme == "Basic" and ":" in base64.b64decode(encoded).decode()
    form = dict(parse_qsl(exchange.body.decode()))
    scopes = form["scope"].split()
    if form["grant_type"] == "client_credentials":  # an application token (getPublicKey)
        assert scopes == ["https://api.ebay.com/oauth/api_scope"]
    else:
        assert form["grant_type"] == "refresh_token" and form["refresh_token"]
        for scope in ("sell.inventory", "sell.fulfillment"):
            assert f"https://api.ebay.com/oauth/api_scope/{scope}" in scopes
    answer = json.loads(exchange.response_body)
    if exchange.status == 200:
        assert answer["access_token"] and int(answer["expires_in"]) > 0
    else:
        assert "error" in answer


def validate_exchanges(exchanges: Iterable[Any]) -> int:
    """Validate every recorded exchange of the fake (requests received, answers given);
    returns how many API exchanges were checked against a spec."""
    checked = 0
    for exchange in exchanges:
        if exchange.path == TOKEN_PATH:
            check_token_exchange(exchange)
            continue
        validate_exchange(
            exchange.method,
            exchange.path,
            exchange.query,
            exchange.headers,
            exchange.body,
            status=exchange.status,
            response_body=exchange.response_body,
            response_headers=exchange.response_headers,
        )
        checked += 1
    return checked
