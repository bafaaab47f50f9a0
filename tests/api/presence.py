"""The member's one-time presence code, as their app asks for it before a till sale."""

from __future__ import annotations

from typing import Any

PRESENCE = "mutation { memberPresenceCode { code expiresAt userErrors { code } } }"


async def presence_code(gql: Any, member_token: str) -> str:
    """A fresh presence code of the member holding ``member_token``."""
    body = await gql(PRESENCE, token=member_token)
    code: str = body["data"]["memberPresenceCode"]["code"]
    return code
