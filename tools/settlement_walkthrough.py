"""The settlement demo's walkthrough, against `make run` (`app.py serve --seed-if-empty`): a clerk
at Bellecour signs a customer up with his QR; she orders online for pick-up at Part-Dieu and
collects it; the order shows who it credits and why; commissions appear on completion and a
partial return takes them back in proportion; the month's statements of the clerk, both stores
and a franchisee balance to the cent and export as CSV; the Bellecour manager's report shows
the online-influenced sale; the customer's birthday, three days ahead, puts her on Hugo's
clienteling list. Everything goes through GraphQL.

    python tools/settlement_walkthrough.py [--api http://127.0.0.1:8000] [--data-dir data]

The member's verification token is the message the development notifier logs; the script reads
it from the member's message queue in the demo's SQLite file ({DATA_DIR}/gateway.sqlite3,
DATA_DIR defaulting to ./data as for the server). Without that file the member stays unverified
(logging in does not need it). Each run signs up a new member, so the script can run again on
the same demo; the report step compares with the report taken at the start.

Each step prints what it saw; exit 1 when a step does not happen.
"""

from __future__ import annotations

import argparse
import base64
import os
import sqlite3
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

OWNER = ("owner@demo.o2o", "demo-owner-password")
HUGO = ("clerk.bellecour@demo.o2o", "demo-clerk-password")  # a clerk at Bellecour
INES = ("clerk.partdieu@demo.o2o", "demo-clerk-password")  # a clerk at Part-Dieu
BELLECOUR_MANAGER = ("manager.bellecour@demo.o2o", "demo-manager-password")
CONFLUENCE_CLERK = ("clerk.confluence@demo.o2o", "demo-clerk-password")  # a franchised store
FRANCHISEE = "Rhône Franchise SARL"

