"""SQL statements per hot path, pinned, so that a change which adds an N+1 fails (issue 8, item 6).

Every test goes through GraphQL over HTTP and counts what one request sends to the database
(``tests/api/querycount.py``: each statement through the ORM's client, inside transactions too;
BEGIN/COMMIT/SAVEPOINT are not counted). Anonymous queries pass through the response cache, so
each counted request is checked not to be a cache HIT: the SQL really ran. Each test first sends
one uncounted request of the same kind, so what a process loads once is not counted.
"""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from adapters.db import models as m
from tests.api.querycount import count_queries
from tests.factories import PART_DIEU, World, make_world, staff_token

# Statements per request. UPDATE THESE DELIBERATELY: the assertions are equalities, so an increase
# (an N+1, a lost DataLoader) and an unexplained decrease both fail. When a change moves a number
# on purpose, change it here in the same commit and say why in the commit message.
# A pair (base, per_line) means base + per_line * lines: placing an order changes stock row by row
# (one UPDATE of the stock row and one INSERT into the stock ledger per line); everything else is
# batched and must not grow with the number of lines.
# fmt: off
EXPECTED: dict[str, dict[str, int | tuple[int, int]]] = {
    "sqlite": {
        "products_page_anonymous": 5,   # channels with their locations, products, variants,
                                        # prices, units available per variant at its locations
        "products_page_member": 5,      # same: the tier comes from the token, tier prices are batched
        "product_by_handle": 7,         # the page's 5 + locations and per-store stock rows for
                                        # storeAvailability
        # a cart change: the channel with its locations in one statement, the variants with
        # their products in one statement read once per unit of work, no second read of the
        # cart just written, the locations of the pricing answer the payload (and the delivery)
        "cart_read": 11,
        "cartCreate": 16,
        "cartLinesAdd": 14,
        "cartLinesUpdate": 14,
        "cartLinesRemove": 14,
        "cartDiscountCodesUpdate": 13,
        "cartBuyerIdentityUpdate": 13,
        "cartDeliveryUpdate": 13,
        "checkoutComplete": (30, 3),    # per line: INSERT order_line + UPDATE stock + INSERT stock_movement; the cart's demand read before the transaction (sold-out counter); the order is not read back; one stock.changed event for the marketplaces; the order's attributions: the stores credited (with their franchisee) in one read, one INSERT
        "posOrderCreate": (32, 2),      # per line: UPDATE stock + INSERT stock_movement; + audit_log, till session, payment, the stock.changed event; the selling clerk and store credited (names and franchisee in one read, one INSERT) and the commission rules read at completion
    },
}
# fmt: on
EXPECTED["postgres"] = {
    **EXPECTED["sqlite"],  # measured: PostgreSQL sends the same statements, but
    # an order served from one stock row is reserved by one statement (UPDATE ... WHERE
    # available, with its movement): no SELECT ... FOR UPDATE, no separate INSERT
    "checkoutComplete_one_row": 31,
}

PAGE = """query($first: Int!) { products(first: $first) {
  pageInfo { hasNextPage endCursor }
  nodes { handle availableForSale priceRange { minVariantPrice { amount currencyCode } }
    variants(first: 10) { nodes { sku price { amount currencyCode } compareAtPrice { amount }
      quantityAvailable availableForSale } } } } }"""
PRODUCT = """query($handle: String!, $near: GeoCoordinateInput) { product(handle: $handle) {
  handle title availableForSale
  variants(first: 10) { nodes { sku price { amount } compareAtPrice { amount } quantityAvailable
    availableForSale storeAvailability(near: $near, first: 5) {
      location { handle name } quantityAvailable available distanceKm pickUpEnabled } } } } }"""
