"""The ceiling of the stack: a bare Starlette endpoint returning pre-rendered response bytes.

Served by uvicorn exactly like ``python app.py serve`` (one worker, factory, access log off), so
the difference to the GraphQL configurations is the gateway's own work (auth middleware, rate
limit, GraphQL parsing/validation/execution, database, cache) and nothing else.

    BENCH_RAW_BODY=/path/to/body.json python bench/raw_app.py --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def create_app() -> Starlette:
    """POST /graphql answers the bytes in the file ``BENCH_RAW_BODY``; GET /healthz is ok."""
    body = Path(os.environ["BENCH_RAW_BODY"]).read_bytes()

    async def graphql(request: Request) -> Response:
        await request.body()  # read the request like the real endpoint does
        return Response(body, media_type="application/json; charset=utf-8")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, type=int, show_default=True)
def main(host: str, port: int) -> None:
    """Serve the raw endpoint with the same uvicorn options as ``app.py serve``."""
    import uvicorn

    uvicorn.run(
        "raw_app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=1,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
