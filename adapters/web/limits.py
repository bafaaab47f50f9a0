"""Refuse request bodies over a size limit with 413 before anything parses them, and count
what GraphQL variables cost in the token budget."""

from __future__ import annotations

import json
from typing import Any

from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The client sent more than the limit."""


class BodySizeLimit:
    """Checks Content-Length up front and counts streamed bytes for chunked bodies."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = 1_048_576) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_bytes:
                    await self._refuse(send)
                    return
                declared = value.isdigit()
            elif name == b"transfer-encoding":
                chunked = True
        if declared and not chunked:
            # the server reads no more than the declared length: nothing to count
            await self.app(scope, receive, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps(
            {"errors": [{"message": f"request body over {self.max_bytes} bytes"}]}
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def token_count(value: Any, depth: int = 0) -> int:
    """What a variable value costs in the token budget: one per scalar, key and word."""
    if depth > 64:
        return 1_000_000_000  # nested beyond reason: over any budget
    if isinstance(value, str):
        return max(1, len(value.split()))
    if isinstance(value, dict):
        return len(value) + sum(token_count(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(token_count(v, depth + 1) for v in value)
    return 1


def too_many_tokens() -> GraphQLError:
    """The request error for a document and variables over the token budget."""
    return GraphQLError(
        "The document and its variables hold too many tokens.",
        extensions={"code": "TOO_MANY_TOKENS"},
    )
