"""Who may read each field and call each mutation: the authorization policy, as data.

``ROOT`` has one ``Rule`` per field of Query and Mutation; ``SENSITIVE`` one per object field
carrying personal data or a secret. ``schema/root.py`` attaches ``PolicyExtension`` to every one
of them (``enforce``), the one place the table is enforced. A root field refused to an
anonymous caller answers a top-level UNAUTHENTICATED error; to anyone else PERMISSION_DENIED (a
userError on payload mutations). A sensitive object field refused answers its blank (null, empty
list, "") instead. A field with no rule is refused to everyone (fail closed), and
tests/api/test_authorization_matrix.py fails until it has one.

Audiences: ANONYMOUS (no credentials); GUEST (no account, holding the object's token: a cart
id, an order access token, or the credentials the payload answers); MEMBER (self only: the use
cases narrow to their own cart, orders and profile); CLERK and STORE_MANAGER (their stores:
the use cases narrow); COUNTER (a clerk or manager identifying at the till a member of another
store: name, tier, balance, id); ADMIN and OWNER (brand-wide); PARTNER (an API key, by scope).
The data-dependent half (whose store, whose order) is decided in the domain:
``domain/members/services.py:member_view``, ``domain/orders/access.py:may_see``,
``require_store_staff``, ``Principal.require_location``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types import Info
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from domain.errors import PermissionDenied as DomainPermissionDenied
from domain.identity.model import Principal, PrincipalKind, Scope
from domain.members.services import MemberView
from schema.common import connection
from schema.errors import Unauthenticated


class Audience(StrEnum):
    """A kind of caller, as the policy names them."""

    ANONYMOUS = "ANONYMOUS"
    GUEST = "GUEST"
    MEMBER = "MEMBER"
    COUNTER = "COUNTER"
    CLERK = "CLERK"
    STORE_MANAGER = "STORE_MANAGER"
    ADMIN = "ADMIN"
    OWNER = "OWNER"
    PARTNER = "PARTNER"


A = Audience
BRAND = frozenset({A.ADMIN, A.OWNER})
MANAGERS = BRAND | {A.STORE_MANAGER}
STAFF = MANAGERS | {A.CLERK}
SHOPPERS = frozenset({A.GUEST, A.MEMBER})
NOT_PARTNER = STAFF | SHOPPERS | {A.ANONYMOUS}
EVERYONE = NOT_PARTNER | {A.PARTNER}


def _empty_connection() -> Any:
    return connection(
        [], wrap=lambda o: o, cursor_of=lambda o: ("id", 0), has_next=False, has_previous=False
    )


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may read a field (or call a mutation), and what a refused reader gets."""

    who: frozenset[Audience]
    scopes: frozenset[Scope] = frozenset()  # a PARTNER key needs one of them
    token: str | None = None  # the argument that makes an anonymous caller a GUEST
    narrowed: str = ""  # how the domain narrows it further, for people
    blank: Any = None  # an object field refused: this value (callable: called)
    store_of: str | None = None  # object field: staff read it only at this attribute's store


def rule(
    who: frozenset[Audience] | set[Audience],
    narrowed: str = "",
    *,
    scopes: tuple[Scope, ...] = (),
    token: str | None = None,
    blank: Any = None,
    store_of: str | None = None,
) -> Rule:
    """A Rule from plain values."""
    return Rule(frozenset(who), frozenset(scopes), token, narrowed, blank, store_of)


OWN_STORES = "store staff: their stores only"
SELF = "members: their own only"
CATALOG = rule(EVERYONE, "drafts and archived for staff and catalog scopes only")
CART = rule(STAFF | SHOPPERS, "the cart id is the token", token="cart_id")
FULFIL = rule(STAFF, OWN_STORES)
CATALOG_WRITE = rule(BRAND | {A.PARTNER}, scopes=(Scope.CATALOG_WRITE,))
STOCK_WRITE = rule(MANAGERS | {A.PARTNER}, OWN_STORES, scopes=(Scope.INVENTORY_WRITE,))
MEMBER_ONLY = rule({A.MEMBER, A.ANONYMOUS}, SELF + "; anonymous: a userError from the use case")
SESSION = rule({A.ANONYMOUS, A.GUEST, A.MEMBER}, "the credentials are the arguments")

