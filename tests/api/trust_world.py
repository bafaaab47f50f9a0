"""Members and tokens for the trust tests: members belong to a store by their referral."""

from __future__ import annotations

from adapters.db import models as m
from adapters.security import JwtTokenSigner
from domain.members.model import new_member_code
from schema.relay import to_global_id


async def member_of(store: m.Location | None, email: str) -> m.Member:
    """A member signed up through ``store``'s code (tagged store:<id>), or through none."""
    tags = [f"store:{store.id}"] if store is not None else []
    return await m.Member.create(
        email=email,
        password_hash="x",
        member_code=new_member_code(),
        referral_location_id=store.id if store is not None else None,
        tags=tags,
        tags_text=" " + " ".join(tags) + " ",
    )


def member_token(secret: str, member: m.Member) -> str:
    """An access token of the member's app."""
    return JwtTokenSigner(secret).issue(
        subject=f"member:{member.id}",
        claims={"kind": "member", "tier": member.tier},
        ttl_seconds=600,
    )


def gid(member: m.Member) -> str:
    """The member's global ID."""
    return to_global_id("Member", member.id)


async def balance(member: m.Member) -> int:
    """The member's points balance after the last ledger entry."""
    last = await m.PointsEntry.filter(member_id=member.id).order_by("-id").first()
    return last.balance_after if last else 0