CART = """cart { id totalQuantity readyForCheckout pointsToRedeem
  cost { subtotalAmount { amount } deliveryAmount { amount } totalTaxAmount { amount }
         totalAmount { amount } amountDue { amount } }
  buyerIdentity { email }
  lines { id quantity title sku problem merchandise { sku }
    cost { amountPerQuantity { amount } compareAtAmountPerQuantity { amount } totalAmount { amount } }
    availability { quantityAvailableInChannel quantityAvailableAtStore
                   nearestStoresWithStock { location { handle } distanceKm } } }
  delivery { method location { handle } }
  discountCodes { code applicable reason }
  discountAllocations { lineId amount { amount } explanation } }"""
PAYLOAD = CART + " userErrors { field code message }"
CART_READ = "query($id: ID!) { %s }" % CART.replace("cart {", "cart(id: $id) {", 1)
CREATE = "mutation($i: CartInput!) { cartCreate(input: $i) { %s } }" % PAYLOAD
# name: (its variables besides $c, its arguments besides cartId)
CART_MUTATIONS = {
    "cartLinesAdd": ("$l: [CartLineInput!]!", "lines: $l"),
    "cartLinesUpdate": ("$l: [CartLineUpdateInput!]!", "lines: $l"),
    "cartLinesRemove": ("$l: [ID!]!", "lineIds: $l"),
    "cartDiscountCodesUpdate": ("$l: [String!]!", "discountCodes: $l"),
    "cartBuyerIdentityUpdate": ("$l: BuyerIdentityInput!", "buyerIdentity: $l"),
    "cartDeliveryUpdate": ("$l: CartDeliveryInput!", "delivery: $l"),
}
ORDER = """order { id number status paymentStatus channel total { amount }
  lines { id sku quantity unitPrice { amount } }
  fulfilments { id method status pickupCode location { handle } } }"""
CHECKOUT = (
    """mutation($c: ID!, $k: String!) { checkoutComplete(cartId: $c, idempotencyKey: $k) {
  %s orderAccessToken userErrors { field code message } } }"""
    % ORDER
)
POS = (
    """mutation($i: PosOrderInput!) { posOrderCreate(input: $i) {
  %s userErrors { field code message } } }"""
    % ORDER
)
PROMO = """mutation($i: PromotionInput!) { promotionCreate(input: $i) {
  promotionId userErrors { code } } }"""
SIGNUP = """mutation($i: MemberCreateInput!) { memberCreate(input: $i) { accepted } }"""
VERIFY = """mutation($t: String!) { memberVerify(token: $t) { verified } }"""
LOGIN = """mutation($id: String!, $p: String!) { memberLogin(identifier: $id, password: $p) {
  accessToken member { tier } userErrors { code } } }"""


@pytest.fixture
def expected(db: str) -> dict[str, int | tuple[int, int]]:
    """The table of the backend the suite runs on."""
    dialect = connections.get("default").capabilities.dialect
    return EXPECTED["postgres" if dialect == "postgres" else "sqlite"]


def _assert_count(name: str, seen: list[str], want: int) -> None:
    """Exactly ``want`` statements, or a failure that lists what was sent."""
    statements = "\n".join(f"  {q[:200]}" for q in seen)
    assert len(seen) == want, (
        f"{name}: {len(seen)} SQL statements, expected {want} "
        f"(update EXPECTED in {__name__} only if the change is deliberate)\n{statements}"
    )


def _per_line(entry: int | tuple[int, int], lines: int) -> int:
    """base + per_line * lines for a pair; the number itself otherwise."""
    if isinstance(entry, tuple):
        base, per_line = entry
        return base + per_line * lines
    return entry