ROOT: dict[str, Rule] = {
    # --- Query ---
    "Query.inventoryLevels": rule(STAFF | {A.PARTNER}, scopes=(Scope.INVENTORY_READ,)),
    "Query.stockMovements": rule(STAFF | {A.PARTNER}, scopes=(Scope.INVENTORY_READ,)),
    "Query.node": CATALOG,
    "Query.products": CATALOG,
    "Query.product": CATALOG,
    "Query.collections": CATALOG,
    "Query.categories": CATALOG,
    "Query.channels": rule(EVERYONE),
    "Query.channel": rule(EVERYONE),
    "Query.locations": rule(EVERYONE),
    "Query.cart": rule(STAFF | SHOPPERS, "the cart id is the token", token="id"),
    "Query.order": rule(
        STAFF | SHOPPERS | {A.ANONYMOUS},
        "null without the order's token; " + OWN_STORES,
        token="access_token",
    ),
    "Query.orders": rule(STAFF, OWN_STORES),
    "Query.me": rule(EVERYONE, "null for anyone but a member"),
    "Query.memberLookup": rule(STAFF, "other stores' members: the COUNTER view"),
    "Query.storeReferralCode": rule(EVERYONE),
    "Query.members": rule(STAFF, "store staff: members of their stores only"),
    "Query.memberInsights": rule(STAFF, "store staff: members of their stores only"),
    "Query.retentionReport": rule(STAFF, OWN_STORES),
    "Query.auditLog": rule({A.OWNER}),
    "Query.valueGrants": rule({A.OWNER}, "grants above managers' caps wait for an owner"),
    "Query.paymentReconciliation": rule(
        MANAGERS, "store managers: their stores only, without the provider's account figures"
    ),
    "Query.tillSession": rule(STAFF, OWN_STORES + "; null for others"),
    "Query.tillSessions": rule(STAFF, OWN_STORES),
    "Query.performanceReport": rule(
        STAFF, "clerks: their own; store managers: their stores, clerks and tills"
    ),
    "Query.myTasks": rule(STAFF, "the caller's own tasks"),
    "Query.clerkTasks": rule(STAFF, "store managers: clerks of their stores; clerks: their own"),
    # --- Mutation: carts and checkout ---
    "Mutation.cartCreate": rule(NOT_PARTNER),
    "Mutation.cartLinesAdd": CART,
    "Mutation.cartLinesUpdate": CART,
    "Mutation.cartLinesRemove": CART,
    "Mutation.cartBuyerIdentityUpdate": CART,
    "Mutation.cartPointsApply": MEMBER_ONLY,
    "Mutation.cartDiscountCodesUpdate": CART,
    "Mutation.cartDeliveryUpdate": CART,
    "Mutation.checkoutComplete": CART,
    # --- orders ---
    "Mutation.fulfilmentReadyForPickup": FULFIL,
    "Mutation.fulfilmentDispatch": FULFIL,
    "Mutation.fulfilmentDeliver": FULFIL,
    "Mutation.fulfilmentCancel": FULFIL,
    "Mutation.pickupConfirm": FULFIL,
    "Mutation.fulfilmentShip": FULFIL,
    "Mutation.orderMarkPaid": rule(MANAGERS, OWN_STORES),
    "Mutation.orderCancel": rule(
        STAFF | SHOPPERS | {A.ANONYMOUS},
        "PERMISSION_DENIED without the order's token; " + OWN_STORES,
        token="access_token",
    ),
    "Mutation.checkoutPaymentConfirm": rule(
        STAFF | SHOPPERS | {A.ANONYMOUS},
        "NOT_FOUND without the order's token; " + OWN_STORES,
        token="access_token",
    ),
    "Mutation.posOrderCreate": FULFIL,
    # --- the till: a clerk's cash drawer ---
    "Mutation.tillSessionOpen": rule(STAFF, OWN_STORES + ": one open session per clerk"),
    "Mutation.tillSessionClose": rule(STAFF, "the clerk who opened it or a store manager"),
    "Mutation.orderReturnCreate": FULFIL,
    "Mutation.refundRetry": rule(STAFF, "staff of the order's stores or of the return's store"),
    "Mutation.refundPayOut": rule(
        STAFF, "a clerk with an open till session at their store (the order's or the return's)"
    ),
    # --- members and points ---
    "Mutation.memberUpdate": MEMBER_ONLY,
    "Mutation.pointsAdjust": rule(MANAGERS, "managers: members of their stores"),
    "Mutation.loyaltyProgramUpdate": rule(BRAND),
    "Mutation.memberCreate": SESSION,
    "Mutation.memberVerify": SESSION,
    "Mutation.memberLogin": SESSION,
    "Mutation.memberTokenRefresh": SESSION,
    "Mutation.memberLogout": SESSION,
    # --- promotions ---
    "Mutation.promotionCreate": rule(BRAND),
    "Mutation.promotionUpdate": rule(BRAND),
    "Mutation.voucherIssue": rule(MANAGERS, "managers: members of their stores"),
    "Mutation.voucherTransfer": MEMBER_ONLY,
    # --- catalog, prices, channels, stock ---
    "Mutation.productCreate": CATALOG_WRITE,
    "Mutation.productUpdate": CATALOG_WRITE,
    "Mutation.productArchive": CATALOG_WRITE,
    "Mutation.productVariantCreate": CATALOG_WRITE,
    "Mutation.productVariantUpdate": CATALOG_WRITE,
    "Mutation.categoryCreate": CATALOG_WRITE,
    "Mutation.categoryUpdate": CATALOG_WRITE,
    "Mutation.collectionCreate": CATALOG_WRITE,
    "Mutation.collectionUpdate": CATALOG_WRITE,
    "Mutation.collectionAddProducts": CATALOG_WRITE,
    "Mutation.priceBulkSet": rule(BRAND | {A.PARTNER}, scopes=(Scope.PRICES_WRITE,)),
    "Query.marketplaceSyncs": rule(BRAND, "the brand's marketplace accounts"),
    "Query.marketplaceSync": rule(BRAND, "the brand's marketplace accounts"),
    "Mutation.marketplaceResync": rule(BRAND),
    "Mutation.marketplaceOrderRetry": rule(BRAND),
    "Mutation.locationCreate": rule(BRAND),
    "Mutation.locationUpdate": rule(BRAND),
    "Mutation.channelCreate": rule(BRAND),
    "Mutation.channelUpdate": rule(BRAND),
    "Mutation.inventoryAdjust": STOCK_WRITE,
    "Mutation.inventorySet": STOCK_WRITE,
    "Mutation.inventoryTransfer": STOCK_WRITE,
    # --- staff and keys ---
    "Mutation.staffLogin": rule(NOT_PARTNER, "the credentials are the arguments"),
    "Mutation.staffUserCreate": rule(BRAND),
    "Mutation.apiKeyCreate": rule(BRAND),
    "Mutation.apiKeyRevoke": rule(BRAND),
    # --- trust: grants above the caps, the member's presence at the till ---
    "Mutation.valueGrantApprove": rule({A.OWNER}),
    "Mutation.valueGrantReject": rule({A.OWNER}),
    "Mutation.memberPresenceCode": rule({A.MEMBER}, SELF),
    # --- attribution: codes, scans, bindings, the binding policy ---
    "Query.attributionCodes": rule(
        STAFF, "clerks: their own codes; store managers: their stores' and their clerks'"
    ),
    "Query.bindingPolicy": rule(BRAND),
    "Mutation.attributionScan": rule(
        NOT_PARTNER, "public: a member token records the member, else the visitor id"
    ),
    "Mutation.attributionCodeCreate": rule(MANAGERS, "store managers: their stores and clerks"),
    "Mutation.attributionCodeDeactivate": rule(MANAGERS, "store managers: their stores' codes"),
    "Mutation.memberBind": rule(MANAGERS, "store managers: to their stores"),
    "Mutation.bindingPolicyUpdate": rule(BRAND),
    # --- settlement: franchisees, wholesale prices, statements ---
    "Query.franchisees": rule(BRAND),
    "Query.statements": rule(
        STAFF, "a clerk their own; a store manager their stores' and their clerks'"
    ),
    "Mutation.franchiseeCreate": rule(BRAND),
    "Mutation.franchiseeAssignLocation": rule(BRAND),
    "Mutation.wholesalePriceBulkSet": rule(BRAND),
    "Mutation.settlementClose": rule(BRAND),
    "Mutation.statementApprove": rule(BRAND),
    "Mutation.statementMarkPaid": rule(BRAND),
    # --- commissions: rules as data, what staff earned ---
    "Query.commissionRules": rule(BRAND),
    "Query.commissions": rule(
        STAFF, "a clerk their own; a store manager their stores', their clerks' and franchisees'"
    ),
    "Mutation.commissionRuleCreate": rule(BRAND),
    "Mutation.commissionRuleUpdate": rule(BRAND),
    # --- clienteling ---
    "Mutation.taskComplete": rule(
        STAFF, "the task's clerk and their stores' managers; vouchers within the daily cap"
    ),
    "Mutation.clientelingTasksBuild": rule(BRAND),
}

