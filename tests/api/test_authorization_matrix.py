"""The authorization policy (schema/policy.py) against the built schema and over HTTP.

Every root field and mutation has a rule (a new field without one fails here), every sensitive
field named by the policy exists and carries the policy's extension; then every field refused
to a role by the policy is refused over HTTP, and representative fields answer each role as
the policy says (anonymous, guest with a token, member self and other, clerk of the member's
store and of another, manager, owner, partner with and without scopes).
"""

from __future__ import annotations

from graphql import GraphQLNonNull, get_named_type
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from schema.policy import ROOT, SENSITIVE, Audience, PolicyExtension, allows
from schema.root import SENSITIVE_TYPES, Mutation, Query
from tests.api.test_member_privacy import LOOKUP, _ada_of_part_dieu
from tests.api.test_members import LOGIN, SIGNUP
from tests.api.test_permissions import _dummy
from tests.factories import make_world, staff_token

REFUSALS = {"UNAUTHENTICATED", "PERMISSION_DENIED"}


def test_every_root_field_and_mutation_has_a_rule(app):
    schema = app.state.schema._schema
    fields = {f"Query.{n}" for n in schema.query_type.fields}
    fields |= {f"Mutation.{n}" for n in schema.mutation_type.fields}
    assert sorted(fields - ROOT.keys()) == [], "add a rule to schema/policy.py ROOT"
    assert sorted(ROOT.keys() - fields) == [], "a rule for a field that no longer exists"


def test_every_sensitive_field_exists_and_is_enforced(app):
    schema = app.state.schema._schema
    for name in SENSITIVE:
        type_name, field = name.split(".")
        assert field in schema.type_map[type_name].fields, name
    enforced = set()
    for root, type_name in ((Query, "Query"), (Mutation, "Mutation")):
        for f in get_object_definition(root, strict=True).fields:
            assert any(isinstance(e, PolicyExtension) for e in f.extensions), (type_name, f.name)
    for cls in SENSITIVE_TYPES:
        definition = get_object_definition(cls, strict=True)
        for f in definition.fields:
            if any(isinstance(e, PolicyExtension) for e in f.extensions):
                enforced.add(f"{definition.name}.{to_camel_case(f.python_name)}")
    assert sorted(SENSITIVE.keys() - enforced) == [], "add its type to schema/root.py"


def _document(kind: str, name: str, field) -> str:
    args = ", ".join(
        f"{a}: {_dummy(t.type)}"
        for a, t in field.args.items()
        if isinstance(t.type, GraphQLNonNull)
    )
    named = get_named_type(field.type)
    selection = ""
    if hasattr(named, "fields"):
        selection = "{ userErrors { code } }" if "userErrors" in named.fields else "{ __typename }"
    return f"{kind} {{ {name}{f'({args})' if args else ''} {selection} }}"


def _codes(body: dict, name: str) -> set[str]:
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
    payload = (body.get("data") or {}).get(name)
    if isinstance(payload, dict):
        codes |= {e["code"] for e in payload.get("userErrors") or []}
    return codes


async def _callers(gql, settings, world) -> dict[Audience, tuple[str | None, frozenset[str]]]:
    """A token for each audience (and the partner's scopes)."""
    await gql(SIGNUP, {"i": {"email": "bob@example.com", "password": "a long enough secret"}})
    await _verify_latest(gql)
    login = {"id": "bob@example.com", "p": "a long enough secret"}
    member = (await gql(LOGIN, login))["data"]["memberLogin"]["accessToken"]
    stores = [world.part_dieu.id]
    owner = await staff_token(settings.secret_key)
    partner = await _api_key(gql, owner, ["catalog:read"])
    return {
        Audience.ANONYMOUS: (None, frozenset()),
        Audience.MEMBER: (member, frozenset()),
        Audience.CLERK: (
            await staff_token(settings.secret_key, role="CLERK", location_ids=stores),
            frozenset(),
        ),
        Audience.STORE_MANAGER: (
            await staff_token(settings.secret_key, role="STORE_MANAGER", location_ids=stores),
            frozenset(),
        ),
        Audience.ADMIN: (await staff_token(settings.secret_key, role="ADMIN"), frozenset()),
        Audience.OWNER: (owner, frozenset()),
        Audience.PARTNER: (partner, frozenset({"catalog:read"})),
    }


async def _verify_latest(gql) -> None:
    from tests.api.test_members import VERIFY, _token

    await gql(VERIFY, {"t": await _token("EMAIL")})


async def _api_key(gql, owner: str, scopes: list[str]) -> str:
    create = """mutation($s: [String!]!) { apiKeyCreate(input: {partner: "Acme", scopes: $s}) {
      secret userErrors { code } } }"""
    made = (await gql(create, {"s": scopes}, token=owner))["data"]["apiKeyCreate"]
    assert made["userErrors"] == [], made
    return made["secret"]


async def test_every_field_refused_by_the_policy_is_refused_over_http(app, gql, settings):
    world = await make_world(products=1)
    callers = await _callers(gql, settings, world)
    schema = app.state.schema._schema
    checked = 0
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in root.fields.items():
            rule = ROOT[f"{root.name}.{name}"]
            required = {a for a, t in field.args.items() if isinstance(t.type, GraphQLNonNull)}
            for audience, (token, scopes) in callers.items():
                if token is None and rule.token and to_camel_case(rule.token) in required:
                    audience = Audience.GUEST  # the dummy token makes a guest of them
                if audience in rule.who and (
                    audience is not Audience.PARTNER
                    or not rule.scopes
                    or {s.value for s in rule.scopes} & scopes
                ):
                    continue
                body = await gql(_document(kind, name, field), token=token or "")
                expected = "UNAUTHENTICATED" if token is None else "PERMISSION_DENIED"
                assert expected in _codes(body, name), (audience, name, body)
                checked += 1
    assert checked > 100


