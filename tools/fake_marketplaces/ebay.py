"""A fake eBay (Sell Inventory and Fulfillment APIs, and the OAuth token endpoint) that keeps
state and answers in eBay's documented JSON, for tests, benchmarks and the demo.

API routes (the paths of api.ebay.com):
- ``POST /identity/v1/oauth2/token`` (``grant_type=refresh_token``, HTTP Basic client
  credentials): a user access token living ``token_lifetime`` seconds.
- ``GET /sell/inventory/v1/offer?sku=`` (getOffers), ``POST
  /sell/inventory/v1/bulk_update_price_quantity`` (bulkUpdatePriceQuantity, up to 25 requests).
- ``GET /sell/fulfillment/v1/order`` (getOrders: ``filter`` lastmodifieddate / creationdate /
  orderfulfillmentstatus, ``limit`` up to 200, ``offset``, ``orderIds``), ``GET .../order/{id}``
  (getOrder), ``POST .../order/{id}/shipping_fulfillment`` (createShippingFulfillment), ``POST
  .../order/{id}/issue_refund`` (issueRefund).

Control routes under ``/_fake/`` (not eBay's): see the project's fake marketplace contract.
Orders notify ``notify_url`` with eBay's notification envelope (``metadata.topic`` and
``notification.data.orderId``): topic ``ORDER_CONFIRMATION`` when placed and
``ORDER_CANCELLATION`` (the fake's own name: the given Notification API spec lists no
cancellation topic) when the buyer cancels. Notifications carry ``X-EBAY-SIGNATURE`` (ECDSA
P-256 over the body's SHA1, key served by ``GET /commerce/notification/v1/public_key/{kid}``,
getPublicKey, with an application token from the ``client_credentials`` grant).

    python -m tools.fake_marketplaces.ebay --port 8713
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tools.fake_marketplaces.common import Exchange, FakeMarketplace, control_routes

INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
NOTIFICATION = "/commerce/notification/v1"
TOKEN_PATH = "/identity/v1/oauth2/token"
BULK_MAX = 25
ORDERS_MAX = 200


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _decimal(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 100)
    return f"{sign}{whole}.{part:02d}"


def _minor(value: str) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"value": _decimal(minor), "currency": currency}


def _error(
    status: int,
    error_id: int | None,
    message: str,
    *,
    domain: str,
    category: str = "REQUEST",
    headers: dict[str, str] | None = None,
) -> Response:
    error: dict[str, Any] = {"domain": domain, "category": category, "message": message}
    if error_id is not None:
        error["errorId"] = error_id
    return _json({"errors": [error]}, status, headers=headers)


def _json(body: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body).encode(), status, headers=headers, media_type="application/json"
    )


class FakeEbayState(FakeMarketplace):
    """Everything the fake eBay knows; plain Python, inspected and driven by tests."""

    SPARED = frozenset({"token"})  # a failure for any operation leaves token requests alone
    SETTINGS: ClassVar[dict[str, Callable[[Any], Any]]] = {"timeout_delay": float}

    def __init__(
        self,
        *,
        token_lifetime: int = 7200,
        timeout_delay: float = 11.0,  # past the adapters' default 10 s timeout
        marketplace_id: str = "EBAY_FR",
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
    ) -> None:
        super().__init__(token_lifetime=token_lifetime)
        self.listings: dict[str, dict[str, Any]] = {}  # sku -> quantity, price, currency
        self.offers: dict[str, dict[str, Any]] = {}  # offerId -> sku, listingId, sold
        self.offer_of_sku: dict[str, str] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # eBay Order JSON by orderId
        self.fulfillments: dict[str, list[dict[str, Any]]] = {}  # by orderId
        self.notifications: list[dict[str, Any]] = []  # every notification body sent
        self.timeout_delay = timeout_delay
        self.marketplace_id = marketplace_id
        self.seller_id = "fake-seller"
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self._ids = itertools.count(1)
        # the notification signing key (ECDSA P-256), served by getPublicKey under its kid
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.signing_kid = secrets.token_hex(16)

    # -- test controls ----------------------------------------------------------------------

    def seed(self, listings: dict[str, dict[str, Any]]) -> None:
        """Inventory items with a published fixed-price offer each."""
        for sku, values in listings.items():
            self.listings[sku] = {
                "quantity": int(values.get("quantity", 0)),
                "price": int(values.get("price", 0)),
                "currency": str(values.get("currency", "EUR")),
            }
            if sku not in self.offer_of_sku:
                offer_id = str(5_000_000_000 + next(self._ids))
                self.offers[offer_id] = {
                    "sku": sku,
                    "listingId": str(110_000_000_000 + next(self._ids)),
                    "sold": 0,
                }
                self.offer_of_sku[sku] = offer_id

    def _new_id(self) -> int:
        return next(self._ids)

    # -- views ------------------------------------------------------------------------------

    def offer_json(self, offer_id: str) -> dict[str, Any]:
        offer = self.offers[offer_id]
        listing = self.listings[offer["sku"]]
        return {
            "offerId": offer_id,
            "sku": offer["sku"],
            "marketplaceId": self.marketplace_id,
            "format": "FIXED_PRICE",
            "availableQuantity": listing["quantity"],
            "pricingSummary": {"price": _money(listing["price"], listing["currency"])},
            "listingDuration": "GTC",
            "categoryId": "261186",
            "merchantLocationKey": "warehouse-1",
            "status": "PUBLISHED",
            "listing": {
                "listingId": offer["listingId"],
                "listingStatus": "ACTIVE",
                "soldQuantity": offer["sold"],
            },
        }

    def order_summary(self, order_id: str) -> dict[str, Any] | None:
        order = self.orders.get(order_id)
        if order is None:
            return None
        cancelled = order["cancelStatus"]["cancelState"] == "CANCELED"
        shipped = self._shipped(order_id)
        return {
            "status": "CANCELED" if cancelled else order["orderFulfillmentStatus"],
            "paymentStatus": order["orderPaymentStatus"],
            "shipments": [
                {
                    "carrier": f["shippingCarrierCode"],
                    "tracking": f["shipmentTrackingNumber"],
                    "lines": [
                        {"lineId": line["lineItemId"], "quantity": line["quantity"]}
                        for line in f["lineItems"]
                    ],
                }
                for f in self.fulfillments.get(order_id, [])
            ],
            "cancellations": [
                {
                    "lineId": item["lineItemId"],
                    "quantity": item["quantity"] - shipped.get(item["lineItemId"], 0),
                }
                for item in order["lineItems"]
                if cancelled and item["quantity"] > shipped.get(item["lineItemId"], 0)
            ],
            "refunds": [
                {"lineId": item["lineItemId"], "amount": _minor(refund["amount"]["value"])}
                for item in order["lineItems"]
                for refund in item["refunds"]
            ],
            "acknowledged": False,  # eBay has no acknowledgement
        }

    def _shipped(self, order_id: str) -> dict[str, int]:
        shipped: dict[str, int] = {}
        for fulfillment in self.fulfillments.get(order_id, []):
            for line in fulfillment["lineItems"]:
                shipped[line["lineItemId"]] = shipped.get(line["lineItemId"], 0) + int(
                    line["quantity"]
                )
        return shipped

    # -- orders placed and cancelled by buyers ----------------------------------------------

    def place_order(
        self,
        lines: list[dict[str, Any]],
        buyer: dict[str, Any] | None = None,
        order_id: str | None = None,
        *,
        shipping: int = 0,
    ) -> dict[str, Any]:
        """A paid order, ready to ship (NOT_STARTED); lowers the listings' quantities."""
        buyer = buyer or {}
        if not lines:
            raise ValueError("an order needs lines")
        for line in lines:
            listing = self.listings.get(line["sku"])
            if listing is None:
                raise ValueError(f"unknown SKU {line['sku']}")
            if int(line["quantity"]) <= 0 or listing["quantity"] < int(line["quantity"]):
                raise ValueError(f"not enough quantity for {line['sku']}")
        order_id = order_id or (
            f"{secrets.randbelow(90) + 10:02d}-{secrets.randbelow(90000) + 10000:05d}-"
            f"{secrets.randbelow(90000) + 10000:05d}"
        )
        if order_id in self.orders:
            raise ValueError(f"order {order_id} exists")
        now = _now()
        currency = self.listings[lines[0]["sku"]]["currency"]
        items = []
        subtotal = 0
        for line in lines:
            sku, quantity = line["sku"], int(line["quantity"])
            listing = self.listings[sku]
            listing["quantity"] -= quantity
            offer = self.offers[self.offer_of_sku[sku]]
            offer["sold"] += quantity
            cost = listing["price"] * quantity
            subtotal += cost
            items.append(
                {
                    "lineItemId": str(10_000_000_000_000 + self._new_id()),
                    "legacyItemId": offer["listingId"],
                    "sku": sku,
                    "title": f"Item {sku}",
                    "quantity": quantity,
                    "lineItemCost": _money(cost, currency),
                    "total": _money(cost, currency),
                    "deliveryCost": {"shippingCost": _money(0, currency)},
                    "appliedPromotions": [],
                    "taxes": [],
                    "refunds": [],
                    "lineItemFulfillmentStatus": "NOT_STARTED",
                    "soldFormat": "FIXED_PRICE",
                    "listingMarketplaceId": self.marketplace_id,
                    "purchaseMarketplaceId": self.marketplace_id,
                    "lineItemFulfillmentInstructions": {
                        "shipByDate": _iso(now + timedelta(days=2)),
                        "minEstimatedDeliveryDate": _iso(now + timedelta(days=3)),
                        "maxEstimatedDeliveryDate": _iso(now + timedelta(days=6)),
                        "guaranteedDelivery": False,
                    },
                }
            )
        total = subtotal + shipping
        name = buyer.get("name") or "Fake Buyer"
        contact: dict[str, Any] = {"fullName": name}
        if buyer.get("email"):
            contact["email"] = buyer["email"]
        if buyer.get("phone"):
            contact["primaryPhone"] = {"phoneNumber": buyer["phone"]}
        address = buyer.get("address") or {
            "addressLine1": "1 rue de la Paix",
            "city": "Paris",
            "postalCode": "75002",
            "countryCode": "FR",
        }
        order = {
            "orderId": order_id,
            "creationDate": _iso(now),
            "lastModifiedDate": _iso(now),
            "orderFulfillmentStatus": "NOT_STARTED",
            "orderPaymentStatus": "PAID",
            "sellerId": self.seller_id,
            "buyer": {
                "username": (buyer.get("email") or "buyer").split("@")[0],
                "buyerRegistrationAddress": dict(contact),
            },
            "pricingSummary": {
                "priceSubtotal": _money(subtotal, currency),
                "deliveryCost": _money(shipping, currency),
                "total": _money(total, currency),
            },
            "cancelStatus": {"cancelState": "NONE_REQUESTED", "cancelRequests": []},
            "paymentSummary": {
                "payments": [
                    {
                        "paymentMethod": "EBAY",
                        "paymentStatus": "PAID",
                        "paymentDate": _iso(now),
                        "amount": _money(total, currency),
                    }
                ],
                "refunds": [],
                "totalDueSeller": _money(total, currency),
            },
            "fulfillmentStartInstructions": [
                {
                    "fulfillmentInstructionsType": "SHIP_TO",
                    "ebaySupportedFulfillment": False,
                    "minEstimatedDeliveryDate": _iso(now + timedelta(days=3)),
                    "maxEstimatedDeliveryDate": _iso(now + timedelta(days=6)),
                    "shippingStep": {
                        "shippingCarrierCode": "ColiPoste",
                        "shippingServiceCode": "FR_ColiposteColissimo",
                        "shipTo": {**contact, "contactAddress": address},
                    },
                }
            ],
            "fulfillmentHrefs": [],
            "lineItems": items,
            "salesRecordReference": str(self._new_id()),
        }
        self.orders[order_id] = order
        return order

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """The buyer cancels (eBay grants it): units not shipped go back to the listings."""
        order = self.orders[order_id]
        if order["cancelStatus"]["cancelState"] == "CANCELED":
            return order
        now = _iso(_now())
        shipped = self._shipped(order_id)
        for item in order["lineItems"]:
            back = item["quantity"] - shipped.get(item["lineItemId"], 0)
            if back > 0 and item["sku"] in self.listings:
                self.listings[item["sku"]]["quantity"] += back
        order["cancelStatus"] = {
            "cancelState": "CANCELED",
            "cancelledDate": now,
            "cancelRequests": [
                {
                    "cancelRequestId": str(self._new_id()),
                    "cancelInitiator": "BUYER",
                    "cancelReason": "BUYER_ASKED_CANCEL",
                    "cancelRequestState": "COMPLETED",
                    "cancelRequestedDate": now,
                    "cancelCompletedDate": now,
                }
            ],
        }
        order["lastModifiedDate"] = now
        return order

    def notification(self, topic: str, order: dict[str, Any]) -> dict[str, Any]:
        now = _iso(_now())
        return {
            "metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
            "notification": {
                "notificationId": f"{secrets.token_hex(16)}",
                "eventDate": order["lastModifiedDate"],
                "publishDate": now,
                "publishAttemptCount": 1,
                "data": {
                    "orderId": order["orderId"],
                    "sellerId": self.seller_id,
                    "lineItems": [
                        {"lineItemId": item["lineItemId"], "sku": item["sku"]}
                        for item in order["lineItems"]
                    ],
                },
            },
        }

    def public_key_pem(self) -> str:
        """The signing key's public half as getPublicKey gives it (PEM SubjectPublicKeyInfo)."""
        pem = self.signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode().strip()

    def signature_header(self, content: bytes) -> str:
        """X-EBAY-SIGNATURE for ``content``: base64 JSON with the kid and a DER ECDSA P-256
        signature over the SHA1 digest of ``content``."""
        signature = self.signing_key.sign(content, ec.ECDSA(hashes.SHA1()))
        header = {
            "alg": "ECDSA",
            "kid": self.signing_kid,
            "signature": base64.b64encode(signature).decode(),
            "digest": "SHA1",
        }
        return base64.b64encode(json.dumps(header).encode()).decode()

    async def notify(self, topic: str, order: dict[str, Any]) -> None:
        body = self.notification(topic, order)
        self.notifications.append(body)
        if not self.notify_url:
            return
        content = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-EBAY-SIGNATURE": self.signature_header(content),
        }
        await self.deliver(content, headers)


