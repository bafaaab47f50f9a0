"""Walk the demo's paid checkout end to end against a running server (``make run``), printing
each GraphQL call's answer: a pick-up paid by card (authorised, then captured at the counter),
a shipped order paid with Alipay through its next action (the TEST MODE page), and the day's
reconciliation. Standard library only, so a frontend team can read it as a recipe.

    .venv/bin/python tools/payment_demo.py [--url http://127.0.0.1:8000]
"""

from __future__ import annotations

import argparse
import json
import urllib.parse
import urllib.request
import uuid
from datetime import date
from typing import Any


class Api:
    """POSTs GraphQL documents to one server."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def gql(self, query: str, variables: dict[str, Any] | None = None, token: str = "") -> Any:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"{self.url}/graphql", body, headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        if answer.get("errors"):
            raise SystemExit(f"GraphQL error: {answer['errors']}")
        return answer["data"]

    def approve(self, page_url: str) -> int:
        """What the shopper does on the TEST MODE wallet page: Approve."""
        form = urllib.parse.urlencode({"decision": "approve"}).encode()
        request = urllib.request.Request(page_url, form, method="POST")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as redirect:  # 303 to the return URL
            return int(redirect.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


PRODUCTS = """{ products(first: 20, query: "available:true") { nodes { title
  variants(first: 10) { nodes { id sku quantityAvailable } } } }
  locations { location { id handle } } }"""
CART = """mutation($i: CartInput!) { cartCreate(input: $i) { cart { id lines { problem }
  cost { totalAmount { amount currencyCode } } } userErrors { code message } } }"""
ADDRESS = {
    "name": "Demo Shopper",
    "line1": "1 Rue de la République",
    "city": "Lyon",
    "postalCode": "69002",
    "countryCode": "FR",
}
CHECKOUT = """mutation($c: ID!, $k: String!, $p: CheckoutPaymentInput) {
  checkoutComplete(cartId: $c, idempotencyKey: $k, payment: $p) {
    order { id number paymentStatus fulfilments { id pickupCode } }
    orderAccessToken paymentRequired
    payment { state amount { amount } clientSecret nextAction { type url returnUrl qrCodeData } }
    userErrors { code message } } }"""
LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken userErrors { code } } }"""
READY = """mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) {
  order { status paymentStatus } userErrors { code } } }"""
HAND_OVER = """mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) {
  order { status paymentStatus payments { tender state captured { amount } } }
  userErrors { code message } } }"""
ORDER = """query($o: ID!, $t: String) { order(id: $o, accessToken: $t) { number status
  paymentStatus payments { tender state captured { amount } } } }"""
RECONCILE = """query($d: Date!) { paymentReconciliation(date: $d) { clean
  mismatches { kind detail } } }"""


def show(step: str, data: Any) -> None:
    print(f"\n== {step}\n{json.dumps(data, indent=2)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clerk", default="clerk.partdieu@demo.o2o:demo-clerk-password")
    parser.add_argument("--owner", default="owner@demo.o2o:demo-owner-password")
    args = parser.parse_args()
    api = Api(args.url)

    shelf = api.gql(PRODUCTS)
    variants = [
        v["id"]
        for p in shelf["products"]["nodes"]
        for v in p["variants"]["nodes"]
        if v["quantityAvailable"] > 0
    ]
    store = next(
        x["location"]["id"] for x in shelf["locations"] if x["location"]["handle"] == "part-dieu"
    )

    # 1. pick-up at Part-Dieu, paid by card: authorised now, captured at the counter
    for variant in variants:  # one the store holds
        cart = api.gql(CART, {"i": {
            "lines": [{"merchandiseId": variant, "quantity": 1}],
            "buyerIdentity": {"email": "demo.shopper@example.com"},
            "delivery": {"method": "PICKUP", "locationId": store},
        }})["cartCreate"]["cart"]  # fmt: skip
        if not any(line["problem"] for line in cart["lines"]):
            break
    else:
        raise SystemExit("no variant in stock at Part-Dieu among the first products")
    card = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
    paid = api.gql(CHECKOUT, {"c": cart["id"], "k": str(uuid.uuid4()), "p": card})
    show("checkoutComplete, card (pick-up)", paid)
    order = paid["checkoutComplete"]["order"]
    email, password = args.clerk.split(":", 1)
    clerk = api.gql(LOGIN, {"e": email, "p": password})["staffLogin"]["accessToken"]
    part = order["fulfilments"][0]
    show("fulfilmentReadyForPickup", api.gql(READY, {"f": part["id"]}, clerk))
    handed = api.gql(HAND_OVER, {"f": part["id"], "c": part["pickupCode"]}, clerk)
    show("pickupConfirm: the authorisation is captured", handed)

    # 2. shipped, paid with Alipay through its next action (TEST MODE page stands in for Alipay)
    cart = api.gql(CART, {"i": {
        "lines": [{"merchandiseId": variant, "quantity": 1}],
        "buyerIdentity": {"email": "demo.shopper@example.com"},
        "delivery": {"method": "SHIP", "address": ADDRESS},
    }})["cartCreate"]["cart"]  # fmt: skip
    alipay = {"method": "ALIPAY", "returnUrl": "https://shop.example/paid"}
    opened = api.gql(CHECKOUT, {"c": cart["id"], "k": str(uuid.uuid4()), "p": alipay})
    show("checkoutComplete, Alipay (shipped): a next action", opened)
    done = opened["checkoutComplete"]
    page = done["payment"]["nextAction"]["url"]
    print(f"\n== the shopper approves at {page}: HTTP {api.approve(page)}")
    token = done["orderAccessToken"]
    show("the order, read by its buyer", api.gql(ORDER, {"o": done["order"]["id"], "t": token}))

    # 3. the day's reconciliation, as the owner
    email, password = args.owner.split(":", 1)
    owner = api.gql(LOGIN, {"e": email, "p": password})["staffLogin"]["accessToken"]
    day = api.gql(RECONCILE, {"d": date.today().isoformat()}, owner)
    show("paymentReconciliation (today)", day)


if __name__ == "__main__":
    main()