STAFF_LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken staffUser { id name role locationIds } userErrors { code } } }"""
LOCATIONS = "{ locations { location { id handle name franchisee { id name } } } }"
RULES = "{ commissionRules { role channelKind channelHandle percentBp active } }"
CODES = """{ attributionCodes { code kind qrPayload landingUrl clerk { id name }
  store { name } } }"""
SCAN = """mutation($p: String!, $v: String) { attributionScan(payload: $p, visitorId: $v) {
  kind name storeName clerkName landingUrl userErrors { code message } } }"""
SIGN_UP = """mutation($i: MemberCreateInput!) { memberCreate(input: $i) {
  accepted userErrors { field code message } } }"""
VERIFY = """mutation($t: String!) { memberVerify(token: $t) { verified userErrors { code } } }"""
MEMBER_LOGIN = """mutation($i: String!, $p: String!) { memberLogin(identifier: $i, password: $p) {
  accessToken member { id memberCode emailVerified } userErrors { code message } } }"""
LOOKUP = """query($c: String!) { memberLookup(code: $c) { name binding { source boundAt
  expiresAt rule store { name } clerk { name } } } }"""
PRODUCTS = """query($c: String) { products(first: 60, channel: $c) { nodes { title
  variants(first: 10) { nodes { id sku price { amount currencyCode }
    storeAvailability(first: 20) { location { handle } quantityAvailable } } } } } }"""
CART_CREATE = """mutation($i: CartInput!) { cartCreate(input: $i) { cart { id }
  userErrors { code message } } }"""
CART_BUYER = """mutation($c: ID!, $b: BuyerIdentityInput!) {
  cartBuyerIdentityUpdate(cartId: $c, buyerIdentity: $b) { userErrors { code message } } }"""
CART_DELIVERY = """mutation($c: ID!, $d: CartDeliveryInput!) {
  cartDeliveryUpdate(cartId: $c, delivery: $d) { userErrors { code message } } }"""
CHECKOUT = """mutation($c: ID!, $k: String!, $p: CheckoutPaymentInput) {
  checkoutComplete(cartId: $c, idempotencyKey: $k, payment: $p) { paymentRequired
    order { id number status paymentStatus total { amount } lines { id sku quantity }
      fulfilments { id method status pickupCode location { handle name } } }
    userErrors { field code message } } }"""
READY = """mutation($f: ID!) { fulfilmentReadyForPickup(fulfilmentId: $f) {
  order { fulfilments { status } } userErrors { code message } } }"""
HAND_OVER = """mutation($f: ID!, $c: String!) { pickupConfirm(fulfilmentId: $f, code: $c) {
  order { status paymentStatus } userErrors { code message } } }"""
ATTRIBUTIONS = """query($id: ID!) { order(id: $id) {
  attributions { role store { name } clerk { name } franchisee { name } code rule } } }"""
COMMISSIONS = """query($p: String, $k: String, $b: ID) {
  commissions(period: $p, beneficiaryKind: $k, beneficiaryId: $b, first: 500) {
    entries { id orderId role kind beneficiaryKind beneficiaryId baseAmount { amount }
      amount { amount } period }
    totals { beneficiaryKind beneficiaryId net { amount } } } }"""
RETURN = """mutation($i: OrderReturnInput!) { orderReturnCreate(input: $i) {
  refundDue { amount } userErrors { field code message } } }"""
TILL_SALE = """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  order { id number status total { amount } attributions { role } }
  userErrors { code message } } }"""
CLOSE = """mutation($p: String!) { settlementClose(period: $p) {
  statements { id } userErrors { field code message } } }"""
STATEMENTS = """query($p: String) { statements(period: $p) { id beneficiaryKind beneficiaryId
  beneficiaryName state total { amount currencyCode }
  lines { kind orderNumber description amount { amount } commissionEntryId } csv } }"""
REPORT = """query($s: ID!, $m: String!) { performanceReport(store: $s, month: $m) {
  firstDay lastDay sales { orders net { amount } } onlineInfluenced { orders net { amount } }
  membersAcquired acquiredByCode { code members } commission { amount } } }"""
KEPT = "query($id: ID!) { order(id: $id) { total { amount } refundedTotal { amount } } }"
BUILD_TASKS = """mutation($d: Date) { clientelingTasksBuild(day: $d) { added
  userErrors { code message } } }"""
MY_TASKS = "query($d: Date) { myTasks(day: $d) { memberId memberName kind reason state } }"


def check(condition: object, what: str, seen: object = None) -> None:
    if condition:
        print(f"  ok: {what}")
        return
    print(f"  FAILED: {what}" + (f"\n    seen: {seen}" if seen is not None else ""))
    sys.exit(1)


def cents(amount: str) -> int:
    return int((Decimal(amount) * 100).to_integral_value())


def euros(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def raw_id(global_id: str) -> str:
    """The database id inside a global id (base64 of `gid://o2o/Type/id`), or the id itself."""
    try:
        decoded = base64.b64decode(global_id + "=" * (-len(global_id) % 4), validate=True)
        return decoded.decode().rsplit("/", 1)[1]
    except (ValueError, UnicodeDecodeError, IndexError):
        return global_id


class Api:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        ).json()
        if body.get("errors"):
            print(f"  FAILED: GraphQL error: {body['errors']}")
            sys.exit(1)
        data: dict[str, Any] = body["data"]
        return data

    def staff(self, email: str, password: str) -> tuple[str, dict[str, Any]] | None:
        got = self(STAFF_LOGIN, {"e": email, "p": password})["staffLogin"]
        return (got["accessToken"], got["staffUser"]) if got["accessToken"] else None

    def login(self, email: str, password: str) -> tuple[str, dict[str, Any]]:
        session = self.staff(email, password)
        check(session, f"staffLogin {email}")
        assert session is not None
        return session


@dataclass
class Demo:
    """What the steps learn and pass on."""

    api: Api
    period: str
    run: str
    today: date = field(default_factory=date.today)  # in the brand's time zone
    owner: str = ""
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    rate: dict[str, int] = field(default_factory=dict)
    manager: str = ""
    report_before: dict[str, Any] = field(default_factory=dict)
    hugo: dict[str, Any] = field(default_factory=dict)
    code: dict[str, Any] = field(default_factory=dict)
    member: str = ""
    member_id: str = ""
    order: dict[str, Any] = field(default_factory=dict)
    ines: str = ""
    # (beneficiary kind, id) -> name, role; what each earned and got back on the order
    credited: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    accrued: dict[tuple[str, str], int] = field(default_factory=dict)
    base: dict[tuple[str, str], int] = field(default_factory=dict)
    reversed: dict[tuple[str, str], int] = field(default_factory=dict)


def verification_token(data_dir: Path, email: str) -> str | None:
    """The member's verification token, from the notifier's queue (table member_message)."""
    path = data_dir / "gateway.sqlite3"
    if not path.exists():
        return None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute(
            'SELECT body FROM member_message WHERE "to" = ? ORDER BY id DESC LIMIT 1', (email,)
        ).fetchone()
    return str(row[0]).rsplit(" ", 1)[1] if row else None


def find_variant(demo: Demo, handle: str, channel: str, wanted: int) -> dict[str, Any]:
    """A variant the store `handle` holds at least `wanted` of, sold in `channel`."""
    products = demo.api(PRODUCTS, {"c": channel}, token=demo.owner)["products"]["nodes"]
    for product in products:
        for v in product["variants"]["nodes"]:
            here = [s for s in v["storeAvailability"] if s["location"]["handle"] == handle]
            if v["price"] and here and here[0]["quantityAvailable"] >= wanted:
                return {**v, "title": product["title"]}
    check(False, f"a variant with {wanted} in stock at {handle}, sold in {channel}")
    raise AssertionError


def order_entries(demo: Demo) -> dict[str, dict[tuple[str, str], int]]:
    """The order's commission entries of the period, summed per kind and beneficiary."""
    found = demo.api(COMMISSIONS, {"p": demo.period}, token=demo.owner)["commissions"]
    sums: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for e in found["entries"]:
        if raw_id(e["orderId"]) != raw_id(demo.order["id"]):
            continue
        who = (e["beneficiaryKind"], e["beneficiaryId"])
        if demo.credited.get(who, ("", ""))[1] != e["role"]:
            check(False, f"a commission entry for one of the credited roles: {e['role']}", e)
        sums[e["kind"]][who] += cents(e["amount"]["amount"])
        if e["kind"] == "ACCRUAL":
            demo.base[who] = cents(e["baseAmount"]["amount"])
    return sums