# -- the API --------------------------------------------------------------------------------

Handler = Callable[[FakeEbayState, Request, bytes], Awaitable[Response]]
DOMAINS = {"token": "OAuth"}


def _domain(operation: str) -> str:
    if operation in ("getOffers", "bulkUpdatePriceQuantity"):
        return "API_INVENTORY"
    if operation == "getPublicKey":
        return "API_NOTIFICATION"
    return DOMAINS.get(operation, "API_FULFILLMENT")


def _api(operation: str, handler: Handler, *, authenticated: bool = True) -> Any:
    async def endpoint(request: Request) -> Response:
        state: FakeEbayState = request.app.state.fake
        body = await request.body()
        mode = state.take_failure(operation)
        response: Response
        if mode == 429:
            response = _error(
                429,
                2001,
                "Too many requests. The request limit has been reached for the resource.",
                domain="ACCESS",
                headers={"Retry-After": "0"},
            )
        elif mode == 500:
            system = {"API_INVENTORY": 25001, "API_NOTIFICATION": 195000}.get(
                _domain(operation), 30500
            )
            response = _error(
                500,
                system,
                "A system error has occurred.",
                domain=_domain(operation),
                category="APPLICATION",
            )
        else:
            if mode == "timeout":
                await asyncio.sleep(state.timeout_delay)
            if authenticated and not _authorized(state, request):
                response = _error(
                    401,
                    1001,
                    "Invalid access token",
                    domain="OAuth",
                    headers={"WWW-Authenticate": 'Bearer realm="eBay"'},
                )
            else:
                response = await handler(state, request, body)
        state.exchanges.append(Exchange.of(operation, request, body, response))
        return response

    return endpoint