# Object fields: the audience is the object's own ``_viewer`` when it has one (Member), else
# the caller's; an anonymous caller holding an object holds its token, so reads as GUEST.
MEMBER_FULL = STAFF | {A.MEMBER}
MEMBER_AT_COUNTER = MEMBER_FULL | {A.COUNTER}
HOLDERS = STAFF | SHOPPERS  # who can hold an order or a cart: narrowed by may_see / the token
SENSITIVE: dict[str, Rule] = {
    "Member.id": rule(MEMBER_AT_COUNTER),
    "ClientelingTask.memberName": rule(STAFF, "the member's clerk and managers", blank=""),
    "Member.name": rule(MEMBER_AT_COUNTER, blank=""),
    "Member.tier": rule(MEMBER_AT_COUNTER, blank=""),
    "Member.pointsBalance": rule(MEMBER_AT_COUNTER, blank=0),
    "Member.email": rule(MEMBER_FULL, "staff of the member's stores"),
    "Member.phone": rule(MEMBER_FULL, "staff of the member's stores"),
    "Member.birthday": rule(MEMBER_FULL, "staff of the member's stores"),
    "Member.emailVerified": rule(MEMBER_FULL, blank=False),
    "Member.phoneVerified": rule(MEMBER_FULL, blank=False),
    "Member.addresses": rule(MEMBER_FULL, "staff of the member's stores", blank=list),
    "Member.tags": rule(MEMBER_FULL, "insight tags", blank=list),
    "Member.memberCode": rule(MEMBER_FULL, "spends at the till", blank=""),
    "Member.qrPayload": rule(MEMBER_FULL, "spends at the till", blank=""),
    "Member.pointsLedger": rule(MEMBER_FULL, blank=list),
    "Member.vouchers": rule(MEMBER_FULL, "codes spend at the till", blank=list),
    "Member.orders": rule(MEMBER_FULL, "history", blank=_empty_connection),
    "Member.binding": rule(
        STAFF | {A.COUNTER}, "staff of the bound store or of the member's stores; the brand"
    ),
    "Order.buyer": rule(HOLDERS, "may_see", blank=dict),
    "Order.delivery": rule(HOLDERS, "may_see", blank=dict),
    "Order.routingReason": rule(STAFF),
    "Order.events": rule(STAFF, "actors and data", blank=list),
    "Order.attributions": rule(STAFF, "may_see: clerks and stores credited, and why", blank=list),
    "Order.payments": rule(HOLDERS, "may_see", blank=list),
    "Order.refunds": rule(HOLDERS, "may_see", blank=list),
    "OrderPayment.providerReference": rule(STAFF, "the provider's id: for reconciliation"),
    "OrderRefund.lastError": rule(STAFF, "the provider's message"),
    "CheckoutPayment.clientSecret": rule(HOLDERS, "the buyer who checked out"),
    "Fulfilment.pickupCode": rule(HOLDERS, "store staff: at their stores", store_of="_location_id"),
    "Fulfilment.qrPayload": rule(HOLDERS, "store staff: at their stores", store_of="_location_id"),
    "Cart.buyerIdentity": rule(HOLDERS | {A.ANONYMOUS}, "the cart id is the token"),
    "CheckoutCompletePayload.orderAccessToken": rule(HOLDERS, "the buyer who checked out"),
    "MemberSessionPayload.accessToken": rule(SESSION.who, "who presented the credentials"),
    "MemberSessionPayload.refreshToken": rule(SESSION.who, "who presented the credentials"),
    "StaffLoginPayload.accessToken": rule(NOT_PARTNER, "who presented the credentials"),
    "StaffUser.email": rule(NOT_PARTNER, "staffLogin (self) or staffUserCreate (brand)"),
    "ApiKey.scopes": rule(BRAND, blank=list),
    "ApiKey.partner": rule(BRAND, blank=""),
    "ApiKeyCreatePayload.secret": rule(BRAND, "shown once"),
    "Voucher.code": rule(HOLDERS, "the owner, or staff who issued it", blank=""),
    "Location.franchisee": rule(STAFF, "who owns the store: for staff"),
}