LEVELS = "query($v: ID!) { inventoryLevels(variantId: $v) { available } }"
ORDER = "query($o: ID!, $t: String) { order(id: $o, accessToken: $t) { number buyer } }"


async def _roles(gql, settings, world) -> dict[str, str]:
    """Ada (a member of Part-Dieu), Eve (another member), store staff, the owner, two keys."""
    _, ada, _ = await _ada_of_part_dieu(gql, world, settings)
    key = settings.secret_key
    owner = await staff_token(key)
    await gql(SIGNUP, {"i": {"email": "eve@example.com", "password": "a long enough secret"}})
    await _verify_latest(gql)
    login = {"id": "eve@example.com", "p": "a long enough secret"}
    return {
        "ada": ada,
        "eve": (await gql(LOGIN, login))["data"]["memberLogin"]["accessToken"],
        "owner": owner,
        "clerk_own": await staff_token(key, role="CLERK", location_ids=[world.part_dieu.id]),
        "clerk_other": await staff_token(key, role="CLERK", location_ids=[world.bellecour.id]),
        "manager": await staff_token(key, role="STORE_MANAGER", location_ids=[world.part_dieu.id]),
        "reader": await _api_key(gql, owner, ["inventory:read"]),
        "catalog": await _api_key(gql, owner, ["catalog:read"]),
    }


async def test_each_role_on_member_fields(gql, settings):
    world = await make_world(products=1)
    r = await _roles(gql, settings, world)
    # memberLookup: refused to anonymous, members and partners; scoped for store staff
    phone = {"p": "0612345678"}
    assert _codes(await gql(LOOKUP, phone), "memberLookup") == {"UNAUTHENTICATED"}
    for who in ("ada", "eve", "reader"):
        body = await gql(LOOKUP, phone, token=r[who])
        assert _codes(body, "memberLookup") == {"PERMISSION_DENIED"}, who
    for who, email in (
        ("clerk_own", "ada@example.com"),
        ("manager", "ada@example.com"),
        ("owner", "ada@example.com"),
        ("clerk_other", None),
    ):
        seen = (await gql(LOOKUP, phone, token=r[who]))["data"]["memberLookup"]
        assert seen["name"] == "Ada" and seen["email"] == email, who
    # me: the member themselves; null for anyone else
    me = "{ me { email } }"
    assert (await gql(me, token=r["ada"]))["data"]["me"] == {"email": "ada@example.com"}
    assert (await gql(me, token=r["eve"]))["data"]["me"] == {"email": "eve@example.com"}
    assert (await gql(me))["data"]["me"] is None
    assert (await gql(me, token=r["owner"]))["data"]["me"] is None


async def test_each_role_on_an_order_and_partner_scopes(gql, settings):
    world = await make_world(products=1)
    r = await _roles(gql, settings, world)
    # order: the guest with the token, store staff of its store, the brand; null for others
    cart = await _guest_cart(gql, world)
    placed = (await gql(_checkout(), {"cart": cart, "key": "g1"}))["data"]["checkoutComplete"]
    oid, access = placed["order"]["id"], placed["orderAccessToken"]
    assert (await gql(ORDER, {"o": oid, "t": access}))["data"]["order"]["buyer"]
    for token in ("", r["eve"], r["clerk_other"]):
        assert (await gql(ORDER, {"o": oid}, token=token))["data"]["order"] is None
    for who in ("clerk_own", "owner"):
        assert (await gql(ORDER, {"o": oid}, token=r[who]))["data"]["order"]["buyer"]
    body = await gql(ORDER, {"o": oid}, token=r["reader"])
    assert _codes(body, "order") == {"PERMISSION_DENIED"}
    # partner keys by scope: inventory:read reads levels, catalog:read does not
    variant = {"v": world.gid(world.variants[0])}
    assert (await gql(LEVELS, variant, token=r["reader"]))["data"]["inventoryLevels"]
    body = await gql(LEVELS, variant, token=r["catalog"])
    assert _codes(body, "inventoryLevels") == {"PERMISSION_DENIED"}
    assert allows(ROOT["Query.inventoryLevels"], Audience.CLERK, _principal())


def _principal():
    from domain.identity.model import Principal, PrincipalKind, Role

    return Principal(kind=PrincipalKind.STAFF, subject="staff:1", role=Role.CLERK)


async def _guest_cart(gql, world) -> str:
    from tests.api.test_orders import CREATE

    data = {
        "lines": [{"merchandiseId": world.gid(world.variants[0]), "quantity": 1}],
        "buyerIdentity": {"email": "guest@example.com"},
        "delivery": {"method": "PICKUP", "locationId": world.gid(world.part_dieu)},
    }
    return (await gql(CREATE, {"input": data}))["data"]["cartCreate"]["cart"]["id"]


def _checkout() -> str:
    from tests.api.test_orders import CHECKOUT

    return CHECKOUT