def _authorized(state: FakeEbayState, request: Request) -> bool:
    header = request.headers.get("authorization", "")
    return header.lower().startswith("bearer ") and state.token_valid(header[7:].strip())


async def _token(state: FakeEbayState, request: Request, body: bytes) -> Response:
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    header = request.headers.get("authorization", "")
    try:
        client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        valid_client = header[:6].lower() == "basic " and bool(client_id)
    except ValueError:
        valid_client = False
    if valid_client and state.client_id is not None:
        valid_client = client_id == state.client_id and secret == state.client_secret
    if not valid_client:
        return _json(
            {"error": "invalid_client", "error_description": "client authentication failed"}, 401
        )
    if form.get("grant_type") == "client_credentials":  # an application token
        return _granted(state, "v^1.1#i^1#p^1#fake", "Application Access Token")
    if form.get("grant_type") != "refresh_token":
        return _json(
            {"error": "unsupported_grant_type", "error_description": "grant type unsupported"}, 400
        )
    refresh = form.get("refresh_token", "")
    if not refresh or (state.refresh_token is not None and refresh != state.refresh_token):
        return _json(
            {
                "error": "invalid_grant",
                "error_description": "the refresh token is invalid or was issued to another client",
            },
            400,
        )
    return _granted(state, "v^1.1#i^1#f^0#fake", "User Access Token")


