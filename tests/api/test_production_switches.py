"""Introspection, field suggestions and GraphiQL can be switched off for production."""

from __future__ import annotations

import httpx

from adapters.settings import Settings
from app import create_app


async def _post(app, query: str) -> dict:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return (await http.post("/graphql", json={"query": query})).json()


async def test_production_hides_the_schema(services, data_dir):
    prod = Settings.from_env(
        {"APP_ENV": "production", "SECRET_KEY": "x" * 40, "DATA_DIR": str(data_dir)}
    )
    assert not (prod.introspection or prod.field_suggestions or prod.graphiql)
    app = create_app(prod, services=services, manage_database=False)
    body = await _post(app, "{ __schema { types { name } } }")
    assert "introspection" in body["errors"][0]["message"].lower()
    body = await _post(app, "{ product { titel } }")
    assert "Did you mean" not in body["errors"][0]["message"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404


async def test_development_keeps_them(app):
    body = await _post(app, "{ product { titel } }")
    assert "Did you mean 'title'?" in body["errors"][0]["message"]
    body = await _post(app, "{ __schema { queryType { name } } }")
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
