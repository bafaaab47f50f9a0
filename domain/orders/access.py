"""Who may see and move an order."""

from __future__ import annotations

import hashlib
import hmac

from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind, Role
from domain.orders.errors import OrderErrorCode
from domain.orders.model import Order
from domain.orders.states import Actor

STAFF = (Role.OWNER, Role.ADMIN, Role.STORE_MANAGER, Role.CLERK)


def may_see(principal: Principal, order: Order, access_token: str | None) -> bool:
    """Brand-wide staff see every order, store staff their stores' orders, buyers their own."""
    if principal.kind is PrincipalKind.STAFF:
        if principal.brand_wide:
            return True
        stores = set(order.location_ids) | {order.attributed_location_id}
        return bool(principal.location_ids & stores)
    if principal.kind is PrincipalKind.PARTNER:
        return False
    return access_token is not None and hmac.compare_digest(access_token, order.access_token)


def caller_of(principal: Principal, access_token: str | None) -> str:
    """Whose idempotency keys these are: the principal, or a guest by their order token."""
    if principal.is_anonymous and access_token:
        return "guest:" + hashlib.sha256(access_token.encode()).hexdigest()[:24]
    return principal.subject


def actor_of(principal: Principal) -> Actor:
    """The principal's part in the order's transition table."""
    if principal.subject.startswith("system:"):
        return Actor.SYSTEM
    return Actor.STAFF if principal.kind is PrincipalKind.STAFF else Actor.BUYER


def require_store_staff(principal: Principal, location_id: int) -> None:
    """Owners and admins anywhere; managers and clerks at their own stores."""
    principal.require_staff(*STAFF)
    if not principal.brand_wide and location_id not in principal.location_ids:
        raise DomainError(
            OrderErrorCode.WRONG_STORE,
            "this order is served by another store",
            field="fulfilmentId",
        )