def _granted(state: FakeEbayState, prefix: str, token_type: str) -> Response:
    """A new access token (``prefix`` and random characters) in the token endpoint's answer."""
    token = f"{prefix}{secrets.token_urlsafe(24)}"
    state.issue_token(token)
    return _json(
        {"access_token": token, "expires_in": state.token_lifetime, "token_type": token_type}
    )


async def _get_offers(state: FakeEbayState, request: Request, body: bytes) -> Response:
    sku = request.query_params.get("sku")
    if not sku:
        return _error(400, 25709, "Invalid value for sku.", domain="API_INVENTORY")
    offer_id = state.offer_of_sku.get(sku)
    if offer_id is None:
        return _error(404, 25713, "This Offer is not available.", domain="API_INVENTORY")
    return _json(
        {
            "href": str(request.url),
            "limit": 100,
            "size": 1,
            "total": 1,
            "offers": [state.offer_json(offer_id)],
        }
    )


def _entry_error(sku: str | None, offer_id: str | None, message: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "statusCode": 400,
        "errors": [
            {
                "errorId": 25709,
                "domain": "API_INVENTORY",
                "category": "REQUEST",
                "message": message,
            }
        ],
    }
    if sku is not None:
        entry["sku"] = sku
    if offer_id is not None:
        entry["offerId"] = offer_id
    return entry


