"""A fake Walmart Marketplace (US, API v3) that keeps state and answers in Walmart's JSON format:
the Token API, multi-node inventory and price updates, bulk MP_INVENTORY and price feeds with
their status reports, orders (list with ``nextCursor`` paging, one order, acknowledge, ship,
cancel, refund) and PO_CREATED / PO_LINE_AUTOCANCELLED webhook notifications. Control routes
under ``/_fake/`` seed listings, place and cancel orders, inject failures and configure it.

    python -m tools.fake_marketplaces.walmart --port 8412

Errors use Walmart's envelope ``{"errors": [{"code", "field", "description", "info",
"severity", "category", "causes", "errorIdentifiers"}]}``. Never used in production.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tools.fake_marketplaces.common import Exchange, FakeMarketplace, control_routes

OPEN = ("Created", "Acknowledged")
JSON = "application/json"


@dataclass
class _Record:
    """What the fake keeps beside a purchase order (the /_fake/orders/{id} view)."""

    acknowledged: bool = False
    shipments: list[dict[str, Any]] = field(default_factory=list)
    cancellations: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    modified_ms: int = 0


class ApiError(Exception):
    """An answer in Walmart's error envelope."""

    def __init__(self, status: int, code: str, description: str, field_: str = "") -> None:
        super().__init__(description)
        self.status = status
        self.body = error_body(code, description, field_)


