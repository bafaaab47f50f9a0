"""``POST /marketplaces/{channel}/notifications``: a marketplace's order notification (its own
format, read by the account's adapter). The body is trusted for nothing but order ids: they
are recorded in the outbox and the worker pulls each order from the marketplace's API, so a
forged notification costs one rate-limited pull and changes nothing. A marketplace that signs
its notifications (eBay's X-EBAY-SIGNATURE) has them checked first: 401 when the signature is
bad. Answers 202 at once; duplicates are harmless (the import is idempotent by marketplace
order id)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from adapters.marketplaces.sync import MarketplaceSync
from domain.marketplaces.events import MarketplaceNotified
from domain.marketplaces.model import MarketplaceFailure
from domain.ports import UnitOfWorkFactory

log = logging.getLogger("o2o.marketplaces")
MAX_BODY = 256 * 1024


def marketplace_notifications(
    sync: MarketplaceSync | None, uow: UnitOfWorkFactory
) -> Callable[[Request], Awaitable[Response]]:
    async def notified(request: Request) -> Response:
        handle = request.path_params["channel"]
        adapter = sync.adapters.get(handle) if sync is not None else None
        if adapter is None:
            return JSONResponse({"error": "no marketplace account for this channel"}, 404)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "notification too large"}, 413)
        verify = getattr(adapter, "verify_notification", None)
        if verify is not None:  # a marketplace that signs its notifications (eBay)
            try:
                signed = await verify(body, dict(request.headers))
            except MarketplaceFailure:
                return JSONResponse({"error": "the signing key could not be fetched"}, 503)
            if not signed:
                return JSONResponse({"error": "bad or missing signature"}, 401)
        try:
            ids = adapter.order_ids_in_notification(body, dict(request.headers))
        except ValueError as error:
            return JSONResponse({"error": f"not a notification: {error}"[:200]}, 400)
        if ids:
            async with uow() as unit:
                await unit.outbox.add(MarketplaceNotified(channel=handle, order_ids=tuple(ids)))
        return JSONResponse({"accepted": len(ids)}, 202)

    return notified
