"""eBay Sell APIs as a marketplace: listings through the Inventory API, orders through the
Fulfillment API, notifications from the Notification API.

- Authentication: a user access token minted from the seller's refresh token
  (``grant_type=refresh_token``, HTTP Basic ``client_id:client_secret``) at
  ``options["token_url"]`` (default: ``{base_url}/identity/v1/oauth2/token``, which is
  https://api.ebay.com/identity/v1/oauth2/token for the production base URL), kept in a
  ``CachedToken`` and sent as ``Authorization: Bearer``.
- Listings: ``bulkUpdatePriceQuantity`` sets the inventory item's ship-to-home quantity and the
  price and available quantity of the SKU's published fixed-price offers, 25 SKUs per call
  (the maximum ``BulkPriceQuantity.requests`` documents). Offer ids come from ``getOffers`` by
  SKU and stay cached in the adapter (eBay's ids, mapped to our SKUs).
- Orders: ``getOrders`` with the ``lastmodifieddate`` filter, 200 per page (its documented
  maximum), and ``getOrder``.
- ``acknowledge`` calls nothing: the Fulfillment API has no order acknowledgement (an eBay
  order is the seller's to fulfil as soon as it is paid).
- ``cancel`` raises ``MarketplaceFailure(retryable=False)``: none of the given specs (Inventory,
  Fulfillment, Notification) offers a seller cancellation; eBay takes those in Seller Hub or
  through its Post-Order API, which this adapter does not speak.
- Notifications: ``order_ids_in_notification`` reads the envelope; ``verify_notification``
  (not part of the port) checks ``X-EBAY-SIGNATURE`` (ECDSA P-256, verified by the
  ``cryptography`` library) with the key from getPublicKey.

Account options (strings): ``marketplace_id`` (e.g. ``EBAY_FR``), ``token_url``,
``token_margin`` (seconds before expiry to refresh, default 60), ``concurrency`` (bulk calls,
and getOffers lookups, in flight; default 4), and the common ``rate_scale``, ``attempts``,
``backoff_initial``, ``backoff_jitter``, ``backoff_max`` and ``timeout`` (see
``MarketplaceHttp.for_account``).
Credentials: ``client_id``, ``client_secret``, ``refresh_token``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.marketplaces.config import MarketplaceAccount
from adapters.marketplaces.http import (
    Buckets,
    CachedToken,
    MarketplaceHttp,
    Rate,
    minor_to_decimal,
    money_to_minor,
    redact,
    utc_iso,
)
from domain.marketplaces.model import (
    Listing,
    MarketplaceBuyer,
    MarketplaceFailure,
    MarketplaceKind,
    MarketplaceOrder,
    MarketplaceOrderLine,
    MarketplaceOrderStatus,
    OrderPage,
    PushResult,
    Shipment,
    ShippedLine,
)

log = logging.getLogger("o2o.marketplaces.ebay")
T = TypeVar("T")

INVENTORY = "/sell/inventory/v1"
FULFILLMENT = "/sell/fulfillment/v1"
NOTIFICATION = "/commerce/notification/v1"
TOKEN_PATH = "/identity/v1/oauth2/token"
SCOPES = " ".join(
    f"https://api.ebay.com/oauth/api_scope/{scope}"
    # sell.finances: issueRefund asks for it (sell_fulfillment_v1_oas3.json, its security)
    for scope in ("sell.inventory", "sell.fulfillment", "sell.finances")
)

APP_SCOPE = "https://api.ebay.com/oauth/api_scope"
BULK_MAX = 25  # BulkPriceQuantity.requests: "one or more inventory items (up to 25)"
ORDERS_PAGE = 200  # getOrders ``limit``: "Maximum: 200"

# Call limits: eBay's "API Call Limits" page (developer.ebay.com/develop/api/sell/api_call_limits)
# gives daily quotas per API, not per second: Inventory API 2,000,000 calls a day, Fulfillment
# API 100,000 calls a day, Notification API 10,000 a day. Spread evenly over the day that is
# 23.1/s, 1.16/s and 0.12/s; the burst sizes are ours (the page gives none). Every operation of
# one API takes from that API's single bucket (``bucket_of``): the quota is the API's.
_DAY = 86_400.0
API_RATES = {
    "inventory": Rate(2_000_000 / _DAY, 25),
    "fulfillment": Rate(100_000 / _DAY, 10),
    "notification": Rate(10_000 / _DAY, 2),
    "identity": Rate(1.0, 5),  # the OAuth token endpoint: no published figure; ours
}
OPERATION_API = {
    "getOffers": "inventory",
    "bulkUpdatePriceQuantity": "inventory",
    "getOrders": "fulfillment",
    "getOrder": "fulfillment",
    "createShippingFulfillment": "fulfillment",
    "issueRefund": "fulfillment",
    "getPublicKey": "notification",
    "token": "identity",
}

# Notification topics about orders (Notification API topics); their ``notification.data``
# carries the order id. Other topics (account deletion, item availability...) give [].
ORDER_TOPICS = frozenset({"ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED", "ORDER_CANCELLATION"})
REFUND_REASONS = frozenset(
    {
        "BUYER_CANCEL",
        "BUYER_RETURN",
        "ITEM_NOT_RECEIVED",
        "SELLER_WRONG_ITEM",
        "SELLER_OUT_OF_STOCK",
        "SELLER_FOUND_CHEAPER_PRICE",
        "OTHER",
    }
)  # ReasonForRefundEnum

# The digests an X-EBAY-SIGNATURE header may name (eBay signs SHA1 digests)
SIGNATURE_DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "SHA1": hashes.SHA1(),
    "SHA256": hashes.SHA256(),
}


def _batches(items: Iterable[Listing], size: int) -> Iterator[list[Listing]]:
    batch: list[Listing] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _settled(calls: Iterable[Awaitable[T]]) -> list[T]:
    """Every call's result; when some failed, the first failure once all have ended (no call
    is left running behind the caller's back)."""
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(list[T], outcomes)


