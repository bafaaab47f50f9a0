"""Storefront search through an index (migration 0008), with the results of the plain LIKE scan.

``products(query:)`` keeps substring semantics per word, case-insensitive as before (words and
``search_text`` are lower-cased by Python; accents are not folded). PostgreSQL serves the LIKE
from a pg_trgm GIN index; SQLite narrows by an FTS5 trigram table (words of 3+ characters) kept
by triggers, and LIKE still decides. Every case below is compared with the LIKE-only query the
listing sent before the index existed.
"""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from adapters.db import models as m
from adapters.db.queries import TortoiseCatalogQueries
from domain.catalog.ports import PageRequest, ProductFilter
from tests.adapters.sqlcapture import capture_sql, explain
from tests.factories import make_world, staff_token

CREATE = """mutation($input: ProductInput!) { productCreate(input: $input) {
  product { id handle } userErrors { field code message } } }"""
UPDATE = """mutation($id: ID!, $input: ProductInput!) { productUpdate(id: $id, input: $input) {
  product { title } userErrors { field code } } }"""
SEARCH = "query($q: String) { products(first: 50, query: $q) { nodes { handle } } }"

# title, SKUs, tags
CORPUS: list[tuple[str, list[str], list[str]]] = [
    ("Chemise en Lin", ["CH-LIN-1"], ["été"]),
    ("Café Crème Mug", ["MUG-1"], ["kitchen"]),
    ("Linen Shirt", ["LS-001", "LS-002"], ["linen", "summer"]),
    ("100% Cotton Tee", ["CT-100_A"], []),
    ("Robe d'été", ["RE-1"], ["été", "summer"]),
    ('The "Big" Bag', ["BB-1"], []),
    ("ÉCHARPE Laine", ["EL-1"], ["hiver"]),
    ("Straße Hat", ["SH-1"], []),
    ("AB Test", ["AB"], []),
    ("Lin", ["X"], ["lin"]),
]
QUERIES = [
    "lin", "LIN", "li", "l", "e", "x", "ab", "a b", "café", "cafe", "CAFÉ", "crème mug", "été",
    "ete", "100%", "%", "_", "t_a", "ct-100_a", "ct-100%a", "d'été", "'", '"big"', 'big"',
    "écharpe", "ÉCHARPE", "echarpe", "straße", "strasse", "linen shirt", "lin shirt", "shirt lin",
    "ls-00", "zzz", "#été", "#lin", " #lin ", "n s", "in", "mug crème", "e é",
]  # fmt: skip
TAGS = ["linen", "été", "ÉTÉ", "lin", "li", "summer", " Summer ", "hiver", "nope", "%"]


async def _corpus(gql: Any, settings: Any) -> dict[str, str]:
    await make_world(products=0)
    gql.token = await staff_token(settings.secret_key)
    ids = {}
    for i, (title, skus, tags) in enumerate(CORPUS):
        variants = [{"sku": s, "optionValues": {"Size": "S"}} for s in skus[:1]]
        variants += [{"sku": s, "optionValues": {"Size": "M"}} for s in skus[1:]]
        body = await gql(
            CREATE,
            {
                "input": {
                    "title": title,
                    "handle": f"p{i}",
                    "status": "ACTIVE",
                    "tags": tags,
                    "options": [{"name": "Size", "values": ["S", "M"]}],
                    "variants": variants,
                }
            },
        )
        assert body["data"]["productCreate"]["userErrors"] == [], body
        ids[f"p{i}"] = body["data"]["productCreate"]["product"]["id"]
    gql.token = None
    return ids


async def _like_only(text: str | None, tag: str | None) -> list[str]:
    """The listing's query as it was before the search index: LIKE per word, by id."""
    query = m.Product.filter(status__in=["ACTIVE"])
    for word in (text or "").lower().split():
        query = query.filter(search_text__contains=word)
    if tag:
        query = query.filter(search_text__contains=f" #{tag.strip().lower()} ")
    return [p.handle for p in await query.order_by("id")]


async def _indexed(text: str | None, tag: str | None) -> list[str]:
    page = PageRequest(sort="ID", reverse=False, limit=50)
    found, _ = await TortoiseCatalogQueries().products_page(ProductFilter(text=text, tag=tag), page)
    return [p.handle for p in found]


def _python(rows: list[tuple[str, str]], text: str | None, tag: str | None) -> list[str]:
    needles = (text or "").lower().split() + ([f" #{tag.strip().lower()} "] if tag else [])
    return [handle for handle, s in rows if all(n in s for n in needles)]


async def _rows() -> list[tuple[str, str]]:
    return list(await m.Product.all().order_by("id").values_list("handle", "search_text"))