def error_body(
    code: str, description: str, field_: str = "", category: str = "DATA"
) -> dict[str, Any]:
    return {
        "errors": [
            {
                "code": code,
                "field": field_,
                "description": description,
                "info": description,
                "severity": "ERROR",
                "category": category,
                "causes": [],
                "errorIdentifiers": {},
            }
        ]
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _money(value: Any) -> int:
    return int((Decimal(str(value)) * 100).quantize(Decimal(1)))


def _decimal(minor: int) -> float:
    return float(Decimal(minor) / 100)


def _parse_time(value: str) -> int:
    """A Walmart date query value (ISO 8601 or epoch milliseconds) in milliseconds."""
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", f"bad date {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class FakeWalmartState(FakeMarketplace):
    """Everything the fake Walmart knows; plain Python, shared with tests."""

    def __init__(
        self,
        *,
        token_lifetime: int = 900,
        timeout_delay: float = 1.0,
        feed_polls: int = 1,
        client_id: str | None = None,
        client_secret: str | None = None,
        ship_nodes: Iterable[str] | None = None,
        partner_id: str = "10001234567",
    ) -> None:
        super().__init__(token_lifetime=token_lifetime)
        self.listings: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.records: dict[str, _Record] = {}
        self.feeds: dict[str, dict[str, Any]] = {}
        self.notifications: list[bytes] = []  # every notification body sent (or due)
        self.timeout_delay = timeout_delay
        self.feed_polls = feed_polls  # status polls answered INPROGRESS before PROCESSED
        self.reject_feeds = 0  # the next feeds fail as a whole (feedStatus ERROR, no item)
        self.client_id = client_id
        self.client_secret = client_secret
        self.ship_nodes = set(ship_nodes) if ship_nodes is not None else None
        self.partner_id = partner_id
        self._next_order = 1_000_000_000_000 + secrets.randbelow(10**9)

    # -- test hooks -------------------------------------------------------------------------

    def seed(self, listings: dict[str, dict[str, Any]]) -> None:
        for sku, item in listings.items():
            self.listings[str(sku)] = {
                "quantity": int(item.get("quantity", 0)),
                "price": int(item.get("price", 0)),
                "currency": str(item.get("currency", "USD")),
            }

    # -- orders -----------------------------------------------------------------------------

    def _touch(self, po: str) -> int:
        now = max(_now_ms(), self.records[po].modified_ms + 1)
        self.records[po].modified_ms = now
        return now

    def create_order(
        self, lines: list[dict[str, Any]], buyer: dict[str, Any], order_id: str | None = None
    ) -> str:
        if not lines:
            raise ApiError(400, "INVALID_REQUEST.FAKE", "an order needs lines")
        for line in lines:
            if str(line.get("sku")) not in self.listings:
                raise ApiError(400, "CONTENT_NOT_FOUND.FAKE", f"unknown sku {line.get('sku')}")
        po = str(order_id or self._next_order)
        self._next_order += 1
        if po in self.orders:
            raise ApiError(400, "DUPLICATE.FAKE", f"order {po} exists")
        now = _now_ms()
        currency = "USD"
        order_lines = []
        total = 0
        for number, line in enumerate(lines, start=1):
            sku = str(line["sku"])
            qty = int(line.get("quantity", 1))
            listing = self.listings[sku]
            listing["quantity"] = max(0, listing["quantity"] - qty)
            currency = listing["currency"]
            amount = listing["price"] * qty
            total += amount
            order_lines.append(
                {
                    "lineNumber": str(number),
                    "item": {"productName": f"Item {sku}", "sku": sku},
                    "charges": {
                        "charge": [
                            {
                                "chargeType": "PRODUCT",
                                "chargeName": "ItemPrice",
                                "chargeAmount": {"currency": currency, "amount": _decimal(amount)},
                            }
                        ]
                    },
                    "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)},
                    "statusDate": now,
                    "orderLineStatuses": {
                        "orderLineStatus": [
                            {
                                "status": "Created",
                                "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(qty)},
                            }
                        ]
                    },
                    "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": "STANDARD"},
                }
            )
        name = str(buyer.get("name") or "Walmart Customer")
        self.orders[po] = {
            "purchaseOrderId": po,
            "customerOrderId": str(int(po) + 7),
            "customerEmailId": str(buyer.get("email") or f"{uuid.uuid4().hex}@relay.walmart.com"),
            "orderType": "REGULAR",
            "orderDate": now,
            "shippingInfo": {
                "phone": str(buyer.get("phone") or ""),
                "estimatedDeliveryDate": now + 5 * 86_400_000,
                "estimatedShipDate": now + 2 * 86_400_000,
                "methodCode": "Standard",
                "postalAddress": {
                    "name": name,
                    "address1": "702 SW 8th St",
                    "city": "Bentonville",
                    "state": "AR",
                    "postalCode": "72716",
                    "country": "USA",
                    "addressType": "RESIDENTIAL",
                },
            },
            "orderLines": {"orderLine": order_lines},
            "orderSummary": {
                "totalAmount": {"currencyAmount": _decimal(total), "currencyUnit": currency}
            },
            "shipNode": {"type": "SellerFulfilled"},
        }
        self.records[po] = _Record(modified_ms=now)
        return po

    def order_or_404(self, po: str) -> dict[str, Any]:
        if po not in self.orders:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", f"no purchase order {po}")
        return self.orders[po]

    @staticmethod
    def _line(order: dict[str, Any], number: str) -> dict[str, Any]:
        for line in order["orderLines"]["orderLine"]:
            if line["lineNumber"] == str(number):
                return dict(line)
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", f"no line {number}")

    @staticmethod
    def _entries(line: dict[str, Any]) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = line["orderLineStatuses"]["orderLineStatus"]
        return entries

    def open_units(self, line: dict[str, Any]) -> int:
        return sum(
            int(e["statusQuantity"]["amount"]) for e in self._entries(line) if e["status"] in OPEN
        )

    def _move(self, line: dict[str, Any], units: int, entry: dict[str, Any]) -> None:
        """Take ``units`` open units of the line into the new status ``entry``."""
        left = units
        kept = []
        for e in self._entries(line):
            if e["status"] in OPEN and left:
                have = int(e["statusQuantity"]["amount"])
                take = min(have, left)
                left -= take
                if have - take:
                    kept.append({**e, "statusQuantity": {**e["statusQuantity"],
                                                         "amount": str(have - take)}})  # fmt: skip
            else:
                kept.append(e)
        entry["statusQuantity"] = {"unitOfMeasurement": "EACH", "amount": str(units)}
        kept.append(entry)
        line["orderLineStatuses"]["orderLineStatus"] = kept

    def _line_objects(self, order: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {ln["lineNumber"]: ln for ln in order["orderLines"]["orderLine"]}

    def acknowledge(self, po: str) -> dict[str, Any]:
        order = self.order_or_404(po)
        now = self._touch(po)
        for line in order["orderLines"]["orderLine"]:
            for e in self._entries(line):
                if e["status"] == "Created":
                    e["status"] = "Acknowledged"
                    line["statusDate"] = now
        self.records[po].acknowledged = True
        return order

    def _requested(
        self, lines: dict[str, dict[str, Any]], body: dict[str, Any], request: str
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(order line, its entry) for each entry of ``body[request].orderLines.orderLine``;
        400 for a line the order does not have."""
        for item in _list(body, request, "orderLines", "orderLine"):
            line = lines.get(str(item.get("lineNumber")))
            if line is None:
                raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                               f"no line {item.get('lineNumber')}", "lineNumber")  # fmt: skip
            yield line, item

    def _check_open(
        self, lines: dict[str, dict[str, Any]], wanted: list[tuple[dict[str, Any], int]], verb: str
    ) -> None:
        """400 unless each line has the units ``wanted`` of it (in all) still open."""
        need: dict[str, int] = {}
        for line, units in wanted:
            need[line["lineNumber"]] = need.get(line["lineNumber"], 0) + units
        for number, units in need.items():
            if units <= 0 or units > self.open_units(lines[number]):
                raise ApiError(
                    400,
                    "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                    f"line {number}: {units} units cannot be {verb}",
                    "statusQuantity",
                )

    def ship(self, po: str, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order_or_404(po)
        lines = self._line_objects(order)
        wanted: list[tuple[dict[str, Any], int, dict[str, Any]]] = []
        for line, item in self._requested(lines, body, "orderShipment"):
            for status in _list(item, "orderLineStatuses", "orderLineStatus"):
                units = int(str(status["statusQuantity"]["amount"]))
                tracking = dict(status["trackingInfo"])
                if any(
                    e["status"] == "Shipped"
                    and e.get("trackingInfo", {}).get("trackingNumber")
                    == tracking["trackingNumber"]
                    for e in self._entries(line)
                ):
                    continue  # the same shipment again: already recorded
                wanted.append((line, units, tracking))
        self._check_open(lines, [(line, units) for line, units, _ in wanted], "shipped")
        now = self._touch(po) if wanted else 0
        by_tracking: dict[str, dict[str, Any]] = {}
        for line, units, tracking in wanted:
            self._move(line, units, {"status": "Shipped", "trackingInfo": tracking})
            line["statusDate"] = now
            carrier = tracking["carrierName"]
            shipment = by_tracking.setdefault(
                tracking["trackingNumber"],
                {
                    "carrier": carrier.get("carrier") or carrier.get("otherCarrier"),
                    "tracking": tracking["trackingNumber"],
                    "lines": [],
                },
            )
            shipment["lines"].append({"lineId": line["lineNumber"], "quantity": units})
        self.records[po].shipments.extend(by_tracking.values())
        return order

    def cancel_lines(self, po: str, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order_or_404(po)
        lines = self._line_objects(order)
        wanted = []
        for line, item in self._requested(lines, body, "orderCancellation"):
            for status in _list(item, "orderLineStatuses", "orderLineStatus"):
                wanted.append(
                    (
                        line,
                        int(str(status["statusQuantity"]["amount"])),
                        status["cancellationReason"],
                    )
                )
        self._check_open(lines, [(line, units) for line, units, _ in wanted], "cancelled")
        now = self._touch(po)
        for line, units, reason in wanted:
            self._move(line, units, {"status": "Cancelled", "cancellationReason": reason})
            line["statusDate"] = now
            self.records[po].cancellations.append(
                {"lineId": line["lineNumber"], "quantity": units, "reason": reason}
            )
        return order

    def refund_lines(self, po: str, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order_or_404(po)
        lines = self._line_objects(order)
        wanted = []
        for line, item in self._requested(lines, body, "orderRefund"):
            for refund in _list(item, "refunds", "refund"):
                for charge in _list(refund, "refundCharges", "refundCharge"):
                    wanted.append((line, refund, charge))
        if not wanted:
            raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "nothing to refund")
        now = self._touch(po)
        for line, refund, charge in wanted:
            amount = abs(_money(charge["charge"]["chargeAmount"]["amount"]))
            held = line.setdefault(
                "refund",
                {
                    "refundId": uuid.uuid4().hex[:12],
                    "refundComments": str(refund.get("refundComments", "")),
                    "refundCharges": {"refundCharge": []},
                },
            )
            held["refundCharges"]["refundCharge"].append(copy.deepcopy(charge))
            line["statusDate"] = now
            self.records[po].refunds.append({"lineId": line["lineNumber"], "amount": amount})
        return order

    def customer_cancel(self, po: str) -> dict[str, Any]:
        """The buyer (or Walmart) cancels every unit not shipped yet."""
        order = self.order_or_404(po)
        now = self._touch(po)
        for line in order["orderLines"]["orderLine"]:
            units = self.open_units(line)
            if units:
                self._move(
                    line,
                    units,
                    {
                        "status": "Cancelled",
                        "cancellationReason": "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
                    },
                )
                line["statusDate"] = now
                self.records[po].cancellations.append(
                    {"lineId": line["lineNumber"], "quantity": units, "byMarketplace": True}
                )
        return order

    def summary(self, po: str) -> dict[str, Any]:
        order = self.order_or_404(po)
        record = self.records[po]
        entries = [e for ln in order["orderLines"]["orderLine"] for e in self._entries(ln)]
        if any(e["status"] in OPEN for e in entries):
            status = "Acknowledged" if record.acknowledged else "Created"
        elif any(e["status"] in ("Shipped", "Delivered") for e in entries):
            status = "Shipped"
        else:
            status = "Cancelled"
        return {
            "status": status,
            "shipments": record.shipments,
            "cancellations": [
                {"lineId": c["lineId"], "quantity": c["quantity"]} for c in record.cancellations
            ],
            "refunds": record.refunds,
            "acknowledged": record.acknowledged,
        }

    def notification(self, event_type: str, po: str) -> bytes:
        """The webhook body Walmart posts for an order event (source + payload)."""
        order = self.orders[po]
        body = {
            "source": {
                "eventType": event_type,
                "eventTime": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "eventId": str(uuid.uuid4()),
            },
            "payload": {
                "partnerId": self.partner_id,
                "purchaseOrderId": po,
                "customerOrderId": order["customerOrderId"],
                "orderDate": _iso_ms(order["orderDate"]),
                "estimatedDeliveryDate": _iso_ms(order["shippingInfo"]["estimatedDeliveryDate"]),
                "estimatedShipDate": _iso_ms(order["shippingInfo"]["estimatedShipDate"]),
                "orderLines": [
                    {
                        "lineNumber": ln["lineNumber"],
                        "sku": ln["item"]["sku"],
                        "productName": ln["item"]["productName"],
                        "quantity": {
                            "unitOfMeasure": "EACH",
                            "measurementValue": int(ln["orderLineQuantity"]["amount"]),
                        },
                        "status": _line_status(ln),
                    }
                    for ln in order["orderLines"]["orderLine"]
                ],
            },
        }
        return json.dumps(body).encode()

    async def notify(self, event_type: str, po: str) -> None:
        body = self.notification(event_type, po)
        self.notifications.extend([body] * self.copies)
        await self.deliver(body, {"Content-Type": JSON})

    # -- listings and feeds -------------------------------------------------------------------

    def set_quantity(self, sku: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
        if sku not in self.listings:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", f"no item {sku}", "sku")
        answers = []
        for node in nodes:
            name = str(node.get("shipNode", ""))
            if self.ship_nodes is not None and name not in self.ship_nodes:
                answers.append(
                    {
                        "shipNode": name,
                        "status": "Failed",
                        "errors": error_body(
                            "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                            f"ship node {name} is not the seller's",
                            "shipNode",
                        )["errors"],
                    }
                )
                continue
            self.listings[sku]["quantity"] = int(Decimal(str(node["inputQty"]["amount"])))
            answers.append({"shipNode": name, "status": "Success"})
        return {"sku": sku, "nodes": answers}

    def set_price(self, sku: str, pricing: list[dict[str, Any]]) -> dict[str, Any]:
        if sku not in self.listings:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_PRICE_API", f"no item {sku}", "sku")
        for price in pricing:
            if price.get("currentPriceType", "BASE") in ("BASE", "REDUCED", "CLEARANCE"):
                current = price["currentPrice"]
                self.listings[sku]["price"] = _money(current["amount"])
                self.listings[sku]["currency"] = str(current.get("currency", "USD"))
        return {
            "mart": "WALMART_US",
            "sku": sku,
            "statusCode": 200,
            "message": "Price updated; the site shows it within minutes.",
        }

    def run_feed(self, feed_type: str, document: dict[str, Any]) -> str:
        items: list[dict[str, Any]] = []
        feed_id = f"{uuid.uuid4().hex.upper()}@AQYBAAA"
        if self.reject_feeds > 0:
            self.reject_feeds -= 1
            self.feeds[feed_id] = {"type": feed_type, "items": [], "polls": 0, "at": _now_ms(),
                                   "error": "the feed file could not be read"}  # fmt: skip
            return feed_id
        if feed_type in ("MP_INVENTORY", "inventory"):
            entries = document.get("inventory") or document.get("Inventory") or []
            for index, entry in enumerate(entries):
                sku = str(entry.get("sku", ""))
                try:
                    if "shipNodes" in entry:
                        nodes = [
                            {"shipNode": n["shipNode"], "inputQty": n["quantity"]}
                            for n in entry["shipNodes"]
                        ]
                    else:
                        nodes = [{"shipNode": "default", "inputQty": entry["quantity"]}]
                    answer = self.set_quantity(sku, nodes)
                    failed = [n for n in answer["nodes"] if n["status"] != "Success"]
                    items.append(_item(index, sku, "DATA_ERROR" if failed else "SUCCESS"))
                except ApiError as error:
                    items.append(_item(index, sku, "DATA_ERROR", error.body["errors"][0]))
                except (KeyError, TypeError, ValueError):
                    items.append(_item(index, sku, "DATA_ERROR", {"description": "malformed"}))
        else:
            for index, entry in enumerate(document.get("Price") or []):
                sku = str(entry.get("sku", ""))
                try:
                    self.set_price(sku, entry["pricing"])
                    items.append(_item(index, sku, "SUCCESS"))
                except ApiError as error:
                    items.append(_item(index, sku, "DATA_ERROR", error.body["errors"][0]))
                except (KeyError, TypeError, ValueError):
                    items.append(_item(index, sku, "DATA_ERROR", {"description": "malformed"}))
        self.feeds[feed_id] = {"type": feed_type, "items": items, "polls": 0, "at": _now_ms()}
        return feed_id

    def feed_status(self, feed_id: str, details: bool, offset: int, limit: int) -> dict[str, Any]:
        feed = self.feeds.get(feed_id)
        if feed is None:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_FEED_API", f"no feed {feed_id}", "feedId")
        items = feed["items"]
        body: dict[str, Any] = {
            "feedId": feed_id,
            "feedSubmissionDate": feed["at"],
            "itemsReceived": len(items),
            "offset": offset,
            "limit": limit,
        }
        if feed["polls"] < self.feed_polls:
            feed["polls"] += 1
            body.update(feedStatus="INPROGRESS", itemsSucceeded=0, itemsFailed=0,
                        itemsProcessing=len(items))  # fmt: skip
            return body
        if feed.get("error"):
            body.update(
                feedStatus="ERROR",
                itemsSucceeded=0,
                itemsFailed=0,
                itemsProcessing=0,
                ingestionErrors={
                    "ingestionError": [
                        {
                            "type": "DATA_ERROR",
                            "code": "ERR_INT_DATA_01",
                            "description": feed["error"],
                        }
                    ]
                },
            )
            return body
        ok = sum(1 for i in items if i["ingestionStatus"] == "SUCCESS")
        body.update(
            feedStatus="PROCESSED",
            itemsSucceeded=ok,
            itemsFailed=len(items) - ok,
            itemsProcessing=0,
        )
        if details:
            body["itemDetails"] = {"itemIngestionStatus": items[offset : offset + limit]}
        return body


def _item(index: int, sku: str, status: str, error: dict[str, Any] | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"martId": 0, "sku": sku, "index": index, "ingestionStatus": status}
    if error is not None:
        item["ingestionErrors"] = {
            "ingestionError": [
                {
                    "type": "DATA_ERROR",
                    "code": str(error.get("code", "ERR_EXT_DATA_0101")),
                    "description": str(error.get("description", "")),
                }
            ]
        }
    return item


def _iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


def _line_status(line: dict[str, Any]) -> str:
    statuses = [e["status"] for e in line["orderLineStatuses"]["orderLineStatus"]]
    return statuses[-1] if statuses else "Created"


def _list(node: Any, *path: str) -> list[Any]:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, list):
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", f"{'.'.join(path)} missing")
    return node


# -- the HTTP side ---------------------------------------------------------------------------

Handler = Callable[[FakeWalmartState, Request, dict[str, str], bytes], Awaitable[Any]]


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_GATEWAY_API", "malformed JSON") from None


async def _token(state: FakeWalmartState, request: Request, _: dict[str, str], body: bytes) -> Any:
    auth = request.headers.get("authorization", "")
    client = ""
    if auth.lower().startswith("basic "):
        try:
            client = base64.b64decode(auth[6:]).decode()
        except ValueError:
            client = ""
    cid, _sep, secret = client.partition(":")
    expected = (state.client_id, state.client_secret)
    if not cid or not secret or (expected[0] is not None and (cid, secret) != expected):
        raise ApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized client", "Authorization")
    form = dict(parse_qsl(body.decode(errors="replace")))
    if form.get("grant_type") != "client_credentials":
        raise ApiError(400, "INVALID_REQUEST.GMP_GATEWAY_API", "unsupported grant_type")
    token = secrets.token_urlsafe(32)
    state.issue_token(token)
    return {"access_token": token, "token_type": "Bearer", "expires_in": state.token_lifetime}


async def _inventory(state: FakeWalmartState, _r: Request, m: dict[str, str], body: bytes) -> Any:
    data = _json_body(body)
    try:
        nodes = list(data["inventories"]["nodes"])
    except (KeyError, TypeError):
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API", "no nodes") from None
    return state.set_quantity(m["sku"], nodes)


async def _price(state: FakeWalmartState, _r: Request, _m: dict[str, str], body: bytes) -> Any:
    data = _json_body(body)
    if not isinstance(data, dict) or "sku" not in data or not data.get("pricing"):
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_PRICE_API", "sku and pricing needed")
    return state.set_price(str(data["sku"]), list(data["pricing"]))


def _feed_type(request: Request) -> str:
    return request.query_params.get("feedType", "")


async def _feed(state: FakeWalmartState, request: Request, _m: dict[str, str], body: bytes) -> Any:
    feed_type = _feed_type(request)
    if feed_type not in ("MP_INVENTORY", "inventory", "price"):
        raise ApiError(400, "INVALID_REQUEST_PARAM.GMP_FEED_API", f"feedType {feed_type!r}")
    ctype = request.headers.get("content-type", "")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
    )
    document: bytes | None = None
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                document = payload if isinstance(payload, bytes) else None
    if document is None:
        raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_FEED_API", "no file part", "file")
    return {"feedId": state.run_feed(feed_type, _json_body(document)), "additionalAttributes": None,
            "errors": None}  # fmt: skip


async def _feed_status(
    state: FakeWalmartState, request: Request, m: dict[str, str], _b: bytes
) -> Any:
    q = request.query_params
    details = q.get("includeDetails", "false") == "true"
    offset = max(0, int(q.get("offset", "0") or 0))
    limit = max(1, min(1000, int(q.get("limit", "50") or 50)))
    return state.feed_status(m["feedId"], details, offset, limit)


async def _orders(state: FakeWalmartState, request: Request, _m: dict[str, str], _b: bytes) -> Any:
    q = dict(request.query_params)
    limit = max(1, min(200, int(q.get("limit", "10") or 10)))
    start = int(q.get("soIndex", "0") or 0)
    created = _parse_time(q["createdStartDate"]) if q.get("createdStartDate") else None
    modified = _parse_time(q["lastModifiedStartDate"]) if q.get("lastModifiedStartDate") else None
    matched = []
    for po, order in state.orders.items():
        if created is not None and order["orderDate"] < created:
            continue
        if modified is not None and state.records[po].modified_ms < modified:
            continue
        if q.get("purchaseOrderId") and po != q["purchaseOrderId"]:
            continue
        if q.get("status") and not any(
            e["status"] == q["status"]
            for ln in order["orderLines"]["orderLine"]
            for e in ln["orderLineStatuses"]["orderLineStatus"]
        ):
            continue
        matched.append(order)
    if not matched:
        raise ApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No orders found", "data")
    matched.sort(key=lambda o: (o["orderDate"], o["purchaseOrderId"]))
    page = matched[start : start + limit]
    meta: dict[str, Any] = {"totalCount": len(matched), "limit": limit}
    if start + limit < len(matched):
        keep = {k: v for k, v in q.items() if k not in ("soIndex", "hasMoreElements", "limit")}
        meta["nextCursor"] = "?" + urlencode(
            {"limit": limit, "hasMoreElements": "true", "soIndex": start + limit, **keep}
        )
    return {"list": {"meta": meta, "elements": {"order": page}}}


async def _order(state: FakeWalmartState, _r: Request, m: dict[str, str], _b: bytes) -> Any:
    return {"order": state.order_or_404(m["po"])}


async def _ack(state: FakeWalmartState, _r: Request, m: dict[str, str], _b: bytes) -> Any:
    return {"order": state.acknowledge(m["po"])}


async def _ship(state: FakeWalmartState, _r: Request, m: dict[str, str], body: bytes) -> Any:
    return {"order": state.ship(m["po"], _json_body(body))}


async def _cancel(state: FakeWalmartState, _r: Request, m: dict[str, str], body: bytes) -> Any:
    return {"order": state.cancel_lines(m["po"], _json_body(body))}


async def _refund(state: FakeWalmartState, _r: Request, m: dict[str, str], body: bytes) -> Any:
    return {"order": state.refund_lines(m["po"], _json_body(body))}


# (method, path pattern, operation id of the Walmart spec (or a chooser), handler)
ROUTES: list[tuple[str, re.Pattern[str], str | Callable[[Request], str], Handler]] = [
    ("POST", re.compile(r"/v3/token"), "tokenAPI", _token),
    ("PUT", re.compile(r"/v3/inventories/(?P<sku>[^/]+)"), "updateMultiNodeInventory", _inventory),
    ("PUT", re.compile(r"/v3/price"), "updatePrice", _price),
    (
        "POST",
        re.compile(r"/v3/feeds"),
        lambda r: "priceBulkUploads" if _feed_type(r) == "price" else "updateBulkInventory",
        _feed,
    ),
    ("GET", re.compile(r"/v3/feeds/(?P<feedId>[^/]+)"), "getFeedItemStatus", _feed_status),
    ("GET", re.compile(r"/v3/orders"), "getAllOrders", _orders),
    ("GET", re.compile(r"/v3/orders/(?P<po>[^/]+)"), "getAnOrder", _order),
    ("POST", re.compile(r"/v3/orders/(?P<po>[^/]+)/acknowledge"), "acknowledgeOrders", _ack),
    ("POST", re.compile(r"/v3/orders/(?P<po>[^/]+)/shipping"), "shippingUpdates", _ship),
    ("POST", re.compile(r"/v3/orders/(?P<po>[^/]+)/cancel"), "cancelOrderLines", _cancel),
    ("POST", re.compile(r"/v3/orders/(?P<po>[^/]+)/refund"), "refundOrderLines", _refund),
]


def _route(request: Request) -> tuple[str, Handler, dict[str, str]] | None:
    for method, pattern, op, handler in ROUTES:
        match = pattern.fullmatch(request.url.path)
        if match and request.method == method:
            return (op if isinstance(op, str) else op(request)), handler, match.groupdict()
    return None


async def _api(request: Request) -> Response:
    state: FakeWalmartState = request.app.state.fake
    body = await request.body()
    operation, status, payload, extra = "unknown", 404, None, {}
    try:
        found = _route(request)
        if found is None:
            raise ApiError(404, "NOT_FOUND.GMP_GATEWAY_API", "no such resource")
        operation, handler, params = found
        mode = state.take_failure(operation)
        if mode == 429:
            extra = {"Retry-After": "0"}
            raise ApiError(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too many requests")
        if mode == 500:
            raise ApiError(500, "INTERNAL_SERVER_ERROR.GMP_GATEWAY_API", "Internal error")
        if mode == "timeout":
            await asyncio.sleep(state.timeout_delay)
        if operation != "tokenAPI":
            _check_headers(state, request)
        elif not request.headers.get("wm_svc.name") or not request.headers.get(
            "wm_qos.correlation_id"
        ):
            raise ApiError(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "WM_ headers missing")
        payload = await handler(state, request, params, body)
        status = 200
    except ApiError as error:
        status, payload = error.status, error.body
    response = Response(json.dumps(payload).encode(), status, headers=extra, media_type=JSON)
    state.exchanges.append(Exchange.of(operation, request, body, response))
    return response


def _check_headers(state: FakeWalmartState, request: Request) -> None:
    if not state.token_valid(request.headers.get("wm_sec.access_token", "")):
        raise ApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized token or invalid request",
                       "UNAUTHORIZED")  # fmt: skip
    for name in ("wm_svc.name", "wm_qos.correlation_id"):
        if not request.headers.get(name):
            raise ApiError(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", f"{name} missing", name)


# -- control routes -------------------------------------------------------------------------


async def _control_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return None


def _state(request: Request) -> FakeWalmartState:
    state: FakeWalmartState = request.app.state.fake
    return state


async def _fake_orders(request: Request) -> Response:
    state = _state(request)
    body = await _control_body(request)
    if not isinstance(body, dict):
        return JSONResponse({"error": "a JSON object"}, status_code=400)
    try:
        po = state.create_order(
            list(body.get("lines") or []), dict(body.get("buyer") or {}), body.get("orderId")
        )
    except ApiError as error:
        return JSONResponse(error.body, status_code=error.status)
    await state.notify("PO_CREATED", po)
    return JSONResponse({"orderId": po})


async def _fake_order(request: Request) -> Response:
    try:
        return JSONResponse(_state(request).summary(request.path_params["po"]))
    except ApiError as error:
        return JSONResponse(error.body, status_code=error.status)


async def _fake_order_cancel(request: Request) -> Response:
    state = _state(request)
    po = request.path_params["po"]
    try:
        state.customer_cancel(po)
    except ApiError as error:
        return JSONResponse(error.body, status_code=error.status)
    await state.notify("PO_LINE_AUTOCANCELLED", po)
    return JSONResponse(state.summary(po))


def create_app(state: FakeWalmartState | None = None) -> Starlette:
    """The fake's ASGI app; ``app.state.fake`` is its state."""
    app = Starlette(
        routes=[
            Route("/_fake/orders", _fake_orders, methods=["POST"]),
            Route("/_fake/orders/{po}", _fake_order, methods=["GET"]),
            Route("/_fake/orders/{po}/cancel", _fake_order_cancel, methods=["POST"]),
            *control_routes(),
            Route("/v3/{path:path}", _api, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ]
    )
    app.state.fake = state or FakeWalmartState()
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="A fake Walmart Marketplace API (v3).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8412)
    parser.add_argument("--token-lifetime", type=int, default=900)
    args = parser.parse_args(argv)
    state = FakeWalmartState(token_lifetime=args.token_lifetime)
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