async def _bulk_update(state: FakeEbayState, request: Request, body: bytes) -> Response:
    try:
        payload = json.loads(body)
        requests = payload["requests"]
        assert isinstance(requests, list) and requests
    except (ValueError, KeyError, TypeError, AssertionError):
        return _error(400, 25709, "Invalid value for requests.", domain="API_INVENTORY")
    if len(requests) > BULK_MAX:
        return _error(
            400,
            25709,
            f"Invalid value for requests. At most {BULK_MAX} per call.",
            domain="API_INVENTORY",
        )
    responses: list[dict[str, Any]] = []
    for item in requests:
        sku = item.get("sku")
        if "shipToLocationAvailability" in item:
            quantity = (item.get("shipToLocationAvailability") or {}).get("quantity")
            if sku not in state.listings:
                responses.append(_entry_error(sku, None, "Invalid value for sku. No item."))
            elif not isinstance(quantity, int) or quantity < 0:
                responses.append(_entry_error(sku, None, "Invalid value for quantity."))
            else:
                state.listings[sku]["quantity"] = quantity
                responses.append({"statusCode": 200, "sku": sku})
        for offer in item.get("offers") or []:
            offer_id = str(offer.get("offerId", ""))
            known = state.offers.get(offer_id)
            if known is None or (sku is not None and known["sku"] != sku):
                responses.append(_entry_error(sku, offer_id, "Invalid value for offerId."))
                continue
            listing = state.listings[known["sku"]]
            price = offer.get("price")
            quantity = offer.get("availableQuantity")
            if price is not None:
                try:
                    value = _minor(str(price["value"]))
                    assert price.get("currency") == listing["currency"] and value > 0
                except (InvalidOperation, KeyError, TypeError, AssertionError):
                    responses.append(
                        _entry_error(known["sku"], offer_id, "Invalid value for price.")
                    )
                    continue
                listing["price"] = value
            if quantity is not None:
                if not isinstance(quantity, int) or quantity < 0:
                    responses.append(
                        _entry_error(known["sku"], offer_id, "Invalid value for availableQuantity.")
                    )
                    continue
                listing["quantity"] = quantity
            responses.append({"statusCode": 200, "sku": known["sku"], "offerId": offer_id})
    status = 200 if all(r["statusCode"] == 200 for r in responses) else 207
    return _json({"responses": responses}, status)


_FILTER_FIELDS = {"lastmodifieddate": "lastModifiedDate", "creationdate": "creationDate"}


def _order_view(order: dict[str, Any], *, listing: bool) -> dict[str, Any]:
    if not listing:
        return order
    # getOrders: cancelStatus.cancelRequests "is returned but is always empty"
    return {**order, "cancelStatus": {**order["cancelStatus"], "cancelRequests": []}}