def set_up(demo: Demo) -> None:
    print(f"0. the demo, period {demo.period} (the brand's month)")
    api = demo.api
    demo.owner, _ = api.login(*OWNER)
    places = api(LOCATIONS, token=demo.owner)["locations"]
    demo.stores = {p["location"]["handle"]: p["location"] for p in places}
    franchised = [s["name"] for s in demo.stores.values() if s["franchisee"]]
    check(franchised, f"franchised stores: {', '.join(franchised)}", places)
    bellecour = demo.stores["bellecour"]
    demo.manager, _ = api.login(*BELLECOUR_MANAGER)
    demo.report_before = api(REPORT, {"s": bellecour["id"], "m": demo.period}, token=demo.manager)[
        "performanceReport"
    ]
    influenced = demo.report_before["onlineInfluenced"]
    print(
        f"  Bellecour's report before: online-influenced orders {influenced['orders']}, net "
        f"{influenced['net']['amount']} EUR"
    )
    rules = api(RULES, token=demo.owner)["commissionRules"]
    demo.rate = {
        r["role"]: r["percentBp"]
        for r in rules
        if r["active"] and not r["channelKind"] and not r["channelHandle"]
    }
    print(f"  commission rules of any channel, in basis points: {demo.rate}")


def sign_up(demo: Demo, data_dir: Path) -> None:
    print("1. Hugo, a clerk at Bellecour, signs a customer up with his QR")
    api = demo.api
    hugo, demo.hugo = api.login(*HUGO)
    codes = api(CODES, token=hugo)["attributionCodes"]
    mine = [c for c in codes if c["kind"] == "CLERK" and c["clerk"]["id"] == demo.hugo["id"]]
    check(len(mine) == 1, f"Hugo reads his clerk code ({len(codes)} code(s) shown to him)", codes)
    demo.code = mine[0]
    print(f"  {demo.code['code']}: QR payload {demo.code['qrPayload']}")
    print(f"  landing URL {demo.code['landingUrl']}")
    visitor = f"visitor-{demo.run}"
    scan = api(SCAN, {"p": demo.code["qrPayload"], "v": visitor})["attributionScan"]
    check(
        not scan["userErrors"] and scan["clerkName"] == demo.hugo["name"],
        f"anonymous attributionScan as {visitor}: {scan['kind']} code, advisor "
        f"{scan['clerkName']}, {scan['storeName']}",
        scan,
    )
    email, password = f"chloe.{demo.run}@example.com", f"walkthrough-{demo.run}"
    data = {
        "email": email,
        "password": password,
        "name": "Chloé Martin",
        "referralCode": demo.code["qrPayload"],
        "visitorId": visitor,
        "birthday": birthday_soon(demo.today).isoformat(),
    }
    signup = api(SIGN_UP, {"i": data})["memberCreate"]
    check(
        signup["accepted"] and not signup["userErrors"],
        f"memberCreate {email}, referralCode: the QR payload, visitorId: {visitor}",
        signup,
    )
    token = verification_token(data_dir, email)
    if token is None:
        print(
            f"  note: no verification message for {email} in {data_dir}/gateway.sqlite3 "
            "(set --data-dir to the server's DATA_DIR): the member stays unverified"
        )
    else:
        print(
            f"  her verification token, read from {data_dir}/gateway.sqlite3 (member_message, "
            "the queue the development notifier logs)"
        )
        verified = api(VERIFY, {"t": token})["memberVerify"]
        check(verified["verified"], "memberVerify", verified)
    session = api(MEMBER_LOGIN, {"i": email, "p": password})["memberLogin"]
    check(session["accessToken"], "memberLogin", session)
    demo.member = session["accessToken"]
    demo.member_id = session["member"]["id"]
    looked = api(LOOKUP, {"c": session["member"]["memberCode"]}, token=hugo)["memberLookup"]
    binding = (looked or {}).get("binding") or {}
    check(
        binding.get("source") == "SIGNUP"
        and (binding.get("clerk") or {}).get("name") == demo.hugo["name"]
        and (binding.get("store") or {}).get("name") == demo.stores["bellecour"]["name"],
        f"Hugo looks her up: bound to {binding['clerk']['name']}, {binding['store']['name']}",
        looked,
    )
    print(f"  rule: {binding['rule']}")