def audience_of(principal: Principal) -> Audience:
    """The caller's audience before any object is looked at."""
    if principal.kind is PrincipalKind.PARTNER:
        return A.PARTNER
    if principal.kind is PrincipalKind.MEMBER:
        return A.MEMBER
    if principal.kind is PrincipalKind.STAFF and principal.role is not None:
        return Audience(principal.role.value)
    return A.ANONYMOUS


def member_audience(principal: Principal, view: MemberView) -> Audience | None:
    """The audience reading a member under ``view`` (see ``member_view``); None: nobody."""
    if view is MemberView.SELF:
        return A.MEMBER
    if view is MemberView.COUNTER:
        return A.COUNTER
    if view in (MemberView.BRAND, MemberView.STORE):
        return audience_of(principal)
    return None


def allows(rule: Rule, audience: Audience | None, principal: Principal) -> bool:
    """Does ``rule`` let ``audience`` through (a partner key by its scopes)?"""
    if audience not in rule.who:
        return False
    return audience is not A.PARTNER or not rule.scopes or bool(rule.scopes & principal.scopes)


class PolicyExtension(FieldExtension):
    """Refuses a root field, or blanks an object field, as its rule says."""

    def __init__(self, name: str, rule: Rule | None, *, root: bool) -> None:
        self.name, self.rule, self.root = name, rule, root

    def _admit(self, source: Any, info: Info, kwargs: dict[str, Any]) -> bool:
        principal: Principal = info.context.principal
        if self.rule is None:
            raise DomainPermissionDenied(f"{self.name} has no rule in schema/policy.py")
        if self.root:
            audience = audience_of(principal)
            if audience is A.ANONYMOUS and self.rule.token and kwargs.get(self.rule.token):
                audience = A.GUEST
            if allows(self.rule, audience, principal):
                return True
            if principal.is_anonymous:
                raise Unauthenticated()
            raise DomainPermissionDenied(f"{self.name}: not for your role")
        viewer = getattr(source, "_viewer", None)
        audience = Audience(viewer) if viewer else audience_of(principal)
        if audience is A.ANONYMOUS:
            audience = A.GUEST  # holding the object means holding its token
        if not allows(self.rule, audience, principal):
            return False
        store = getattr(source, self.rule.store_of, None) if self.rule.store_of else None
        if store is None or audience not in (A.CLERK, A.STORE_MANAGER):
            return True
        return store in principal.location_ids

    def _blank(self) -> Any:
        blank = self.rule.blank if self.rule else None
        return blank() if callable(blank) else blank

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        """Sync fields: the value, or the refusal."""
        return next_(source, info, **kwargs) if self._admit(source, info, kwargs) else self._blank()

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        """Async fields: the value, or the refusal."""
        if not self._admit(source, info, kwargs):
            return self._blank()
        return await next_(source, info, **kwargs)


def enforce(roots: dict[str, type], types: list[type]) -> None:
    """Attach the policy to every field of the roots and every sensitive field of ``types``."""
    for type_name, root in roots.items():
        for field in get_object_definition(root, strict=True).fields:
            name = f"{type_name}.{field.graphql_name or to_camel_case(field.python_name)}"
            field.extensions.insert(0, PolicyExtension(name, ROOT.get(name), root=True))
    for cls in types:
        definition = get_object_definition(cls, strict=True)
        for field in definition.fields:
            name = f"{definition.name}.{field.graphql_name or to_camel_case(field.python_name)}"
            if name in SENSITIVE:
                field.extensions.insert(0, PolicyExtension(name, SENSITIVE[name], root=False))