async def _get_orders(state: FakeEbayState, request: Request, body: bytes) -> Response:
    params = request.query_params
    domain = "API_FULFILLMENT"
    if params.get("orderIds"):
        ids = [i for i in params["orderIds"].split(",") if i]
        if len(ids) > 50:
            return _error(400, 30900, "Exceeded maximum number of order IDs", domain=domain)
        found = [state.orders[i] for i in ids if i in state.orders]
        return _json(
            {
                "href": str(request.url),
                "total": len(found),
                "limit": len(ids),
                "offset": 0,
                "orders": [_order_view(o, listing=True) for o in found],
            }
        )
    try:
        limit = int(params.get("limit", "50"))
        assert 1 <= limit <= ORDERS_MAX
    except (ValueError, AssertionError):
        return _error(400, 31100, f"Invalid limit: {params.get('limit')}", domain=domain)
    try:
        offset = int(params.get("offset", "0"))
        assert offset >= 0
    except (ValueError, AssertionError):
        return _error(400, 31000, f"Invalid offset: {params.get('offset')}", domain=domain)
    orders = sorted(state.orders.values(), key=lambda o: (o["creationDate"], o["orderId"]))
    for criterion in filter(None, (params.get("filter") or "").split(",")):
        name, _, value = criterion.partition(":")
        name = name.strip().lower()
        if name in _FILTER_FIELDS:
            if not (value.startswith("[") and value.endswith("]") and ".." in value):
                return _error(400, 30810, "Invalid date format", domain=domain)
            start_text, _, end_text = value[1:-1].partition("..")
            if not start_text:
                return _error(400, 30820, "Start date is missing", domain=domain)
            try:
                start = _parse_iso(start_text)
                end = _parse_iso(end_text) if end_text else None
            except ValueError:
                return _error(400, 30810, "Invalid date format", domain=domain)
            key = _FILTER_FIELDS[name]
            orders = [
                o
                for o in orders
                if _parse_iso(o[key]) >= start and (end is None or _parse_iso(o[key]) <= end)
            ]
        elif name == "orderfulfillmentstatus":
            wanted = set(value.strip("{}").split("|"))
            orders = [o for o in orders if o["orderFulfillmentStatus"] in wanted]
        else:
            return _error(400, 30700, f"Invalid filter name: {name}", domain=domain)
    page = orders[offset : offset + limit]
    base = f"{request.url.scheme}://{request.url.netloc}{FULFILLMENT}/order?"
    common = {k: v for k, v in params.items() if k not in ("limit", "offset")}
    result: dict[str, Any] = {
        "href": str(request.url),
        "total": len(orders),
        "limit": limit,
        "offset": offset,
        "orders": [_order_view(o, listing=True) for o in page],
    }
    if offset + limit < len(orders):
        result["next"] = base + urlencode({**common, "limit": limit, "offset": offset + limit})
    if offset > 0:
        prev = max(0, offset - limit)
        result["prev"] = base + urlencode({**common, "limit": limit, "offset": prev})
    return _json(result)


async def _get_order(state: FakeEbayState, request: Request, body: bytes) -> Response:
    order = state.orders.get(request.path_params["order_id"])
    if order is None:
        return _error(404, 32100, "Invalid order ID", domain="API_FULFILLMENT")
    return _json(order)


async def _create_fulfillment(state: FakeEbayState, request: Request, body: bytes) -> Response:
    domain = "API_FULFILLMENT"
    order_id = request.path_params["order_id"]
    order = state.orders.get(order_id)
    if order is None:
        return _error(400, 32100, f"Invalid Order Id: {order_id}", domain=domain)
    try:
        payload = json.loads(body)
        lines = payload["lineItems"]
        assert isinstance(lines, list) and lines
    except (ValueError, KeyError, TypeError, AssertionError):
        return _error(400, 32600, "Invalid input data", domain=domain)
    if order["cancelStatus"]["cancelState"] == "CANCELED":
        return _error(400, 32600, "Invalid input data: the order is cancelled", domain=domain)
    items = {item["lineItemId"]: item for item in order["lineItems"]}
    ids = [str(line.get("lineItemId")) for line in lines]
    if len(set(ids)) != len(ids):
        return _error(400, 32210, "Duplicate line item in the request", domain=domain)
    tracking = str(payload.get("trackingNumber") or "")
    carrier = str(payload.get("shippingCarrierCode") or "")
    if bool(tracking) != bool(carrier):
        return _error(400, 32300, "Invalid shipment tracking number or carrier", domain=domain)
    shipped_date = payload.get("shippedDate")
    if shipped_date is not None:
        try:
            _parse_iso(str(shipped_date))
        except ValueError:
            return _error(400, 32500, "Invalid shipped date", domain=domain)
    wanted = [(str(line["lineItemId"]), int(line.get("quantity") or 1)) for line in lines]
    for existing in state.fulfillments.get(order_id, []):
        same = {(x["lineItemId"], int(x["quantity"])) for x in existing["lineItems"]}
        if tracking and existing["shipmentTrackingNumber"] == tracking and same == set(wanted):
            return _json(
                {
                    "errors": [
                        {
                            "domain": domain,
                            "category": "REQUEST",
                            "message": "This shipping fulfillment already exists.",
                        }
                    ]
                },
                409,
            )
    shipped = state._shipped(order_id)
    for line_id, quantity in wanted:
        item = items.get(line_id)
        if item is None:
            return _error(400, 32200, f"Invalid line item id: {line_id}", domain=domain)
        if quantity <= 0 or shipped.get(line_id, 0) + quantity > item["quantity"]:
            return _error(400, 32600, f"Invalid input data: quantity of {line_id}", domain=domain)
    fulfillment_id = tracking or str(state._new_id())
    now = _iso(_now())
    state.fulfillments.setdefault(order_id, []).append(
        {
            "fulfillmentId": fulfillment_id,
            "shipmentTrackingNumber": tracking,
            "shippingCarrierCode": carrier,
            "shippedDate": shipped_date or now,
            "lineItems": [{"lineItemId": i, "quantity": q} for i, q in wanted],
        }
    )
    shipped = state._shipped(order_id)
    for item in order["lineItems"]:
        done = shipped.get(item["lineItemId"], 0)
        item["lineItemFulfillmentStatus"] = (
            "FULFILLED" if done >= item["quantity"] else "IN_PROGRESS" if done else "NOT_STARTED"
        )
    statuses = {item["lineItemFulfillmentStatus"] for item in order["lineItems"]}
    order["orderFulfillmentStatus"] = "FULFILLED" if statuses == {"FULFILLED"} else "IN_PROGRESS"
    location = (
        f"{request.url.scheme}://{request.url.netloc}{FULFILLMENT}/order/{order_id}"
        f"/shipping_fulfillment/{fulfillment_id}"
    )
    order["fulfillmentHrefs"].append(location)
    order["lastModifiedDate"] = now
    return _json({}, 201, headers={"Location": location})


