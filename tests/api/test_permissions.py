"""Every admin mutation refuses anonymous callers; staff and partners only act within rights."""

from __future__ import annotations

from graphql import GraphQLNonNull

from tests.factories import make_world, staff_token

# Mutations meant for callers without an account (shoppers, or staff logging in).
PUBLIC_MUTATIONS = {
    "staffLogin",
    "cartCreate",
    "cartLinesAdd",
    "cartLinesUpdate",
    "cartLinesRemove",
    "cartBuyerIdentityUpdate",
    "cartDeliveryUpdate",
    "checkoutComplete",
    "orderCancel",  # the buyer, with the order's access token
    "checkoutPaymentConfirm",  # the buyer, with the order's access token
    "memberCreate",
    "memberVerify",
    "memberLogin",
    "memberTokenRefresh",
    "memberLogout",
    "cartPointsApply",  # a logged-in member on their own cart
    "cartDiscountCodesUpdate",
    "voucherTransfer",  # a logged-in member gives their own voucher
    "memberUpdate",  # a logged-in member edits their own profile
    "attributionScan",  # anyone who scans a QR: a member or an anonymous visitor
}


def _dummy(arg_type) -> str:
    """A syntactically valid literal for any input type (content does not matter here)."""
    inner = arg_type.of_type if isinstance(arg_type, GraphQLNonNull) else arg_type
    name = getattr(inner, "name", None)
    if name is None:  # a list
        return f"[{_dummy(inner.of_type)}]"
    if name in ("ID", "String"):
        return '"x"'
    if name == "Int":
        return "1"
    if name == "Float":
        return "1.0"
    if name == "Boolean":
        return "true"
    if name == "JSON":
        return "{}"
    if name == "Date":
        return '"2025-06-01"'
    if hasattr(inner, "values"):  # an enum: its first value
        return next(iter(inner.values))
    if hasattr(inner, "fields"):
        required = [
            f"{k}: {_dummy(f.type)}"
            for k, f in inner.fields.items()
            if (isinstance(f.type, GraphQLNonNull) and f.default_value is not None)
            or isinstance(f.type, GraphQLNonNull)
        ]
        return "{" + ", ".join(required) + "}"
    return '"x"'


async def test_every_mutation_refuses_an_anonymous_caller(app, gql):
    schema = app.state.schema._schema
    mutations = schema.mutation_type.fields
    assert len(mutations) >= 15
    for name, field in mutations.items():
        if name in PUBLIC_MUTATIONS:
            continue
        args = ", ".join(
            f"{arg}: {_dummy(a.type)}"
            for arg, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull)
        )
        document = f"mutation {{ {name}{f'({args})' if args else ''} {{ __typename }} }}"
        body = await gql(document)
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert codes == ["UNAUTHENTICATED"], (name, body)


ADJUST = """mutation($input: InventoryAdjustInput!) { inventoryAdjust(input: $input) {
  inventoryLevel { onHand available } userErrors { field code message } } }"""


async def test_store_manager_cannot_touch_another_stores_stock(gql, settings):
    world = await make_world(products=1)
    token = await staff_token(
        settings.secret_key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]
    )
    own = {
        "variantId": world.gid(world.variants[0]),
        "locationId": world.gid(world.part_dieu),
        "delta": 2,
        "reason": "received",
    }
    body = await gql(ADJUST, {"input": own}, token=token)
    assert body["data"]["inventoryAdjust"]["inventoryLevel"]["onHand"] == 5
    other = {**own, "locationId": world.gid(world.bellecour)}
    body = await gql(ADJUST, {"input": other}, token=token)
    errors = body["data"]["inventoryAdjust"]["userErrors"]
    assert errors[0]["code"] == "PERMISSION_DENIED"
    assert errors[0]["field"] == ["locationId"]
    body = await gql(
        'mutation { productCreate(input: {title: "X"}) { userErrors { code } } }', token=token
    )
    assert body["data"]["productCreate"]["userErrors"][0]["code"] == "PERMISSION_DENIED"


async def test_invalid_token_is_401_not_anonymous(gql):
    response = await gql.raw("{ channels { handle } }", token="not-a-token")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


LOGIN = """mutation($e: String!, $p: String!) { staffLogin(email: $e, password: $p) {
  accessToken staffUser { email role } userErrors { code message } } }"""


async def test_staff_login_and_partner_keys(gql, settings):
    await make_world(products=1)
    await staff_token(settings.secret_key, email="owner@example.com", password="a long passphrase")
    bad = await gql(LOGIN, {"e": "owner@example.com", "p": "wrong password!!"})
    unknown = await gql(LOGIN, {"e": "nobody@example.com", "p": "wrong password!!"})
    assert bad["data"]["staffLogin"]["userErrors"] == unknown["data"]["staffLogin"]["userErrors"]
    assert bad["data"]["staffLogin"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    ok = await gql(LOGIN, {"e": " Owner@Example.com ", "p": "a long passphrase"})
    token = ok["data"]["staffLogin"]["accessToken"]
    assert token and ok["data"]["staffLogin"]["staffUser"]["role"] == "OWNER"

    create = """mutation { apiKeyCreate(input: {partner: "Acme", scopes: ["catalog:read",
      "inventory:write"]}) { secret apiKey { id prefix scopes } userErrors { code } } }"""
    made = (await gql(create, token=token))["data"]["apiKeyCreate"]
    secret, key_id = made["secret"], made["apiKey"]["id"]
    assert secret.startswith("o2o_" + made["apiKey"]["prefix"])
    # a partner key may adjust stock (inventory:write) but not edit the catalog
    body = await gql(
        'mutation { productCreate(input: {title: "X"}) { userErrors { code } } }', token=secret
    )
    assert body["data"]["productCreate"]["userErrors"][0]["code"] == "PERMISSION_DENIED"
    revoke = "mutation($id: ID!) { apiKeyRevoke(id: $id) { apiKey { revokedAt } } }"
    body = await gql(revoke, {"id": key_id}, token=token)
    assert body["data"]["apiKeyRevoke"]["apiKey"]["revokedAt"]
    assert (await gql.raw("{ channels { handle } }", token=secret)).status_code == 401
    bad_scope = create.replace("catalog:read", "everything")
    body = await gql(bad_scope, token=token)
    assert body["data"]["apiKeyCreate"]["userErrors"][0]["code"] == "INVALID_SCOPE"


async def test_every_mutation_answers_nonsense_without_an_internal_error(app, gql, settings):
    """Dummy arguments for every mutation, as an owner: userErrors or clear errors, never a 500."""
    await make_world(products=1)
    owner = await staff_token(settings.secret_key)
    schema = app.state.schema._schema
    for name, field in schema.mutation_type.fields.items():
        args = ", ".join(
            f"{arg}: {_dummy(a.type)}"
            for arg, a in field.args.items()
            if isinstance(a.type, GraphQLNonNull)
        )
        document = f"mutation {{ {name}{f'({args})' if args else ''} {{ __typename }} }}"
        response = await gql.raw(document, token=owner)
        assert response.status_code in (200, 400), (name, response.text)
        codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (name, response.json())