async def test_search_finds_what_the_like_scan_found(gql, settings):
    await _corpus(gql, settings)
    rows = await _rows()
    cases = [(q, None) for q in QUERIES] + [(None, t) for t in TAGS]
    cases += [("lin", "été"), ("shirt", "linen"), ("l", "summer"), ("zz", "linen")]
    for text, tag in cases:
        expected = await _like_only(text, tag)
        assert await _indexed(text, tag) == expected, (text, tag)
        assert expected == _python(rows, text, tag), (text, tag)
    # a few through GraphQL, words and `tag:` as a shopper types them
    for q, handles in [
        ("lin", ["p0", "p2", "p9"]),
        ("LI", ["p0", "p2", "p9"]),
        ("café", ["p1"]),
        ("cafe", []),
        ("tag:été", ["p0", "p4"]),
        ("tag:lin", ["p9"]),
        ("tag:linen shirt", ["p2"]),
        ("100%", ["p3"]),
        ("écharpe", ["p6"]),
    ]:
        body = await gql(SEARCH, {"q": q})
        assert [n["handle"] for n in body["data"]["products"]["nodes"]] == handles, q


async def test_a_changed_title_is_found_by_its_new_words_only(gql, settings):
    ids = await _corpus(gql, settings)
    gql.token = await staff_token(settings.secret_key)
    body = await gql(UPDATE, {"id": ids["p2"], "input": {"title": "Wool Coat"}})
    assert body["data"]["productUpdate"]["userErrors"] == []
    gql.token = None

    async def handles(q: str) -> list[str]:
        return [n["handle"] for n in (await gql(SEARCH, {"q": q}))["data"]["products"]["nodes"]]

    assert await handles("wool") == ["p2"]
    assert await handles("coat") == ["p2"]
    assert await handles("shirt") == []  # the old title's word
    assert await handles("linen") == ["p2"]  # still in its tag `#linen`
    assert await handles("ls-002") == ["p2"]  # SKUs are unchanged
    # deleting a product removes it from the index (SQLite: the trigger), and nothing else
    await m.Product.filter(handle="p0").delete()
    assert await handles("lin") == ["p2", "p9"]  # p2 by its tag `#linen`
    assert await _indexed("lin", None) == await _like_only("lin", None)


async def test_the_search_reads_the_index(gql, settings):
    await _corpus(gql, settings)
    conn = connections.get("default")
    if conn.capabilities.dialect == "sqlite":
        with capture_sql() as long_word:
            assert await _indexed("linen", None) == ["p2"]
        [(sql, values)] = long_word
        assert "product_search MATCH" in sql
        plan = await conn.execute_query_dict("EXPLAIN QUERY PLAN " + sql, values)
        assert any("VIRTUAL TABLE INDEX" in r["detail"] for r in plan), plan
        with capture_sql() as short_word:
            await _indexed("li", None)
        assert "MATCH" not in short_word[0][0]  # 1-2 characters: LIKE alone
        # the FTS5 table agrees with its content table (external content; kept by triggers)
        await conn.execute_query(
            "INSERT INTO product_search(product_search, rank) VALUES ('integrity-check', 1)"
        )
        return
    assert conn.capabilities.dialect == "postgres"
    indexes = await conn.execute_query_dict(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'product'"
    )
    assert any("gin_trgm_ops" in r["indexdef"] for r in indexes), indexes
    # enough rows that the planner prefers the index by itself
    await conn.execute_script(
        "INSERT INTO product (title, handle, description, status, vendor, tags, image_urls,"
        " options, search_text, created_at, updated_at) SELECT 'Filler ' || g, 'filler-' || g,"
        " '', 'ACTIVE', '', '[]', '[]', '[]', ' filler ' || md5(g::text) || ' ', now(), now()"
        " FROM generate_series(1, 5000) g;"
        # what autovacuum does after a bulk load: the GIN pending list into the index proper
        " SELECT gin_clean_pending_list('product_search_trgm'); ANALYZE product;"
    )
    with capture_sql() as captured:
        assert await _indexed("linen", None) == ["p2"]
    [(sql, values)] = captured
    plan = await explain(sql, values)
    assert "product_search_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    # a code joined by punctuation: the index looks up its longest run only (`ls-002` → `002`),
    # not trigrams such as `ls-` that every product of a range shares; LIKE checks the rest
    with capture_sql() as captured:
        assert await _indexed("ls-002", None) == ["p2"]
    [(sql, values)] = captured
    plan = await explain(sql, values)
    assert "Index Cond: (search_text ~~ '%002%'::text)" in plan, plan


@pytest.mark.parametrize("word", ["lin", "li"])
async def test_a_graphql_search_costs_the_same_queries(gql, settings, word):
    """Narrowing by the index adds no statement: a search costs what the plain listing costs
    (pinned in tests/api/test_query_counts.py)."""
    from tests.api.querycount import count_queries

    await _corpus(gql, settings)
    query = """query($q: String) { products(first: 20, query: $q) { nodes { handle
      variants(first: 5) { nodes { sku price { amount } quantityAvailable } } } } }"""
    await gql(query, {"q": word})
    with count_queries() as plain:
        await gql(query, {"q": None})
    with count_queries() as searched:
        body = await gql(query, {"q": word + " "})  # another text: not the cached answer
    assert body["data"]["products"]["nodes"]
    assert len(searched) == len(plain), searched
