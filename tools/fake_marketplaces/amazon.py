"""A fake Amazon Selling Partner API with state, for tests, benchmarks and the demo.

It answers, in the documented formats of ../shared/specs/amazon-sp-api/:

- ``POST /auth/o2/token`` (Login with Amazon, refresh-token grant) -> an access token that
  expires after ``token_lifetime`` seconds; API calls without a valid ``x-amz-access-token``
  get ``403`` ``Unauthorized`` (what SP-API answers for an expired token);
- Listings Items 2021-08-01 ``patchListingsItem`` (JSON-Patch of ``fulfillment_availability``
  and ``purchasable_offer``);
- Feeds 2021-06-30 ``createFeedDocument``, ``createFeed``, ``getFeed``, ``getFeedDocument``,
  with the documents at pre-signed-looking URLs under ``/s3/feed-documents/`` (Amazon's are
  S3 URLs): a JSON_LISTINGS_FEED is processed after ``feed_polls`` polls and its processing
  report (listings-feed-processing-report-schema-v2) is served GZIP-compressed;
- Orders 2026-01-01 ``searchOrders`` (``paginationToken`` paging, ``includedData``) and
  ``getOrder``; Orders v0 ``confirmShipment``.

Control routes under ``/_fake/`` (not part of SP-API) seed listings, create and cancel orders,
inject failures and configure the fake (see FAKE_CONTRACT in the project's notes).

Notifications: a real ORDER_CHANGE notification reaches the seller through an SQS queue or
EventBridge (Notifications API destinations), never as an HTTP POST; the fake POSTs the same
notification JSON (OrderChangeNotification schema) to ``notify_url`` so that a local webhook
receiver can stand in for the queue consumer.

    python -m tools.fake_marketplaces.amazon --port 8711
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import itertools
import json
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tools.fake_marketplaces.common import Exchange, FakeMarketplace, control_routes

log = logging.getLogger("o2o.fake.amazon")

Handler = Callable[[Request, bytes], Awaitable[Response]]

# x-amzn-RateLimit-Limit of each operation: its default usage plan (the models' descriptions)
RATE_LIMITS = {
    "patchListingsItem": "5.0",
    "createFeedDocument": "0.5",
    "createFeed": "0.0083",
    "getFeed": "2.0",
    "getFeedDocument": "0.0222",
    "searchOrders": "0.0056",
    "getOrder": "0.5",
    "confirmShipment": "2.0",
}


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decimal(minor: int, currency: str) -> str:
    exponent = 0 if currency == "JPY" else 2
    return str((Decimal(minor) / (10**exponent)).quantize(Decimal(1) / (10**exponent)))


def _minor(value: Any, currency: str) -> int:
    exponent = 0 if currency == "JPY" else 2
    return int((Decimal(str(value)) * (10**exponent)).to_integral_value())


def _money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": _decimal(minor, currency), "currencyCode": currency}


def _errors(status: int, code: str, message: str, details: str | None = None) -> JSONResponse:
    error: dict[str, str] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"errors": [error]}, status_code=status)


class FakeAmazonState(FakeMarketplace):
    """The fake's data: listings, orders (Orders 2026-01-01 shape), feeds and documents,
    access tokens, injected failures, and every exchange."""

    FAIL_MODES = None  # 429 and 500 also as strings
    SETTINGS: ClassVar[dict[str, Callable[[Any], Any]]] = {"feed_polls": int}

    def __init__(
        self,
        *,
        seller_id: str = "A1FAKESELLER",
        marketplace_id: str = "A13V1IB3VIYZZH",
        currency: str = "EUR",
        token_lifetime: int = 3600,
        timeout_seconds: float = 2.0,
        feed_polls: int = 1,
        notify_url: str | None = None,
        duplicate_notifications: bool = False,
    ) -> None:
        super().__init__(token_lifetime=token_lifetime)
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.currency = currency
        self.timeout_seconds = timeout_seconds  # how long a "timeout" failure sleeps
        self.feed_polls = feed_polls  # getFeed answers IN_PROGRESS this many times first
        self.notify_url = notify_url
        self.duplicate_notifications = duplicate_notifications
        self.listings: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, list[dict[str, Any]]] = {}
        self.cancellations: dict[str, list[dict[str, Any]]] = {}
        self.packages: dict[str, set[str]] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, bytes | None] = {}
        self.compressed: set[str] = set()
        self.notifications: list[bytes] = []  # every notification body the fake produced
        self.applied: list[tuple[str, int, int]] = []  # (sku, quantity, price) per update
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    # -- listings -----------------------------------------------------------------------------

    def seed(self, listings: dict[str, dict[str, Any]]) -> None:
        for sku, value in listings.items():
            self.listings[sku] = {
                "quantity": int(value.get("quantity", 0)),
                "price": int(value.get("price", 0)),
                "currency": str(value.get("currency", self.currency)),
            }

    def apply_patches(self, sku: str, patches: Any) -> list[dict[str, Any]]:
        """Apply a message's JSON-Patch operations to a listing; the issues (ERROR) when not."""
        listing = self.listings.get(sku)
        if listing is None:
            return [_issue("4000004", f"SKU '{sku}' has no listing to update.", "sku")]
        if not isinstance(patches, list) or not patches:
            return [_issue("90000900", "No patch operations were provided.", "patches")]
        quantity, price, currency = listing["quantity"], listing["price"], listing["currency"]
        for patch in patches:
            op, path, value = patch.get("op"), patch.get("path"), patch.get("value")
            if op not in ("replace", "merge", "add") or not isinstance(value, list) or not value:
                return [_issue("90000900", f"Unsupported patch {op} {path}.", str(path))]
            first = value[0]
            try:
                if path == "/attributes/fulfillment_availability":
                    quantity = int(first["quantity"])
                    if quantity < 0:
                        raise ValueError("negative quantity")
                elif path == "/attributes/purchasable_offer":
                    currency = str(first.get("currency", currency))
                    amount = first["our_price"][0]["schedule"][0]["value_with_tax"]
                    price = _minor(amount, currency)
                    if price < 0:
                        raise ValueError("negative price")
            except (KeyError, IndexError, TypeError, ValueError) as error:
                attribute = str(path).rsplit("/", 1)[-1]
                return [_issue("90000900", f"'{attribute}' is invalid: {error}", attribute)]
        listing.update(quantity=quantity, price=price, currency=currency)
        self.applied.append((sku, quantity, price))
        return []

    # -- orders -------------------------------------------------------------------------------

    def create_order(self, spec: dict[str, Any]) -> dict[str, Any]:
        lines = spec.get("lines") or []
        if not lines:
            raise ValueError("an order needs lines")
        for line in lines:
            listing = self.listings.get(line.get("sku"))
            if listing is None:
                raise ValueError(f"unknown SKU {line.get('sku')!r}")
            if int(line.get("quantity", 0)) <= 0:
                raise ValueError("quantities are positive")
            if listing["quantity"] < int(line["quantity"]):
                raise ValueError(f"only {listing['quantity']} of {line['sku']} available")
        number = self.next_id()
        order_id = str(spec.get("orderId") or f"171-{number:07d}-{secrets.randbelow(10**7):07d}")
        if order_id in self.orders:
            raise ValueError(f"order {order_id} exists")
        buyer = spec.get("buyer") or {}
        now = _iso(_now())
        items = []
        total = 0
        currency = self.currency
        for index, line in enumerate(lines, start=1):
            listing = self.listings[line["sku"]]
            quantity = int(line["quantity"])
            listing["quantity"] -= quantity
            currency = listing["currency"]
            subtotal = listing["price"] * quantity
            total += subtotal
            items.append(
                {
                    "orderItemId": f"{number:08d}{index:06d}",
                    "quantityOrdered": quantity,
                    "product": {
                        "sellerSku": line["sku"],
                        "title": line["sku"],
                        "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                        "price": {"unitPrice": _money(listing["price"], currency)},
                    },
                    "proceeds": {
                        "proceedsTotal": _money(subtotal, currency),
                        "breakdowns": [{"type": "ITEM", "subtotal": _money(subtotal, currency)}],
                    },
                    "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": quantity},
                }
            )
        order = {
            "orderId": order_id,
            "createdTime": now,
            "lastUpdatedTime": now,
            "salesChannel": {
                "channelName": "AMAZON",
                "marketplaceId": self.marketplace_id,
                "marketplaceName": "Amazon.fr",
            },
            "buyer": {
                k: str(v)
                for k, v in (("buyerName", buyer.get("name")), ("buyerEmail", buyer.get("email")))
                if v
            },
            "recipient": {
                "deliveryAddress": {
                    k: str(v)
                    for k, v in (
                        ("name", buyer.get("name")),
                        ("addressLine1", "1 rue de la Paix"),
                        ("city", "Paris"),
                        ("postalCode", "75002"),
                        ("countryCode", "FR"),
                        ("phone", buyer.get("phone")),
                        ("addressType", "RESIDENTIAL"),
                    )
                    if v
                }
            },
            "proceeds": {
                "grandTotal": _money(total, currency),
                "breakdowns": [
                    {"type": "ITEM", "subtotal": _money(total, currency)},
                    {"type": "SHIPPING", "subtotal": _money(0, currency)},
                ],
            },
            "fulfillment": {
                "fulfillmentStatus": "UNSHIPPED",
                "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": "STANDARD",
            },
            "orderItems": items,
        }
        self.orders[order_id] = order
        self.shipments[order_id] = []
        self.cancellations[order_id] = []
        return order

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        order = self.orders[order_id]
        if order["fulfillment"]["fulfillmentStatus"] in ("SHIPPED", "CANCELLED"):
            raise ValueError(f"order {order_id} is {order['fulfillment']['fulfillmentStatus']}")
        for item in order["orderItems"]:
            open_units = item["quantityOrdered"] - item["fulfillment"]["quantityFulfilled"]
            if open_units <= 0:
                continue
            item["cancellation"] = {
                "cancellationExecution": {"cancelledBy": "BUYER", "cancelReason": "Buyer cancel"}
            }
            item["fulfillment"]["quantityUnfulfilled"] = 0
            listing = self.listings.get(item["product"]["sellerSku"])
            if listing is not None:
                listing["quantity"] += open_units
            self.cancellations[order_id].append(
                {"lineId": item["orderItemId"], "quantity": open_units}
            )
        order["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
        order["lastUpdatedTime"] = _iso(_now())
        return order

    def confirm(self, order_id: str, body: dict[str, Any]) -> JSONResponse | None:
        """Record a shipment confirmation; an error response when it is refused."""
        order = self.orders.get(order_id)
        if order is None:
            return _errors(404, "NotFound", f"Order {order_id} not found.")
        package = body.get("packageDetail") or {}
        if body.get("marketplaceId") != self.marketplace_id:
            return _errors(400, "InvalidInput", "Invalid marketplaceId.")
        reference = str(package.get("packageReferenceId", ""))
        if not reference.isdigit() or int(reference) <= 0:
            return _errors(400, "InvalidInput", "packageReferenceId must be a positive number.")
        if reference in self.packages.setdefault(order_id, set()):
            return None  # the same package confirmed again: nothing changes
        if order["fulfillment"]["fulfillmentStatus"] == "CANCELLED":
            return _errors(400, "InvalidInput", f"Order {order_id} is cancelled.")
        items = {i["orderItemId"]: i for i in order["orderItems"]}
        wanted = package.get("orderItems") or []
        for line in wanted:
            item = items.get(line.get("orderItemId"))
            if item is None:
                unknown = line.get("orderItemId")
                return _errors(400, "InvalidInput", f"Unknown orderItemId {unknown}.")
            left = item["quantityOrdered"] - item["fulfillment"]["quantityFulfilled"]
            if not 0 < int(line.get("quantity", 0)) <= left:
                return _errors(400, "InvalidInput", f"Quantity exceeds the {left} unshipped.")
        for line in wanted:
            item = items[line["orderItemId"]]
            item["fulfillment"]["quantityFulfilled"] += int(line["quantity"])
            item["fulfillment"]["quantityUnfulfilled"] -= int(line["quantity"])
        self.packages[order_id].add(reference)
        self.shipments[order_id].append(
            {
                "carrier": package.get("carrierName") or package.get("carrierCode"),
                "tracking": package.get("trackingNumber"),
                "lines": [
                    {"lineId": line["orderItemId"], "quantity": int(line["quantity"])}
                    for line in wanted
                ],
            }
        )
        done = all(i["fulfillment"]["quantityUnfulfilled"] == 0 for i in order["orderItems"])
        order["fulfillment"]["fulfillmentStatus"] = "SHIPPED" if done else "PARTIALLY_SHIPPED"
        order["lastUpdatedTime"] = _iso(_now())
        return None

    def notification(self, order: dict[str, Any], reason: str) -> dict[str, Any]:
        """The ORDER_CHANGE notification (schemas/notifications/OrderChangeNotification.json)."""
        status = {
            "PENDING": "Pending",
            "UNSHIPPED": "Unshipped",
            "PARTIALLY_SHIPPED": "PartiallyShipped",
            "SHIPPED": "Shipped",
            "CANCELLED": "Canceled",
        }.get(order["fulfillment"]["fulfillmentStatus"], "Pending")
        items = []
        shipped = unshipped = 0
        for item in order["orderItems"]:
            done = item["fulfillment"]["quantityFulfilled"]
            shipped += done
            unshipped += item["fulfillment"]["quantityUnfulfilled"]
            items.append(
                {
                    "OrderItemId": item["orderItemId"],
                    "SellerSKU": item["product"]["sellerSku"],
                    "SupplySourceId": None,
                    "OrderItemStatus": "Shipped"
                    if done >= item["quantityOrdered"]
                    else "Unshipped",
                    "Quantity": item["quantityOrdered"],
                    "QuantityShipped": done,
                }
            )
        now = _iso(_now())
        address = order.get("recipient", {}).get("deliveryAddress", {})
        return {
            "NotificationVersion": "1.0",
            "NotificationType": "ORDER_CHANGE",
            "PayloadVersion": "1.0",
            "EventTime": now,
            "Payload": {
                "OrderChangeNotification": {
                    "NotificationLevel": "OrderLevel",
                    "SellerId": self.seller_id,
                    "AmazonOrderId": order["orderId"],
                    "OrderChangeType": "OrderStatusChange",
                    "OrderChangeTrigger": {"TimeOfOrderChange": now, "ChangeReason": reason},
                    "Summary": {
                        "MarketplaceId": self.marketplace_id,
                        "OrderStatus": status,
                        "PurchaseDate": order["createdTime"],
                        "DestinationPostalCode": address.get("postalCode"),
                        "FulfillmentType": "MFN",
                        "OrderType": "StandardOrder",
                        "NumberOfItemsShipped": shipped,
                        "NumberOfItemsUnshipped": unshipped,
                        "OrderItems": items,
                    },
                }
            },
            "NotificationMetadata": {
                "ApplicationId": "amzn1.sp.solution.fake-application",
                "SubscriptionId": "fake-subscription-order-change",
                "PublishTime": now,
                "NotificationId": str(uuid.uuid4()),
            },
        }

    async def notify(self, order: dict[str, Any], reason: str) -> None:
        body = json.dumps(self.notification(order, reason)).encode()
        self.notifications.extend([body] * self.copies)
        await self.deliver(body, {"content-type": "application/json"}, log=log)

    # -- feeds --------------------------------------------------------------------------------

    def process_feed(self, feed: dict[str, Any]) -> None:
        """Apply a JSON_LISTINGS_FEED and store its processing report (GZIP)."""
        raw = self.documents.get(feed["_input"])
        issues: list[dict[str, Any]] = []
        processed = accepted = invalid = 0
        status = "DONE"
        try:
            document = json.loads(raw or b"")
            messages = document["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("the feed has no messages")
            if len(messages) > 25_000:
                raise ValueError("the feed has more than 25000 messages")
        except (ValueError, KeyError, TypeError) as error:
            status = "FATAL"
            issues.append(
                {"code": "100001", "severity": "ERROR", "message": f"Invalid feed: {error}"}
            )
            messages = []
        for message in messages:
            processed += 1
            sku = str(message.get("sku", ""))
            found: list[dict[str, Any]]
            if message.get("operationType") != "PATCH":
                found = [_issue("90000900", "Only PATCH messages are supported here.", "")]
            else:
                found = self.apply_patches(sku, message.get("patches"))
            if found:
                invalid += 1
                for issue in found:
                    entry = {
                        "messageId": message.get("messageId"),
                        "sku": sku,
                        "code": issue["code"],
                        "severity": "ERROR",
                        "message": issue["message"],
                    }
                    if issue["attributeNames"] and issue["attributeNames"][0]:
                        entry["attributeName"] = issue["attributeNames"][0]
                    if not sku:
                        del entry["sku"]
                    issues.append(entry)
            else:
                accepted += 1
        report = {
            "header": {"sellerId": self.seller_id, "version": "2.0", "feedId": feed["feedId"]},
            "issues": issues,
            "summary": {
                "errors": len(issues),
                "warnings": 0,
                "messagesProcessed": processed,
                "messagesAccepted": accepted,
                "messagesInvalid": invalid,
            },
        }
        report_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}.T{self.next_id()}"
        self.documents[report_id] = gzip.compress(json.dumps(report).encode())
        self.compressed.add(report_id)
        now = _iso(_now())
        feed.update(
            processingStatus=status,
            processingStartTime=now,
            processingEndTime=now,
            resultFeedDocumentId=report_id,
        )


def _issue(code: str, message: str, attribute: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "severity": "ERROR",
        "attributeNames": [attribute],
        "categories": ["INVALID_ATTRIBUTE"],
    }


def _public(feed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in feed.items() if not k.startswith("_")}


def _with_data(order: dict[str, Any], included: set[str]) -> dict[str, Any]:
    """An order with only the datasets ``includedData`` asked for (product data always)."""
    top = {"BUYER": "buyer", "RECIPIENT": "recipient", "PROCEEDS": "proceeds"}
    top["FULFILLMENT"] = "fulfillment"
    item_keys = {"PROCEEDS": "proceeds", "FULFILLMENT": "fulfillment"}
    item_keys["CANCELLATION"] = "cancellation"
    result = {k: v for k, v in order.items() if k not in top.values() and k != "orderItems"}
    for name, key in top.items():
        if name in included and key in order:
            result[key] = order[key]
    result["orderItems"] = [
        {
            k: v
            for k, v in item.items()
            if k not in item_keys.values()
            or any(key == k and name in included for name, key in item_keys.items())
        }
        for item in order["orderItems"]
    ]
    return result


def _csv(request: Request, name: str) -> list[str]:
    values: list[str] = []
    for value in request.query_params.getlist(name):
        values.extend(v for v in value.split(",") if v)
    return values


def create_app(state: FakeAmazonState | None = None) -> Starlette:
    """The fake's ASGI app; ``app.state.fake`` is its state."""
    fake = state or FakeAmazonState()

    def api(operation: str, *, token: bool = True) -> Callable[[Handler], Any]:
        """Wrap a handler: record the exchange, inject failures, check the access token."""

        def wrap(handler: Handler) -> Any:
            async def endpoint(request: Request) -> Response:
                body = await request.body()
                response = await _answer(request, body)
                headers = {"x-amzn-RequestId": str(uuid.uuid4())}
                if operation in RATE_LIMITS:
                    headers["x-amzn-RateLimit-Limit"] = RATE_LIMITS[operation]
                for key, value in headers.items():
                    response.headers.setdefault(key, value)
                raw_path = request.scope.get("raw_path", b"").decode()
                fake.exchanges.append(
                    Exchange.of(operation, request, body, response, path=raw_path)
                )
                return response

            async def _answer(request: Request, body: bytes) -> Response:
                mode = fake.take_failure(operation)
                if mode == 429 or mode == "429":
                    response = _errors(429, "QuotaExceeded", "You exceeded your quota.")
                    response.headers["Retry-After"] = "0"
                    return response
                if mode == 500 or mode == "500":
                    return _errors(500, "InternalFailure", "We encountered an internal error.")
                if mode == "timeout":
                    await asyncio.sleep(fake.timeout_seconds)
                if token:
                    given = request.headers.get("x-amz-access-token", "")
                    if not fake.token_valid(given):
                        return _errors(
                            403,
                            "Unauthorized",
                            "Access to requested resource is denied.",
                            "The access token you provided has expired."
                            if given
                            else "The request has no access token.",
                        )
                try:
                    return await handler(request, body)
                except (ValueError, KeyError, TypeError) as error:
                    return _errors(400, "InvalidInput", f"Invalid input: {error}")

            return endpoint

        return wrap

    def json_body(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            raise ValueError("the body is not JSON") from None

    # -- Login with Amazon -------------------------------------------------------------------

    @api("lwaToken", token=False)
    async def lwa_token(request: Request, body: bytes) -> Response:
        form = dict(parse_qsl(body.decode(errors="replace")))
        if form.get("grant_type") != "refresh_token":
            return JSONResponse(
                {"error": "unsupported_grant_type", "error_description": "Bad grant_type"}, 400
            )
        if not (form.get("refresh_token") and form.get("client_id") and form.get("client_secret")):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                401,
            )
        access = f"Atza|fake{secrets.token_urlsafe(24)}"
        fake.issue_token(access)
        return JSONResponse(
            {
                "access_token": access,
                "refresh_token": str(form.get("refresh_token")),
                "token_type": "bearer",
                "expires_in": fake.token_lifetime,
            }
        )

    # -- Listings Items ------------------------------------------------------------------------

    @api("patchListingsItem")
    async def patch_listing(request: Request, body: bytes) -> Response:
        seller, sku = request.path_params["seller_id"], request.path_params["sku"]
        if fake.marketplace_id not in _csv(request, "marketplaceIds"):
            return _errors(400, "InvalidInput", "marketplaceIds is required.")
        if seller != fake.seller_id:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.")
        data = json_body(body)
        if not isinstance(data, dict) or not data.get("productType") or not data.get("patches"):
            return _errors(400, "InvalidInput", "productType and patches are required.")
        issues = fake.apply_patches(sku, data["patches"])
        answer = {
            "sku": sku,
            "status": "INVALID" if issues else "ACCEPTED",
            "submissionId": uuid.uuid4().hex,
            "issues": issues,
        }
        return JSONResponse(answer)

    # -- Feeds ---------------------------------------------------------------------------------

    @api("createFeedDocument")
    async def create_feed_document(request: Request, body: bytes) -> Response:
        data = json_body(body)
        if not isinstance(data, dict) or not data.get("contentType"):
            return _errors(400, "InvalidInput", "contentType is required.")
        document_id = f"amzn1.tortuga.4.eu.{uuid.uuid4()}.T{fake.next_id()}"
        fake.documents[document_id] = None
        url = f"{str(request.base_url).rstrip('/')}/s3/feed-documents/{document_id}"
        url += f"?X-Amz-Signature={secrets.token_hex(16)}"
        return JSONResponse({"feedDocumentId": document_id, "url": url}, status_code=201)

    @api("uploadFeedDocument", token=False)
    async def upload_document(request: Request, body: bytes) -> Response:
        document_id = request.path_params["document_id"]
        if document_id not in fake.documents or fake.documents[document_id] is not None:
            return Response(b"<Error><Code>AccessDenied</Code></Error>", 403)
        fake.documents[document_id] = body
        return Response(b"", 200)

    @api("downloadFeedDocument", token=False)
    async def download_document(request: Request, body: bytes) -> Response:
        content = fake.documents.get(request.path_params["document_id"])
        if content is None:
            return Response(b"<Error><Code>NoSuchKey</Code></Error>", 404)
        return Response(content, 200, media_type="application/octet-stream")

    @api("createFeed")
    async def create_feed(request: Request, body: bytes) -> Response:
        data = json_body(body)
        if data.get("feedType") != "JSON_LISTINGS_FEED":
            return _errors(400, "InvalidInput", "This fake takes JSON_LISTINGS_FEED feeds.")
        if fake.marketplace_id not in (data.get("marketplaceIds") or []):
            return _errors(400, "InvalidInput", "Invalid marketplaceIds.")
        document_id = data.get("inputFeedDocumentId")
        if fake.documents.get(document_id) is None:
            return _errors(400, "InvalidInput", "The input feed document was not uploaded.")
        feed_id = str(50_000_000_000 + fake.next_id())
        fake.feeds[feed_id] = {
            "feedId": feed_id,
            "feedType": "JSON_LISTINGS_FEED",
            "marketplaceIds": [fake.marketplace_id],
            "createdTime": _iso(_now()),
            "processingStatus": "IN_QUEUE",
            "_input": document_id,
            "_polls": fake.feed_polls,
        }
        return JSONResponse({"feedId": feed_id}, status_code=202)

    @api("getFeed")
    async def get_feed(request: Request, body: bytes) -> Response:
        feed = fake.feeds.get(request.path_params["feed_id"])
        if feed is None:
            return _errors(404, "NotFound", "The feed was not found.")
        if feed["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS"):
            if feed["_polls"] > 0:
                feed["_polls"] -= 1
                feed["processingStatus"] = "IN_PROGRESS"
                feed.setdefault("processingStartTime", _iso(_now()))
            else:
                fake.process_feed(feed)
        return JSONResponse(_public(feed))

    @api("getFeedDocument")
    async def get_feed_document(request: Request, body: bytes) -> Response:
        document_id = request.path_params["document_id"]
        if fake.documents.get(document_id) is None:
            return _errors(404, "NotFound", "The feed document was not found.")
        url = f"{str(request.base_url).rstrip('/')}/s3/feed-documents/{document_id}"
        answer = {"feedDocumentId": document_id, "url": url}
        if document_id in fake.compressed:
            answer["compressionAlgorithm"] = "GZIP"
        return JSONResponse(answer)

    # -- Orders --------------------------------------------------------------------------------

    @api("searchOrders")
    async def search_orders(request: Request, body: bytes) -> Response:
        query = request.query_params
        token = query.get("paginationToken")
        if token:
            try:
                mark = json.loads(base64.urlsafe_b64decode(token.encode()))
                after, before, kind, offset = mark["a"], mark["b"], mark["k"], mark["o"]
            except (ValueError, KeyError):
                return _errors(400, "InvalidInput", "Invalid paginationToken.")
        else:
            given = [k for k in ("createdAfter", "lastUpdatedAfter") if query.get(k)]
            if len(given) != 1:
                return _errors(
                    400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter."
                )
            kind = "createdTime" if given[0] == "createdAfter" else "lastUpdatedTime"
            after = _iso(_parse(query[given[0]]))
            before = _iso(_now())
            offset = 0
        size = int(query.get("maxResultsPerPage") or 100)
        if not 1 <= size <= 100:
            return _errors(400, "InvalidInput", "maxResultsPerPage is between 1 and 100.")
        low, high = _parse(after), _parse(before)
        matching = sorted(
            (o for o in fake.orders.values() if low <= _parse(o[kind]) <= high),
            key=lambda o: (o[kind], o["orderId"]),
        )
        included = set(_csv(request, "includedData"))
        page = matching[offset : offset + size]
        answer: dict[str, Any] = {"orders": [_with_data(o, included) for o in page]}
        if offset + size < len(matching):
            mark = {"a": after, "b": before, "k": kind, "o": offset + size}
            next_token = base64.urlsafe_b64encode(json.dumps(mark).encode()).decode()
            answer["pagination"] = {"nextToken": next_token}
        answer["lastUpdatedBefore" if kind == "lastUpdatedTime" else "createdBefore"] = before
        return JSONResponse(answer)

    @api("getOrder")
    async def get_order(request: Request, body: bytes) -> Response:
        order = fake.orders.get(request.path_params["order_id"])
        if order is None:
            return _errors(404, "NotFound", "The order was not found.")
        included = set(_csv(request, "includedData"))
        return JSONResponse({"order": _with_data(order, included)})

    @api("confirmShipment")
    async def confirm_shipment(request: Request, body: bytes) -> Response:
        order_id = request.path_params["order_id"]
        refused = fake.confirm(order_id, json_body(body))
        if refused is not None:
            return refused
        if order_id in fake.orders:
            await fake.notify(fake.orders[order_id], "Shipment confirmed")
        return Response(status_code=204)

    # -- control routes (not SP-API) -----------------------------------------------------------

    async def control_orders(request: Request) -> Response:
        try:
            order = fake.create_order(await request.json())
        except (ValueError, TypeError, KeyError) as error:
            return JSONResponse({"error": str(error)}, 400)
        await fake.notify(order, "Order placed")
        return JSONResponse({"orderId": order["orderId"]})

    async def control_cancel(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        if order_id not in fake.orders:
            return JSONResponse({"error": "unknown order"}, 404)
        try:
            order = fake.cancel_order(order_id)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, 409)
        await fake.notify(order, "Buyer cancelled")
        return JSONResponse({"orderId": order_id, "status": "CANCELLED"})

    async def control_order(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        order = fake.orders.get(order_id)
        if order is None:
            return JSONResponse({"error": "unknown order"}, 404)
        return JSONResponse(
            {
                "status": order["fulfillment"]["fulfillmentStatus"],
                "shipments": fake.shipments[order_id],
                "cancellations": fake.cancellations[order_id],
                "refunds": [],
                "acknowledged": False,  # SP-API has no acknowledgement
                "order": order,
            }
        )

    routes = [
        Route("/auth/o2/token", lwa_token, methods=["POST"]),
        Route(
            "/listings/2021-08-01/items/{seller_id}/{sku:path}", patch_listing, methods=["PATCH"]
        ),
        Route("/feeds/2021-06-30/documents", create_feed_document, methods=["POST"]),
        Route("/feeds/2021-06-30/documents/{document_id}", get_feed_document, methods=["GET"]),
        Route("/feeds/2021-06-30/feeds", create_feed, methods=["POST"]),
        Route("/feeds/2021-06-30/feeds/{feed_id}", get_feed, methods=["GET"]),
        Route("/s3/feed-documents/{document_id}", upload_document, methods=["PUT"]),
        Route("/s3/feed-documents/{document_id}", download_document, methods=["GET"]),
        Route("/orders/2026-01-01/orders", search_orders, methods=["GET"]),
        Route("/orders/2026-01-01/orders/{order_id}", get_order, methods=["GET"]),
        Route(
            "/orders/v0/orders/{order_id}/shipmentConfirmation",
            confirm_shipment,
            methods=["POST"],
        ),
        Route("/_fake/orders", control_orders, methods=["POST"]),
        Route("/_fake/orders/{order_id}/cancel", control_cancel, methods=["POST"]),
        Route("/_fake/orders/{order_id}", control_order, methods=["GET"]),
        *control_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.fake = fake
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the fake with uvicorn: ``python -m tools.fake_marketplaces.amazon --port N``."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Fake Amazon SP-API (tests and the demo)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8711)
    parser.add_argument("--seller-id", default="A1FAKESELLER")
    parser.add_argument("--marketplace-id", default="A13V1IB3VIYZZH")
    parser.add_argument("--notify-url", default=None)
    args = parser.parse_args(argv)
    state = FakeAmazonState(
        seller_id=args.seller_id, marketplace_id=args.marketplace_id, notify_url=args.notify_url
    )
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