async def _issue_refund(state: FakeEbayState, request: Request, body: bytes) -> Response:
    domain = "API_FULFILLMENT"
    order_id = request.path_params["order_id"]
    order = state.orders.get(order_id)
    if order is None:
        return _error(404, 34913, "Can not find the order.", domain=domain)
    if not body:
        return _error(400, 34902, "Request can't be empty.", domain=domain)
    try:
        payload = json.loads(body)
        assert isinstance(payload, dict)
    except (ValueError, AssertionError):
        return _error(400, 34902, "Request can't be empty.", domain=domain)
    if not payload.get("reasonForRefund"):
        return _error(400, 34903, "The refund reason must be specified.", domain=domain)
    if len(str(payload.get("comment", ""))) > 1000:
        return _error(400, 34921, "The comment exceeds the length limit.", domain=domain)
    currency = order["pricingSummary"]["total"]["currency"]
    total = _minor(order["pricingSummary"]["total"]["value"])

    def amount_of(value: Any) -> int | Response:
        if not isinstance(value, dict) or not value.get("value"):
            return _error(400, 34906, "The amount value must be specified.", domain=domain)
        if not value.get("currency"):
            return _error(400, 34908, "The amount currency must be specified.", domain=domain)
        if value["currency"] != currency:
            return _error(400, 34909, "The amount currency isn't correct.", domain=domain)
        try:
            number = Decimal(str(value["value"]))
            assert number > 0 and number == number.quantize(Decimal("0.01"))
        except (InvalidOperation, AssertionError):
            return _error(
                400,
                34907,
                "The amount value must be positive and within two decimals.",
                domain=domain,
            )
        return int(number * 100)

    refunded = sum(_minor(r["amount"]["value"]) for r in order["paymentSummary"]["refunds"])
    items = {item["lineItemId"]: item for item in order["lineItems"]}
    plan: list[tuple[dict[str, Any] | None, int]] = []
    if payload.get("refundItems"):
        for entry in payload["refundItems"]:
            line_id = entry.get("lineItemId")
            if not line_id:
                return _error(
                    400,
                    34910,
                    "Either legacyReference or lineItemId must be specified for item level refund.",
                    domain=domain,
                )
            item = items.get(str(line_id))
            if item is None:
                return _error(400, 34914, "Can't find the item in the order.", domain=domain)
            amount = amount_of(entry.get("refundAmount"))
            if isinstance(amount, Response):
                return amount
            done = sum(_minor(r["amount"]["value"]) for r in item["refunds"])
            if done + amount > _minor(item["total"]["value"]):
                return _error(
                    409,
                    34924,
                    "The item refund amount exceeds the item remaining amount.",
                    domain=domain,
                    category="BUSINESS",
                )
            plan.append((item, amount))
    elif payload.get("orderLevelRefundAmount"):
        amount = amount_of(payload["orderLevelRefundAmount"])
        if isinstance(amount, Response):
            return amount
        plan.append((None, amount))
    else:
        return _error(
            400,
            34905,
            "Either orderLevelRefundAmount or refundItems must be specified.",
            domain=domain,
        )
    this_refund = sum(amount for _, amount in plan)
    if refunded >= total:
        return _error(
            400, 34917, "This order was already refunded.", domain=domain, category="BUSINESS"
        )
    if refunded + this_refund > total:
        return _error(400, 34915, "The refund amount exceeds order amount.", domain=domain)
    refund_id = f"5{state._new_id():011d}"
    now = _iso(_now())
    for item, amount in plan:
        if item is not None:
            item["refunds"].append(
                {"refundId": refund_id, "refundDate": now, "amount": _money(amount, currency)}
            )
    order["paymentSummary"]["refunds"].append(
        {
            "refundId": refund_id,
            "refundReferenceId": str(state._new_id()),
            "refundDate": now,
            "refundStatus": "REFUNDED",  # the fake processes refunds at once
            "amount": _money(this_refund, currency),
        }
    )
    order["orderPaymentStatus"] = (
        "FULLY_REFUNDED" if refunded + this_refund >= total else "PARTIALLY_REFUNDED"
    )
    order["lastModifiedDate"] = now
    return _json({"refundId": refund_id, "refundStatus": "PENDING"})


