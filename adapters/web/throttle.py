"""Per-address limits on operations that cost us (a sign-up hashes a password and sends a
message): checked before the operation runs, answered 429 with Retry-After and code THROTTLED."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from graphql import OperationType as AstOperationType
from starlette.requests import Request

from adapters.web.cache_policy import root_field_names
from domain.ports import RateLimiter

log = logging.getLogger("o2o.http")

# mutation root field → (counter name, tries per window, window in seconds)
Limits = Mapping[str, tuple[str, int, int]]


def address_limits(
    limiter: RateLimiter, limits: Limits
) -> Callable[
    [Request, Any, DocumentNode, OperationDefinitionNode], Awaitable[tuple[str, int] | None]
]:
    """A guard counting each listed mutation field per client address (``ctx.client``)."""

    async def guard(
        request: Request, context: Any, document: DocumentNode, operation: OperationDefinitionNode
    ) -> tuple[str, int] | None:
        if operation.operation is not AstOperationType.MUTATION:
            return None
        for name in root_field_names(document, operation):
            if name not in limits:
                continue
            counter, limit, window = limits[name]
            try:
                decision = await limiter.hit(
                    f"{counter}:client:{context.client}", limit=limit, window_seconds=window
                )
            except Exception:  # the limiter failing must not take sign-up down
                log.warning("rate limiter unavailable; %s allowed", name, exc_info=True)
                return None
            if not decision.allowed:
                wait = decision.retry_after_seconds
                return f"too many {counter} attempts from this address; retry in {wait} s", wait
        return None

    return guard