def _parse_time(value: Any) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _errors_text(errors: Any) -> str:
    if not isinstance(errors, list) or not errors:
        return "refused"
    parts = []
    for error in errors:
        if isinstance(error, dict):
            code = error.get("errorId")
            message = error.get("message") or error.get("longMessage") or "error"
            parts.append(f"{code}: {message}" if code is not None else str(message))
    return "; ".join(parts) or "refused"


def _body_errors(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return redact(response.text[:300]) or f"HTTP {response.status_code}"
    if isinstance(body, dict) and "errors" in body:
        return redact(_errors_text(body["errors"]))
    return redact(response.text[:300])


def _amount(value: Any) -> int:
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return money_to_minor(value["value"])
    return 0


class EbayMarketplace:
    """One eBay seller account (see the module's docstring)."""

    kind = MarketplaceKind.EBAY

    def __init__(
        self,
        account: MarketplaceAccount,
        *,
        buckets: Buckets,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        options = account.options
        self.account = account
        self.marketplace_id = options.get("marketplace_id", "EBAY_US")
        self.token_url = options.get("token_url") or f"{account.base_url}{TOKEN_PATH}"
        self.concurrency = max(1, int(options.get("concurrency", "4")))
        self._lookups = asyncio.Semaphore(self.concurrency)  # getOffers calls in flight
        margin = float(options.get("token_margin", "60"))

        def client(auth: CachedToken | None) -> MarketplaceHttp:
            return MarketplaceHttp.for_account(
                account,
                buckets=buckets,
                rates=API_RATES,
                bucket_of=OPERATION_API,
                transport=transport,
                auth=auth,
                error_text=_body_errors,
            )

        # Token requests go through their own client (no auth, same buckets and retries): the
        # cached token's lock is held while one is fetched.
        self._token_http = client(None)
        self.token = CachedToken(self._fetch_token, margin=margin)
        self.http = client(self.token)
        self._offers: dict[str, tuple[str, ...]] = {}  # sku -> its published offer ids
        # getPublicKey takes an application token (see _fetch_app_token)
        self.app_token = CachedToken(self._fetch_app_token, margin=margin)
        self.notification_http = client(self.app_token)
        # kid -> the P-256 key getPublicKey gave (None: not a key of eBay's, or not P-256)
        self._public_keys: dict[str, ec.EllipticCurvePublicKey | None] = {}

    # -- authentication ---------------------------------------------------------------------

    async def _fetch_token(self, _client: httpx.AsyncClient) -> tuple[dict[str, str], float]:
        """The seller's user access token (refresh-token grant)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.account.credentials.get("refresh_token", ""),
            "scope": SCOPES,
        }
        return await self._grant(form)

    async def _fetch_app_token(self, _client: httpx.AsyncClient) -> tuple[dict[str, str], float]:
        """An application access token (client-credentials grant): getPublicKey asks for the
        ``api_scope`` scope, which user tokens of the sell scopes do not carry."""
        return await self._grant({"grant_type": "client_credentials", "scope": APP_SCOPE})

    async def _grant(self, form: dict[str, str]) -> tuple[dict[str, str], float]:
        """An access token of the OAuth endpoint (HTTP Basic client credentials): 429, 5xx and
        timeouts retried like any call, a refusal raised (not retryable)."""
        credentials = self.account.credentials
        basic = base64.b64encode(
            f"{credentials.get('client_id', '')}:{credentials.get('client_secret', '')}".encode()
        ).decode()
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        body = await self._token_http.json(
            "token", "POST", self.token_url, data=form, headers=headers
        )
        lifetime = float(body.get("expires_in", 7200))
        return {"Authorization": f"Bearer {body['access_token']}"}, lifetime

    # -- listings ---------------------------------------------------------------------------

    async def push_listings(self, listings: Sequence[Listing]) -> list[PushResult]:
        return await self._push(listings)

    async def push_bulk(self, listings: Sequence[Listing]) -> list[PushResult]:
        """The Inventory API's bulk mechanism is bulkUpdatePriceQuantity itself (synchronous,
        per-SKU results): no feed document, no report to wait for."""
        return await self._push(listings)

    async def _push(self, listings: Iterable[Listing]) -> list[PushResult]:
        """Batches of 25, ``concurrency`` batches in flight at a time: only those batches'
        requests exist at once, whatever the number of listings."""
        results: list[PushResult] = []
        window: list[list[Listing]] = []
        for batch in _batches(listings, BULK_MAX):
            window.append(batch)
            if len(window) == self.concurrency:
                results.extend(await self._push_window(window))
                window = []
        if window:
            results.extend(await self._push_window(window))
        return results

    async def _push_window(self, window: list[list[Listing]]) -> list[PushResult]:
        done = await _settled(self._push_batch(batch) for batch in window)
        return [result for batch in done for result in batch]

    async def _offer_ids(self, sku: str) -> tuple[str, ...] | str:
        """The SKU's published fixed-price offer ids (cached), or why there are none."""
        cached = self._offers.get(sku)
        if cached:
            return cached
        async with self._lookups:
            response = await self.http.request(
                "getOffers",
                "GET",
                f"{INVENTORY}/offer",
                params={"sku": sku, "marketplace_id": self.marketplace_id},
                headers={"Accept": "application/json"},
            )
        if response.status_code == 404:
            return "no eBay offer for this SKU (create and publish one first)"
        if response.status_code >= 400:
            return f"getOffers: HTTP {response.status_code}: {_body_errors(response)}"
        offers = response.json().get("offers") or []
        ids = tuple(
            str(offer["offerId"])
            for offer in offers
            if offer.get("offerId")
            and offer.get("status", "PUBLISHED") == "PUBLISHED"
            and offer.get("format", "FIXED_PRICE") == "FIXED_PRICE"
        )
        if not ids:
            return "no published fixed-price eBay offer for this SKU"
        self._offers[sku] = ids
        return ids

    async def _push_batch(self, batch: list[Listing]) -> list[PushResult]:
        found = await _settled(self._offer_ids(listing.sku) for listing in batch)
        refused: dict[str, str] = {}
        requests: list[dict[str, Any]] = []
        for listing, offers in zip(batch, found, strict=True):
            if isinstance(offers, str):
                refused[listing.sku] = offers
                continue
            price = {"value": minor_to_decimal(listing.price), "currency": listing.currency}
            quantity = max(0, listing.quantity)
            requests.append(
                {
                    "sku": listing.sku,
                    "shipToLocationAvailability": {"quantity": quantity},
                    "offers": [
                        {"offerId": offer, "availableQuantity": quantity, "price": price}
                        for offer in offers
                    ],
                }
            )
        outcome: dict[str, str | None] = {}
        if requests:
            response = await self.http.request(
                "bulkUpdatePriceQuantity",
                "POST",
                f"{INVENTORY}/bulk_update_price_quantity",
                json={"requests": requests},
                headers={"Accept": "application/json"},
            )
            if response.status_code >= 400:  # the whole call refused: every SKU of it
                message = f"HTTP {response.status_code}: {_body_errors(response)}"
                outcome = {request["sku"]: message for request in requests}
            else:
                outcome = self._push_outcome(requests, response.json())
        results = []
        for listing in batch:
            if listing.sku in refused:
                results.append(PushResult(listing.sku, False, refused[listing.sku]))
            else:
                error = outcome.get(listing.sku)
                results.append(PushResult(listing.sku, error is None, error))
        return results

    def _push_outcome(self, requests: list[dict[str, Any]], body: Any) -> dict[str, str | None]:
        """Per-SKU error (None when every entry of the SKU succeeded) from the response's
        ``responses`` (one entry for the item's quantity and one per offer)."""
        sku_of_offer = {
            offer["offerId"]: request["sku"] for request in requests for offer in request["offers"]
        }
        outcome: dict[str, str | None] = {}
        seen: set[str] = set()
        entries = body.get("responses") if isinstance(body, dict) else None
        for entry in entries or []:
            sku = entry.get("sku") or sku_of_offer.get(str(entry.get("offerId")))
            if not sku:
                continue
            seen.add(sku)
            status = int(entry.get("statusCode") or 0)
            if 200 <= status < 300 and not entry.get("errors"):
                outcome.setdefault(sku, None)
                continue
            message = f"{status}: {_errors_text(entry.get('errors'))}"
            previous = outcome.get(sku)
            outcome[sku] = f"{previous}; {message}" if previous else message
            if entry.get("offerId"):
                self._offers.pop(sku, None)  # look the offers up again next time
        for request in requests:
            if request["sku"] not in seen:
                outcome[request["sku"]] = "no result for this SKU in eBay's response"
        return outcome

    # -- orders -----------------------------------------------------------------------------

    async def orders_since(self, since: datetime | None) -> OrderPage:
        started = datetime.now(UTC)
        params: dict[str, str] = {"limit": str(ORDERS_PAGE)}
        if since is not None:
            params["filter"] = f"lastmodifieddate:[{utc_iso(since)}..]"
        orders: list[MarketplaceOrder] = []
        offset = 0
        while True:
            page = await self.http.json(
                "getOrders",
                "GET",
                f"{FULFILLMENT}/order",
                params={**params, "offset": str(offset)},
                headers={"Accept": "application/json"},
            )
            found = page.get("orders") or []
            orders.extend(self._order(order) for order in found)
            offset += len(found)
            total = page.get("total")
            if not found or not page.get("next") or (total is not None and offset >= total):
                break
        cursor = max((order.updated_at for order in orders), default=since or started)
        return OrderPage(tuple(orders), cursor)

    async def order(self, order_id: str) -> MarketplaceOrder | None:
        response = await self.http.request(
            "getOrder",
            "GET",
            f"{FULFILLMENT}/order/{quote(order_id, safe='')}",
            headers={"Accept": "application/json"},
        )
        if response.status_code == 404:
            return None
        if response.status_code == 400 and "32100" in response.text:  # invalid order id
            return None
        if response.status_code >= 400:
            raise self.http.refusal("getOrder", response)
        return self._order(response.json())

    def _order(self, raw: dict[str, Any]) -> MarketplaceOrder:
        pricing = raw.get("pricingSummary") or {}
        items = raw.get("lineItems") or []
        currency = (pricing.get("total") or {}).get("currency") or next(
            (
                (item.get("lineItemCost") or {}).get("currency")
                for item in items
                if item.get("lineItemCost")
            ),
            "",
        )
        cancelled = (raw.get("cancelStatus") or {}).get("cancelState") == "CANCELED"
        lines = []
        for item in items:
            quantity = int(item.get("quantity") or 0)
            cost = _amount(item.get("discountedLineItemCost") or item.get("lineItemCost"))
            lines.append(
                MarketplaceOrderLine(
                    line_id=str(item.get("lineItemId", "")),
                    sku=str(item.get("sku") or ""),
                    quantity=quantity,
                    unit_price=cost // quantity if quantity else cost,
                    cancelled=quantity if cancelled else 0,
                )
            )
        status = self._status(raw, cancelled)
        ship_to: dict[str, Any] = {}
        for instruction in raw.get("fulfillmentStartInstructions") or []:
            ship_to = (instruction.get("shippingStep") or {}).get("shipTo") or {}
            if ship_to:
                break
        buyer_raw = raw.get("buyer") or {}
        contact = buyer_raw.get("buyerRegistrationAddress") or {}
        name = contact.get("fullName") or ship_to.get("fullName") or buyer_raw.get("username")
        email = contact.get("email") or ship_to.get("email")
        phone = (contact.get("primaryPhone") or ship_to.get("primaryPhone") or {}).get(
            "phoneNumber"
        )
        address = {
            key: str(value)
            for key, value in (ship_to.get("contactAddress") or {}).items()
            if isinstance(value, str | int) and value != ""
        }
        if ship_to.get("fullName"):
            address["name"] = str(ship_to["fullName"])
        shipping = _amount(pricing.get("deliveryCost")) + _amount(pricing.get("deliveryDiscount"))
        return MarketplaceOrder(
            order_id=str(raw["orderId"]),
            status=status,
            currency=str(currency),
            placed_at=_parse_time(raw.get("creationDate")),
            updated_at=_parse_time(raw.get("lastModifiedDate") or raw.get("creationDate")),
            lines=tuple(lines),
            buyer=MarketplaceBuyer(name=name, email=email, phone=phone),
            ship_to=address,
            shipping_total=max(0, shipping),
        )

    @staticmethod
    def _status(raw: dict[str, Any], cancelled: bool) -> MarketplaceOrderStatus:
        if cancelled:
            return MarketplaceOrderStatus.CANCELLED
        payment = raw.get("orderPaymentStatus")
        total = _amount((raw.get("pricingSummary") or {}).get("total"))
        refunded = sum(
            _amount(refund.get("amount"))
            for refund in (raw.get("paymentSummary") or {}).get("refunds") or []
            if refund.get("refundStatus") == "REFUNDED"
        )
        if payment == "FULLY_REFUNDED" or (total > 0 and refunded >= total):
            return MarketplaceOrderStatus.REFUNDED
        if raw.get("orderFulfillmentStatus") == "FULFILLED":
            return MarketplaceOrderStatus.SHIPPED
        if payment in ("PENDING", "FAILED"):
            return MarketplaceOrderStatus.PENDING
        return MarketplaceOrderStatus.UNSHIPPED  # NOT_STARTED, IN_PROGRESS (partly shipped)

    async def acknowledge(self, order: MarketplaceOrder) -> None:
        """Nothing to call: the Fulfillment API has no acknowledgement."""

    async def confirm_shipment(self, order: MarketplaceOrder, shipment: Shipment) -> None:
        body = {
            "lineItems": [
                {"lineItemId": line.line_id, "quantity": line.quantity} for line in shipment.lines
            ],
            "shippingCarrierCode": shipment.carrier,
            "trackingNumber": shipment.tracking_number,
            "shippedDate": utc_iso(shipment.shipped_at),
        }
        response = await self.http.request(
            "createShippingFulfillment",
            "POST",
            f"{FULFILLMENT}/order/{quote(order.order_id, safe='')}/shipping_fulfillment",
            json=body,
            headers={"Accept": "application/json"},
        )
        if response.status_code == 409:
            # a retry after a lost answer: eBay already holds this fulfillment
            log.info("%s: fulfillment of %s already recorded", self.http.account, order.order_id)
            return
        if response.status_code >= 400:
            raise self.http.refusal(f"createShippingFulfillment {order.order_id}", response)

    async def cancel(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        raise MarketplaceFailure(
            f"ebay: cannot cancel {order.order_id} through the API: the Fulfillment, Inventory "
            "and Notification APIs offer no seller cancellation (cancel it in Seller Hub, or "
            "refund it with reason SELLER_OUT_OF_STOCK)",
            retryable=False,
        )

    async def refund(
        self, order: MarketplaceOrder, lines: Sequence[ShippedLine], *, reason: str
    ) -> None:
        code = reason.strip().upper()
        body: dict[str, Any] = {
            "reasonForRefund": code if code in REFUND_REASONS else "OTHER",
            "refundItems": [
                {
                    "lineItemId": line.line_id,
                    "refundAmount": {
                        "value": minor_to_decimal(line.amount),
                        "currency": order.currency,
                    },
                }
                for line in lines
            ],
        }
        if code not in REFUND_REASONS and reason.strip():
            body["comment"] = reason.strip()[:100]
        response = await self.http.request(
            "issueRefund",
            "POST",
            f"{FULFILLMENT}/order/{quote(order.order_id, safe='')}/issue_refund",
            json=body,
            headers={"Accept": "application/json"},
        )
        if response.status_code >= 400:
            raise self.http.refusal(f"issueRefund {order.order_id}", response)
        refund = response.json() if response.content else {}
        if isinstance(refund, dict) and refund.get("refundStatus") == "FAILED":
            raise MarketplaceFailure(
                f"ebay issueRefund {order.order_id}: refund FAILED", retryable=False
            )

    # -- notifications ----------------------------------------------------------------------

    def order_ids_in_notification(self, body: bytes, headers: dict[str, str]) -> list[str]:
        """Order ids of an eBay notification (``{"metadata": {"topic": ...}, "notification":
        {"data": {...}}}``); [] for topics not about orders. The X-EBAY-SIGNATURE header is
        checked by ``verify_notification`` (it calls getPublicKey), not here."""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("not an eBay notification: not JSON") from None
        if not isinstance(payload, dict):
            raise ValueError("not an eBay notification: not an object")
        metadata = payload.get("metadata")
        notification = payload.get("notification")
        if (
            not isinstance(metadata, dict)
            or not isinstance(metadata.get("topic"), str)
            or not isinstance(notification, dict)
        ):
            raise ValueError("not an eBay notification: no metadata.topic and notification")
        topic = metadata["topic"].upper()
        if topic not in ORDER_TOPICS and "ORDER" not in topic:
            return []
        ids: list[str] = []
        self._collect_order_ids(notification.get("data"), ids)
        return ids

    async def verify_notification(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether ``X-EBAY-SIGNATURE`` signs ``body``: the header is base64 JSON (``kid``,
        ``signature`` DER in base64, ``digest`` SHA1 or SHA256, SHA1 when absent); the key comes
        from getPublicKey (cached by ``kid``), and the signature is ECDSA over P-256 of the
        body's digest, checked by the ``cryptography`` library. False for a missing or malformed
        header, an unknown digest, an unknown key or a bad signature."""
        header = next((v for k, v in headers.items() if k.lower() == "x-ebay-signature"), "")
        try:
            decoded = json.loads(base64.b64decode(header, validate=True))
            kid = str(decoded["kid"])
            signature = base64.b64decode(decoded["signature"], validate=True)
            digest = SIGNATURE_DIGESTS[str(decoded.get("digest") or "SHA1").upper()]
        except (ValueError, KeyError, TypeError):
            return False
        key = await self._public_key(kid)
        if key is None:
            return False
        try:
            key.verify(signature, body, ec.ECDSA(digest))
        except InvalidSignature:
            return False
        return True

    async def _public_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        if kid in self._public_keys:
            return self._public_keys[kid]
        response = await self.notification_http.request(
            "getPublicKey",
            "GET",
            f"{NOTIFICATION}/public_key/{quote(kid, safe='')}",
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 404):  # not a key of eBay's
            self._public_keys[kid] = None
            return None
        if response.status_code >= 400:
            raise self.notification_http.refusal("getPublicKey", response)
        answer = response.json()
        key = None
        if str(answer.get("algorithm", "")).upper() == "ECDSA":
            try:
                key = ebay_public_key(str(answer.get("key", "")))
            except ValueError:
                key = None
        self._public_keys[kid] = key
        return key

    def _collect_order_ids(self, node: Any, ids: list[str]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("orderId", "orderID") and isinstance(value, str | int):
                    if str(value) not in ids:
                        ids.append(str(value))
                else:
                    self._collect_order_ids(value, ids)
        elif isinstance(node, list):
            for value in node:
                self._collect_order_ids(value, ids)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.notification_http.aclose()
        await self._token_http.aclose()


# -- X-EBAY-SIGNATURE keys ----------------------------------------------------------------------


def ebay_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 key of getPublicKey's ``key``: a PEM SubjectPublicKeyInfo (eBay's form, which
    may come on one line) or the same DER in bare base64. ValueError for anything else,
    including a key of another algorithm or curve."""
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            der = base64.b64decode("".join(text.split()), validate=True)
            key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise ValueError(f"not a public key: {error}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not a P-256 public key")
    return key