def order_and_collect(demo: Demo) -> None:
    print("2. she orders online for pick-up at Part-Dieu; Part-Dieu hands it over")
    api, part_dieu = demo.api, demo.stores["part-dieu"]
    variant = find_variant(demo, "part-dieu", "web", 2)
    print(
        f"  {variant['sku']} ({variant['title']}), {variant['price']['amount']} EUR, "
        "in stock at Part-Dieu"
    )
    lines = [{"merchandiseId": variant["id"], "quantity": 2}]
    cart = api(CART_CREATE, {"i": {"channel": "web", "lines": lines}}, token=demo.member)
    check(cart["cartCreate"]["cart"], "cartCreate: 2 units on the web shop", cart)
    cart_id = cart["cartCreate"]["cart"]["id"]
    buyer = {"email": f"chloe.{demo.run}@example.com", "name": "Chloé Martin"}
    who = api(CART_BUYER, {"c": cart_id, "b": buyer}, token=demo.member)
    check(not who["cartBuyerIdentityUpdate"]["userErrors"], "cartBuyerIdentityUpdate", who)
    pickup = {"method": "PICKUP", "locationId": part_dieu["id"]}
    where = api(CART_DELIVERY, {"c": cart_id, "d": pickup}, token=demo.member)
    check(
        not where["cartDeliveryUpdate"]["userErrors"],
        "cartDeliveryUpdate: pick-up at Part-Dieu",
        where,
    )
    card = {"method": "CARD", "paymentMethodToken": "pm_card_visa"}
    placed = api(
        CHECKOUT, {"c": cart_id, "k": f"walkthrough-{demo.run}", "p": card}, token=demo.member
    )["checkoutComplete"]
    check(
        placed["order"] and not placed["userErrors"],
        "checkoutComplete, paid by card in test mode (pm_card_visa)",
        placed,
    )
    demo.order = order = placed["order"]
    print(
        f"  order {order['number']}: {order['status']}/{order['paymentStatus']}, "
        f"{order['total']['amount']} EUR (after the demo's automatic discount), "
        f"payment required: {placed['paymentRequired']}"
    )
    f = order["fulfilments"][0]
    check(
        f["method"] == "PICKUP" and f["location"]["handle"] == "part-dieu" and f["pickupCode"],
        f"to collect at {f['location']['name']}, pick-up code {f['pickupCode']}",
        f,
    )
    demo.ines, ines = api.login(*INES)
    ready = api(READY, {"f": f["id"]}, token=demo.ines)["fulfilmentReadyForPickup"]
    check(
        not ready["userErrors"],
        f"{ines['name']}, a clerk at Part-Dieu: fulfilmentReadyForPickup "
        f"({ready['order'] and ready['order']['fulfilments'][0]['status']})",
        ready,
    )
    done = api(HAND_OVER, {"f": f["id"], "c": f["pickupCode"]}, token=demo.ines)["pickupConfirm"]
    status = done["order"] and done["order"]["status"]
    check(status == "COMPLETED", f"pickupConfirm with her code: the order is {status}", done)


