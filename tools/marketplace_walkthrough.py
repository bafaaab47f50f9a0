"""The marketplace demo's walkthrough, against `make marketplaces` (or `app.py marketplace demo`):
a till sale lowers the three fake marketplaces; a fake Amazon order becomes an order here,
routed to a store, shipped there, confirmed to Amazon; a Walmart order cancelled here is
cancelled at Walmart; an eBay order returned at a store is refunded through eBay.

    python tools/marketplace_walkthrough.py [--api http://127.0.0.1:8000]

Each step prints what it saw and how long it waited; exit 1 when a step does not happen.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import httpx

FAKES = {"amazon": "http://127.0.0.1:8101", "walmart": "http://127.0.0.1:8102",
         "ebay": "http://127.0.0.1:8103"}  # fmt: skip
CHANNELS = {"amazon": "marketplace-amazon-fr", "walmart": "marketplace-walmart-us",
            "ebay": "marketplace-ebay-fr"}  # fmt: skip


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.token: str | None = None

    def __call__(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        body = self.http.post("/graphql", json={"query": query, "variables": variables or {}},
                              headers=headers).json()  # fmt: skip
        if body.get("errors"):
            raise SystemExit(f"GraphQL error: {body['errors']}")
        return body["data"]

    def login(self, email: str, password: str) -> None:
        self.token = None
        q = "mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) { accessToken } }"
        self.token = self(q, {"e": email, "p": password})["staffLogin"]["accessToken"]


def wait(what: str, check: Any, seconds: float = 30.0) -> float:
    start = time.monotonic()
    while True:
        if check():
            took = time.monotonic() - start
            print(f"  ok: {what} ({took:.1f} s)")
            return took
        if time.monotonic() - start > seconds:
            print(f"  FAILED: {what} not seen within {seconds:.0f} s")
            sys.exit(1)
        time.sleep(0.2)


def quantity(name: str, sku: str) -> int:
    return int(httpx.get(f"{FAKES[name]}/_fake/listings").json()[sku]["quantity"])


def fake_order(name: str, order_id: str) -> dict[str, Any]:
    return httpx.get(f"{FAKES[name]}/_fake/orders/{order_id}").json()


def buy(name: str, sku: str, quantity: int = 1) -> str:
    body = {"lines": [{"sku": sku, "quantity": quantity}],
            "buyer": {"name": "Ada Lovelace", "email": "ada@example.com"}}  # fmt: skip
    answer = httpx.post(f"{FAKES[name]}/_fake/orders", json=body)
    answer.raise_for_status()
    return str(answer.json()["orderId"])


ORDER = """query($c: String!) { orders(channel: $c, first: 20) { nodes { id number
  externalReference status paymentStatus lines { id sku quantity }
  fulfilments { id status location { handle } } } } }"""


def order_of(api: Api, name: str, external: str) -> dict[str, Any] | None:
    nodes = api(ORDER, {"c": CHANNELS[name]})["orders"]["nodes"]
    return next((o for o in nodes if o["externalReference"] == external), None)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    api = Api(args.api)
    api.login("owner@demo.o2o", "demo-owner-password")

    print("1. a till sale at Part-Dieu lowers the three marketplaces")
    places = api("""{ locations { location { id handle } } }""")["locations"]
    handles = {p["location"]["id"]: p["location"]["handle"] for p in places}
    part_dieu = next(i for i, h in handles.items() if h == "part-dieu")
    listing = httpx.get(f"{FAKES['amazon']}/_fake/listings").json()
    found = api("""{ products(first: 50, channel: "store-part-dieu") { nodes { variants(first: 10)
      { nodes { id sku storeAvailability(first: 10) { location { handle } quantityAvailable } } } } } }""")
    sku = variant = None
    for product in found["products"]["nodes"]:
        for v in product["variants"]["nodes"]:
            here = [s for s in v["storeAvailability"] if s["location"]["handle"] == "part-dieu"]
            if (
                here
                and here[0]["quantityAvailable"] >= 3
                and listing.get(v["sku"], {}).get("quantity", 0) > 2
            ):
                sku, variant = v["sku"], v["id"]
                break
        if sku:
            break
    assert sku and variant, "no SKU on the Part-Dieu shelf"
    before = {n: quantity(n, sku) for n in FAKES}
    print(f"  {sku}: marketplaces show {before}")
    api.login("clerk.partdieu@demo.o2o", "demo-clerk-password")
    sale = api("""mutation($i: PosOrderInput!) { posOrderCreate(input: $i) { order { number }
      userErrors { code message } } }""", {"i": {"locationId": part_dieu, "tender": "CARD_TERMINAL",
      "lines": [{"variantId": variant, "quantity": 2}]}})["posOrderCreate"]  # fmt: skip
    assert sale["order"], sale
    print(f"  sold 2 at the till: order {sale['order']['number']}")
    for n in FAKES:
        wait(f"{n} lower than {before[n]}", lambda n=n: quantity(n, sku) < before[n], 5.0)
    api.login("owner@demo.o2o", "demo-owner-password")

    print("2. a fake Amazon order becomes an order here, routed to a store, shipped, confirmed")
    stock = httpx.get(f"{FAKES['amazon']}/_fake/listings").json()
    candidates = api("""{ products(first: 100, channel: "marketplace-amazon-fr") { nodes {
      variants(first: 10) { nodes { sku id } } } } }""")["products"]["nodes"]  # fmt: skip
    chosen = None
    for product in candidates:
        for v in product["variants"]["nodes"]:
            levels = api(
                "query($v: ID!) { inventoryLevels(variantId: $v) { locationId available } }",
                {"v": v["id"]},
            )["inventoryLevels"]
            at = {handles.get(lv["locationId"], "?"): lv["available"] for lv in levels}
            warehouse = sum(n for h, n in at.items() if h.startswith("warehouse"))
            stores = [h for h, n in at.items() if not h.startswith("warehouse") and n >= 2]
            if warehouse == 0 and stores and stock.get(v["sku"], {}).get("quantity", 0) >= 1:
                chosen = v["sku"]
                break
        if chosen:
            break
    assert chosen, "no SKU held by stores only"
    external = buy("amazon", chosen)
    print(f"  Amazon order {external} for {chosen} (none in the warehouse: a store serves it)")
    wait("the order is imported", lambda: order_of(api, "amazon", external) is not None, 20)
    order = order_of(api, "amazon", external)
    assert order is not None
    fulfilment = order["fulfilments"][0]
    print(f"  order {order['number']}: {order['status']}/{order['paymentStatus']}, "
          f"routed to {fulfilment['location']['handle']}")  # fmt: skip
    assert not fulfilment["location"]["handle"].startswith("warehouse")
    shipped = api("""mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "Colissimo",
      trackingNumber: "6A12345678901") { userErrors { code message } } }""", {"f": fulfilment["id"]})  # fmt: skip
    assert not shipped["fulfilmentShip"]["userErrors"], shipped
    wait("Amazon has the shipment and its tracking number",
         lambda: [s.get("tracking") for s in fake_order("amazon", external)["shipments"]] == ["6A12345678901"])  # fmt: skip

    print("3. a Walmart order cancelled here is cancelled at Walmart")
    wsku = next(
        s
        for s, v in httpx.get(f"{FAKES['walmart']}/_fake/listings").json().items()
        if v["quantity"] >= 2
    )
    wexternal = buy("walmart", wsku)
    wait(
        "the Walmart order is imported", lambda: order_of(api, "walmart", wexternal) is not None, 20
    )
    worder = order_of(api, "walmart", wexternal)
    assert worder is not None
    api("""mutation($o: ID!) { orderCancel(orderId: $o, reason: "damaged in the store") {
      userErrors { code } } }""", {"o": worder["id"]})  # fmt: skip
    wait(
        "Walmart has the cancellation",
        lambda: fake_order("walmart", wexternal)["cancellations"] != [],
    )

    print("4. an eBay order returned at a store is refunded through eBay")
    esku = next(
        s
        for s, v in httpx.get(f"{FAKES['ebay']}/_fake/listings").json().items()
        if v["quantity"] >= 2
    )
    eexternal = buy("ebay", esku)
    wait("the eBay order is imported", lambda: order_of(api, "ebay", eexternal) is not None, 20)
    eorder = order_of(api, "ebay", eexternal)
    assert eorder is not None
    f = eorder["fulfilments"][0]["id"]
    api(
        """mutation($f: ID!) { fulfilmentShip(fulfilmentId: $f, carrier: "UPS", trackingNumber: "1Z1") { userErrors { code } } }""",
        {"f": f},
    )
    api(
        """mutation($f: ID!) { fulfilmentDeliver(fulfilmentId: $f) { userErrors { code } } }""",
        {"f": f},
    )
    returned = api("""mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) { refundDue { amount currencyCode } userErrors { code message } } }""",
                   {"i": {"orderId": eorder["id"], "locationId": part_dieu,
                          "lines": [{"orderLineId": eorder["lines"][0]["id"], "quantity": 1}]}})["orderReturnCreate"]  # fmt: skip
    assert returned["refundDue"], returned
    print(
        f"  returned at Part-Dieu: {returned['refundDue']['amount']} {returned['refundDue']['currencyCode']} due"
    )
    wait("eBay has the refund", lambda: fake_order("ebay", eexternal)["refunds"] != [])
    print("all steps seen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