async def _get_public_key(state: FakeEbayState, request: Request, body: bytes) -> Response:
    if request.path_params["public_key_id"] != state.signing_kid:
        return _error(404, 195001, "The specified key id is invalid.", domain="API_NOTIFICATION")
    return _json({"algorithm": "ECDSA", "digest": "SHA1", "key": state.public_key_pem()})


# -- control routes -------------------------------------------------------------------------


async def _fake_create_order(request: Request) -> Response:
    state: FakeEbayState = request.app.state.fake
    payload = await request.json()
    try:
        order = state.place_order(
            payload.get("lines") or [],
            payload.get("buyer"),
            payload.get("orderId"),
            shipping=int(payload.get("shipping", 0)),
        )
    except (ValueError, KeyError, TypeError) as error:
        return JSONResponse({"error": str(error)}, 400)
    await state.notify("ORDER_CONFIRMATION", order)
    return JSONResponse({"orderId": order["orderId"]})


async def _fake_order(request: Request) -> Response:
    state: FakeEbayState = request.app.state.fake
    summary = state.order_summary(request.path_params["order_id"])
    if summary is None:
        return JSONResponse({"error": "unknown order"}, 404)
    return JSONResponse(summary)


async def _fake_cancel(request: Request) -> Response:
    state: FakeEbayState = request.app.state.fake
    order_id = request.path_params["order_id"]
    if order_id not in state.orders:
        return JSONResponse({"error": "unknown order"}, 404)
    order = state.cancel_order(order_id)
    await state.notify("ORDER_CANCELLATION", order)
    return JSONResponse(state.order_summary(order_id))


def create_app(state: FakeEbayState | None = None) -> Starlette:
    """The fake eBay as an ASGI app; its state is ``app.state.fake``."""
    order = FULFILLMENT + "/order/{order_id}"
    routes = [
        Route(TOKEN_PATH, _api("token", _token, authenticated=False), methods=["POST"]),
        Route(f"{INVENTORY}/offer", _api("getOffers", _get_offers), methods=["GET"]),
        Route(
            f"{INVENTORY}/bulk_update_price_quantity",
            _api("bulkUpdatePriceQuantity", _bulk_update),
            methods=["POST"],
        ),
        Route(f"{FULFILLMENT}/order", _api("getOrders", _get_orders), methods=["GET"]),
        Route(order, _api("getOrder", _get_order), methods=["GET"]),
        Route(
            order + "/shipping_fulfillment",
            _api("createShippingFulfillment", _create_fulfillment),
            methods=["POST"],
        ),
        Route(order + "/issue_refund", _api("issueRefund", _issue_refund), methods=["POST"]),
        Route(
            f"{NOTIFICATION}/public_key/{{public_key_id}}",
            _api("getPublicKey", _get_public_key),
            methods=["GET"],
        ),
        Route("/_fake/orders", _fake_create_order, methods=["POST"]),
        Route("/_fake/orders/{order_id}", _fake_order, methods=["GET"]),
        Route("/_fake/orders/{order_id}/cancel", _fake_cancel, methods=["POST"]),
        *control_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.fake = state or FakeEbayState()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake eBay Sell API (tests and demo only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8713)
    parser.add_argument("--token-lifetime", type=int, default=7200)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(
        create_app(FakeEbayState(token_lifetime=args.token_lifetime)),
        host=args.host,
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