def credits(demo: Demo) -> None:
    print("3. the order shows who it credits and by which rule; commissions on completion")
    api, bellecour, part_dieu = demo.api, demo.stores["bellecour"], demo.stores["part-dieu"]
    shown = api(ATTRIBUTIONS, {"id": demo.order["id"]}, token=demo.owner)["order"]
    for a in sorted(shown["attributions"], key=lambda a: a["role"]):
        names = " / ".join(x["name"] for x in (a["store"], a["clerk"], a["franchisee"]) if x)
        print(f"  {a['role']:<16} {names:<37} {a['rule']}")
    roles = {a["role"]: a for a in shown["attributions"]}
    expected = {
        "BOUND_CLERK": (bellecour["name"], demo.hugo["name"]),
        "REFERRING_STORE": (bellecour["name"], None),
        "FULFILLING_STORE": (part_dieu["name"], None),
    }
    for role, (store, clerk) in expected.items():
        a = roles.get(role) or {}
        seen = ((a.get("store") or {}).get("name"), (a.get("clerk") or {}).get("name"))
        check(
            seen == (store, clerk) and a.get("rule"),
            f"{role}: {' / '.join(n for n in (store, clerk) if n)}, with its rule",
            a,
        )
    demo.credited = {
        ("STAFF", demo.hugo["id"]): (f"{demo.hugo['name']} (clerk)", "BOUND_CLERK"),
        ("LOCATION", bellecour["id"]): (bellecour["name"], "REFERRING_STORE"),
        ("LOCATION", part_dieu["id"]): (part_dieu["name"], "FULFILLING_STORE"),
    }
    demo.accrued = dict(order_entries(demo)["ACCRUAL"])
    for who, (name, role) in demo.credited.items():
        got, base, bp = demo.accrued.get(who), demo.base.get(who, 0), demo.rate[role]
        want = (base * bp + 5_000) // 10_000
        check(
            got == want,
            f"{name}: {role} {euros(got or 0)} = {bp / 100:g} % of the net paid "
            f"{euros(base)}, half up",
            demo.accrued,
        )