async def _counted(
    gql: Any, query: str, variables: dict[str, Any], *, token: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Send one request; return the payload of its one root field and the statements sent."""
    with count_queries() as seen:
        response = await gql.raw(query, variables, token=token)
    assert response.status_code == 200, response.text
    assert response.headers.get("x-cache") != "HIT", "served from the response cache: no SQL ran"
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = next(iter(body["data"].values()))
    assert data is not None and not data.get("userErrors"), body
    return data, seen


def _cart_input(world: World, lines: int) -> dict[str, Any]:
    """A pick-up cart at Part-Dieu with one unit of each of the first ``lines`` variants."""
    return {
        "lines": [{"merchandiseId": world.gid(v), "quantity": 1} for v in world.variants[:lines]],
        "buyerIdentity": {"email": "ada@example.com"},
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }


async def _cart(gql: Any, world: World, lines: int) -> dict[str, Any]:
    """Such a cart, created outside any count."""
    body = await gql(CREATE, {"i": _cart_input(world, lines)})
    assert body["data"]["cartCreate"]["userErrors"] == [], body
    cart: dict[str, Any] = body["data"]["cartCreate"]["cart"]
    return cart


async def _member_with_tier(gql: Any, world: World) -> str:
    """A verified member in tier BRONZE, which has its own price on the first variants."""
    await m.MemberTier.create(code="BRONZE", name="Bronze", threshold_minor=0)
    for variant in world.variants[:4]:
        await m.Price.create(
            variant=variant, kind="TIER", tier="BRONZE", currency="EUR", amount=2500
        )
    email, password = "ada@example.com", "a long enough secret"
    code = f"REF-S{world.part_dieu.id}"
    await gql(SIGNUP, {"i": {"email": email, "password": password, "referralCode": code}})
    message = await m.MemberMessage.filter(to=email).order_by("-id").first()
    assert message is not None  # the token reaches the member privately, never in an event
    await gql(VERIFY, {"t": message.body.rsplit(" ", 1)[1]})
    session = (await gql(LOGIN, {"id": email, "p": password}))["data"]["memberLogin"]
    assert session["member"]["tier"] == "BRONZE", session
    token: str = session["accessToken"]
    return token


async def test_products_page_anonymous_costs_the_same_at_5_and_20_products(gql, expected):
    await make_world(products=25, variants_per_product=3)
    await gql("{ products(first: 1) { nodes { handle } } }")
    large_page, large = await _counted(gql, PAGE, {"first": 20})
    small_page, small = await _counted(gql, PAGE, {"first": 5})
    assert len(large_page["nodes"]) == 20 and len(small_page["nodes"]) == 5
    _assert_count("products(first: 20)", large, expected["products_page_anonymous"])
    _assert_count("products(first: 5)", small, len(large))


async def test_products_page_for_a_member_with_a_tier(gql, expected):
    world = await make_world(products=25, variants_per_product=3)
    token = await _member_with_tier(gql, world)
    await gql("{ products(first: 1) { nodes { handle } } }", token=token)
    large_page, large = await _counted(gql, PAGE, {"first": 20}, token=token)
    small_page, small = await _counted(gql, PAGE, {"first": 5}, token=token)
    variant = large_page["nodes"][0]["variants"]["nodes"][0]
    assert variant["price"]["amount"] == "25.00" and variant["compareAtPrice"]["amount"] == "29.90"
    assert len(small_page["nodes"]) == 5
    _assert_count("products(first: 20) as a member", large, expected["products_page_member"])
    _assert_count("products(first: 5) as a member", small, len(large))


async def test_product_by_handle_with_store_availability(gql, expected):
    await make_world(products=3, variants_per_product=4)
    await gql("{ products(first: 1) { nodes { handle } } }")
    near = {"latitude": PART_DIEU[0], "longitude": PART_DIEU[1]}
    product, seen = await _counted(gql, PRODUCT, {"handle": "linen-shirt-001", "near": near})
    variants = product["variants"]["nodes"]
    assert len(variants) == 4 and variants[0]["storeAvailability"], product
    _assert_count("product(handle:)", seen, expected["product_by_handle"])


@pytest.mark.parametrize("lines", [1, 5])
async def test_cart_read_costs_the_same_whatever_its_lines(gql, expected, lines):
    world = await make_world(products=5, variants_per_product=1)
    await gql(CART_READ, {"id": (await _cart(gql, world, 1))["id"]})
    cart_id = (await _cart(gql, world, lines))["id"]
    cart, seen = await _counted(gql, CART_READ, {"id": cart_id})
    assert len(cart["lines"]) == lines
    _assert_count(f"cart(id) with {lines} lines", seen, expected["cart_read"])


@pytest.mark.parametrize("lines", [1, 5])
async def test_each_cart_mutation_costs_the_same_whatever_the_lines(gql, settings, expected, lines):
    world = await make_world(products=6, variants_per_product=1)
    owner = await staff_token(settings.secret_key)
    promo = {"name": "Welcome", "kind": "PERCENTAGE", "percent": 10, "code": "WELCOME10"}
    created = await gql(PROMO, {"i": promo}, token=owner)
    assert created["data"]["promotionCreate"]["userErrors"] == [], created
    await _cart(gql, world, 1)
    payload, seen = await _counted(gql, CREATE, {"i": _cart_input(world, lines)})
    _assert_count(f"cartCreate with {lines} lines", seen, expected["cartCreate"])
    cart_id, line_ids = payload["cart"]["id"], [x["id"] for x in payload["cart"]["lines"]]
    steps = {
        "cartLinesAdd": [{"merchandiseId": world.gid(world.variants[5])}],
        "cartLinesUpdate": [{"id": line_ids[0], "quantity": 2}],
        "cartLinesRemove": [line_ids[-1]],
        "cartDiscountCodesUpdate": ["WELCOME10"],
        "cartBuyerIdentityUpdate": {"email": "bea@example.com"},
        "cartDeliveryUpdate": {"method": "SHIP", "address": {"city": "Lyon"}},
    }
    for name, argument in steps.items():
        declared, arguments = CART_MUTATIONS[name]
        mutation = (
            f"mutation($c: ID!, {declared}) {{ {name}(cartId: $c, {arguments}) {{ {PAYLOAD} }} }}"
        )
        payload, seen = await _counted(gql, mutation, {"c": cart_id, "l": argument})
        _assert_count(f"{name} on a cart of {lines} lines", seen, expected[name])
    assert payload["cart"]["discountCodes"] == [
        {"code": "WELCOME10", "applicable": True, "reason": None}
    ]


@pytest.mark.parametrize("lines", [1, 3])
async def test_checkout_complete(gql, expected, lines):
    world = await make_world(products=3, variants_per_product=1)
    await gql(CHECKOUT, {"c": (await _cart(gql, world, 1))["id"], "k": "warm-up"})
    cart_id = (await _cart(gql, world, lines))["id"]
    placed, seen = await _counted(gql, CHECKOUT, {"c": cart_id, "k": f"checkout-{lines}"})
    assert len(placed["order"]["lines"]) == lines
    want = _per_line(expected["checkoutComplete"], lines)
    if lines == 1:
        want = expected.get("checkoutComplete_one_row", want)  # type: ignore[assignment]
    _assert_count(f"checkoutComplete with {lines} lines", seen, want)


@pytest.mark.parametrize("lines", [1, 3])
async def test_till_sale_by_a_clerk(gql, settings, expected, lines):
    world = await make_world(products=3, variants_per_product=1)
    till = await m.Channel.create(
        handle="store-part-dieu",
        name="Part-Dieu till",
        kind="STORE",
        currency="EUR",
        store=world.part_dieu,
    )
    await m.ChannelLocation.create(channel=till, location=world.part_dieu)
    clerk = await staff_token(settings.secret_key, role="CLERK", location_ids=[world.part_dieu.id])

    def sale(key: str, count: int) -> dict[str, Any]:
        variants = world.variants[:count]
        return {
            "locationId": world.gid(world.part_dieu),
            "tender": "CASH",
            "idempotencyKey": key,
            "lines": [{"variantId": world.gid(v), "quantity": 1} for v in variants],
        }

    await gql(POS, {"i": sale("warm-up", 1)}, token=clerk)
    placed, seen = await _counted(gql, POS, {"i": sale(f"till-{lines}", lines)}, token=clerk)
    assert placed["order"]["status"] == "COMPLETED" and len(placed["order"]["lines"]) == lines
    want = _per_line(expected["posOrderCreate"], lines)
    _assert_count(f"posOrderCreate with {lines} lines", seen, want)