def partial_return(demo: Demo) -> None:
    print("4. one of the two units comes back at Part-Dieu: commissions reversed in proportion")
    line = demo.order["lines"][0]
    data = {
        "orderId": demo.order["id"],
        "locationId": demo.stores["part-dieu"]["id"],
        "idempotencyKey": f"walkthrough-return-{demo.run}",
        "lines": [{"orderLineId": line["id"], "quantity": 1}],
    }
    returned = demo.api(RETURN, {"i": data}, token=demo.ines)["orderReturnCreate"]
    check(
        returned["refundDue"] and not returned["userErrors"],
        f"orderReturnCreate at Part-Dieu, 1 of {line['quantity']}: refund due "
        f"{(returned['refundDue'] or {}).get('amount')} EUR",
        returned,
    )
    demo.reversed = dict(order_entries(demo)["REVERSAL"])
    print(
        f"  {'beneficiary':<26} {'before':>7} {'reversal':>9} {'after':>7}  "
        "expected: before x returned net / net, half up"
    )
    for who, (name, _) in demo.credited.items():
        before, taken, net = demo.accrued[who], -demo.reversed.get(who, 0), demo.base[who]
        returned_net = net // line["quantity"]  # one unit of the line (no unit-level discount)
        want = (before * returned_net + net // 2) // net
        print(
            f"  {name:<26} {euros(before):>7} {euros(-taken):>9} {euros(before - taken):>7}  "
            f"{euros(before)} x {euros(returned_net)} / {euros(net)} = {euros(want)}"
        )
        check(taken == want, f"{name}: {euros(taken)} taken back, in proportion")


def statements(demo: Demo) -> None:
    print(f"5. the month's statements: a till sale at a franchised store, then close {demo.period}")
    api = demo.api
    handle, store = next((h, s) for h, s in sorted(demo.stores.items()) if s["franchisee"])
    variant = find_variant(demo, handle, f"store-{handle}", 1)
    data = {
        "locationId": store["id"],
        "tender": "CARD_TERMINAL",
        "idempotencyKey": f"walkthrough-till-{demo.run}",
        "lines": [{"variantId": variant["id"], "quantity": 1}],
    }
    clerk, _ = api.login(*CONFLUENCE_CLERK)
    till = api(TILL_SALE, {"i": data}, token=clerk)["posOrderCreate"]["order"]
    check(
        till and till["status"] == "COMPLETED",
        f"Nadia, its clerk, rings up {variant['sku']} at {store['name']} "
        f"({store['franchisee']['name']}): {till and till['number']}",
        till,
    )
    print(
        f"  till sale {till['number']}: {till['total']['amount']} EUR, credits "
        f"{', '.join(a['role'] for a in till['attributions'])}"
    )
    closed = api(CLOSE, {"p": demo.period}, token=demo.owner)["settlementClose"]
    check(
        not closed["userErrors"],
        f"settlementClose({demo.period}) as the owner: {len(closed['statements'] or [])} "
        "statements",
        closed,
    )
    every = api(STATEMENTS, {"p": demo.period}, token=demo.owner)["statements"]
    for s in every:
        print(
            f"  {s['beneficiaryKind']:<10} {s['beneficiaryName']:<26} {s['state']:<6} "
            f"lines {len(s['lines'])}, total {s['total']['amount']} {s['total']['currencyCode']}"
        )
    wanted = {
        **{who: name for who, (name, _) in demo.credited.items()},
        ("FRANCHISEE", store["franchisee"]["id"]): store["franchisee"]["name"],
    }
    for (kind, beneficiary), name in wanted.items():
        print(f"  -- {name}")
        found = [
            s
            for s in every
            if s["beneficiaryKind"] == kind and raw_id(s["beneficiaryId"]) == raw_id(beneficiary)
        ]
        check(len(found) == 1, f"one {kind} statement for {demo.period}", every)
        s = found[0]
        for ln in s["lines"]:
            print(
                f"    {ln['kind']:<11} {ln['orderNumber'] or '':<11} {ln['amount']['amount']:>8}"
                f"  {ln['description']}"
            )
        total = sum(cents(ln["amount"]["amount"]) for ln in s["lines"])
        check(
            total == cents(s["total"]["amount"]),
            f"total {s['total']['amount']} = the sum of its lines ({len(s['lines'])})",
        )
        entries = api(
            COMMISSIONS, {"p": demo.period, "k": kind, "b": beneficiary}, token=demo.owner
        )["commissions"]["entries"]
        lines = [ln for ln in s["lines"] if ln["kind"] == "COMMISSION"]
        on_lines = sorted(str(ln["commissionEntryId"]) for ln in lines)
        check(
            on_lines == sorted(raw_id(e["id"]) for e in entries),
            f"its COMMISSION lines are its {len(entries)} commission entries of {demo.period}",
            (on_lines, entries),
        )
        paid = sum(cents(ln["amount"]["amount"]) for ln in lines)
        owed = sum(cents(e["amount"]["amount"]) for e in entries)
        check(paid == owed, f"COMMISSION lines {euros(paid)} = its entries {euros(owed)}")
        if kind == "FRANCHISEE":
            sold = [
                ln
                for ln in s["lines"]
                if ln["kind"] == "TILL_SALES" and ln["orderNumber"] == till["number"]
            ]
            amount = sold[0]["amount"]["amount"] if sold else None
            check(
                amount and cents(amount) == -cents(till["total"]["amount"]),
                f"TILL_SALES {amount} for the till sale {till['number']}",
                s["lines"],
            )
        print("    CSV (statements { csv }), first lines:")
        for row in s["csv"].splitlines()[:4]:
            print(f"      {row}")
    totals = api(COMMISSIONS, {"p": demo.period}, token=demo.owner)["commissions"]["totals"]
    on_statements = sum(
        cents(ln["amount"]["amount"])
        for s in every
        for ln in s["lines"]
        if ln["kind"] == "COMMISSION"
    )
    earned = sum(cents(t["net"]["amount"]) for t in totals)
    check(
        on_statements == earned,
        f"all {len(every)} statements: COMMISSION lines {euros(on_statements)} = the "
        f"commissions of {demo.period} {euros(earned)}",
    )


def report(demo: Demo) -> None:
    print("6. the Bellecour manager's report for Bellecour shows the online-influenced sale")
    bellecour, before = demo.stores["bellecour"], demo.report_before
    now = demo.api(REPORT, {"s": bellecour["id"], "m": demo.period}, token=demo.manager)[
        "performanceReport"
    ]
    influenced = now["onlineInfluenced"]
    print(
        f"  {now['firstDay']} to {now['lastDay']}: sales: orders {now['sales']['orders']}, net "
        f"{now['sales']['net']['amount']}, online-influenced: orders {influenced['orders']}, net "
        f"{influenced['net']['amount']}, members acquired {now['membersAcquired']} "
        f"{now['acquiredByCode']}, commission {now['commission']['amount']}"
    )
    kept = demo.api(KEPT, {"id": demo.order["id"]}, token=demo.owner)["order"]
    order_net = cents(kept["total"]["amount"]) - cents(kept["refundedTotal"]["amount"])
    orders = influenced["orders"] - before["onlineInfluenced"]["orders"]
    net = cents(influenced["net"]["amount"]) - cents(before["onlineInfluenced"]["net"]["amount"])
    check(
        orders == 1 and net == order_net,
        f"online-influenced: +{orders} order, +{euros(net)} EUR = {demo.order['number']}'s "
        f"{kept['total']['amount']} less {kept['refundedTotal']['amount']} refunded",
    )
    code = demo.code["code"]
    acquired = {a["code"]: a["members"] for a in now["acquiredByCode"]}
    acquired_before = {a["code"]: a["members"] for a in before["acquiredByCode"]}
    gained = acquired.get(code, 0) - acquired_before.get(code, 0)
    check(gained == 1, f"members acquired with {code}: +{gained}", now["acquiredByCode"])
    who = ("LOCATION", bellecour["id"])
    earned = cents(now["commission"]["amount"]) - cents(before["commission"]["amount"])
    kept_commission = demo.accrued[who] + demo.reversed.get(who, 0)
    check(
        earned == kept_commission,
        f"Bellecour's commission: +{euros(earned)}, what it kept of the order",
    )


def birthday_soon(today: date) -> date:
    """A birthday three days after ``today``, in 1996 (a leap year: 29 February exists)."""
    soon = today + timedelta(days=3)
    return date(1996, soon.month, soon.day)


def birthday_task(demo: Demo) -> None:
    print("7. her birthday, three days ahead, is on Hugo's clienteling list")
    day = demo.today.isoformat()
    built = demo.api(BUILD_TASKS, {"d": day}, token=demo.owner)["clientelingTasksBuild"]
    check(not built["userErrors"], f"clientelingTasksBuild(day: {day}): {built['added']} added")
    hugo, _ = demo.api.login(*HUGO)
    tasks = demo.api(MY_TASKS, {"d": day}, token=hugo)["myTasks"]
    hers = [t for t in tasks if t["memberId"] == demo.member_id and t["kind"] == "BIRTHDAY"]
    check(
        len(hers) == 1,
        f"Hugo's myTasks: BIRTHDAY, {hers[0]['reason']}" if hers else "Hugo's BIRTHDAY task",
        tasks,
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("DATA_DIR") or "data")
    parser.add_argument("--timezone", default=os.environ.get("RECONCILE_TIMEZONE", "Europe/Paris"))
    args = parser.parse_args()
    now = datetime.now(UTC).astimezone(ZoneInfo(args.timezone))
    demo = Demo(
        api=Api(args.api), period=now.strftime("%Y-%m"), run=uuid.uuid4().hex[:8], today=now.date()
    )
    print(f"the settlement walkthrough against {args.api}")
    try:
        set_up(demo)
        sign_up(demo, args.data_dir)
        order_and_collect(demo)
        credits(demo)
        partial_return(demo)
        statements(demo)
        report(demo)
        birthday_task(demo)
    except httpx.HTTPError as error:
        print(f"  FAILED: no answer from {args.api}: {error!r}")
        return 1
    print("all steps seen")
    return 0


if __name__ == "__main__":
    sys.exit(main())
