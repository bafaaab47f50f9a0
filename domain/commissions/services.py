"""Who an order credits, and what each one earns.

- ``attribute``: at placement, in the placing transaction, every channel: the selling clerk and
  store (a till sale), the clerk and store the buyer is bound to, the stores that fulfil
  (pick-up, ship-from-store, local delivery), the last campaign and venue scanned within the
  policy's last-touch window, and the franchisee of each credited franchised store; each with
  its rule in words.
- ``accrue``: when the order completes, in that transaction: per line and attribution, the most
  specific commission rule's share of the line's net paid amount; once per order.
- ``reverse_for_return``: in the return's transaction: each accrual reversed in proportion to the
  net amount returned (cumulative per line), in the period of the return.
- Rules as data (owners and admins) and the commissions staff may read (scoped by role).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.attribution.model import (
    Attribution,
    AttributionRole,
    BeneficiaryKind,
    Binding,
    BindingSource,
    CodeKind,
)
from domain.commissions.model import accrual, net_paid, reversal
from domain.commissions.ports import EntryQuery, Parties, Total
from domain.commissions.rules import (
    STORE_ROLES,
    CommissionErrorCode,
    CommissionRule,
    Entry,
    EntryKind,
    Sale,
    beneficiary,
    pick,
    validate,
)
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.idempotency import run_once
from domain.identity.model import Principal, PrincipalKind, Role
from domain.orders.model import Order, OrderLine
from domain.orders.states import FulfilmentMethod, OrderSource
from domain.ports import UnitOfWork, UnitOfWorkFactory

R = AttributionRole
SERVED_BY_STORE = (FulfilmentMethod.PICKUP, FulfilmentMethod.SHIP, FulfilmentMethod.LOCAL_DELIVERY)
SOURCE_KINDS = {
    OrderSource.WEB: "WEB",
    OrderSource.APP: "APP",
    OrderSource.STORE_TILL: "STORE",
    OrderSource.MARKETPLACE: "MARKETPLACE",
}
_SERVED_WORDS = {
    FulfilmentMethod.PICKUP: "picked up at",
    FulfilmentMethod.SHIP: "shipped from",
    FulfilmentMethod.LOCAL_DELIVERY: "delivered by",
}
_BOUND_WORDS = {
    BindingSource.SCAN: "scanned a code",
    BindingSource.SIGNUP: "signed up",
    BindingSource.TILL: "served at the till",
    BindingSource.MANUAL: "set by staff",
}
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def period_of(at: datetime, timezone: str) -> str:
    """The month (YYYY-MM) of ``at`` in the brand's timezone."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m")


# --- attribution at placement -------------------------------------------------------------


async def attribute(uow: UnitOfWork, order: Order, *, at: datetime) -> list[Attribution]:
    """Credit a new order to whoever brought or served it, with each rule in words, in the
    placing transaction (every channel)."""
    till = order.source is OrderSource.STORE_TILL
    binding, scans, window = None, [], 0
    if order.member_id is not None:
        policy = await uow.attribution.policy()
        found = await uow.attribution.binding(order.member_id)
        binding = found if found is not None and found.live(at) else None
        window = policy.last_touch_days
        since = at - timedelta(days=window)
        for kind in (CodeKind.CAMPAIGN, CodeKind.VENUE):
            hit = await uow.attribution.last_scan(order.member_id, (kind,), since)
            if hit is not None:
                scans.append(hit)
    served = [
        f
        for f in order.fulfilments
        if f.method in SERVED_BY_STORE
        and not (till and f.location_id == order.attributed_location_id)
    ]
    locations = {f.location_id for f in served}
    staff: set[int] = set()
    if till and order.attributed_location_id is not None:
        locations.add(order.attributed_location_id)
        if order.attributed_staff_id is not None:
            staff.add(order.attributed_staff_id)
    if binding is not None:
        locations |= {binding.location_id} if binding.location_id is not None else set()
        staff |= {binding.staff_id} if binding.staff_id is not None else set()
    if not locations and not staff and not scans:
        return []
    parties = await uow.commissions.parties(
        location_ids=sorted(locations), staff_ids=sorted(staff), code_ids=[s[0] for s in scans]
    )
    made: list[Attribution] = []
    if till and order.attributed_location_id is not None:
        made += _till(order, parties)
    if binding is not None:
        made += _bound(binding, parties)
    seen: set[int] = set()
    for f in served:
        store = parties.stores.get(f.location_id)
        if store is None or not store.is_store or f.location_id in seen:
            continue
        seen.add(f.location_id)
        words = f"{_SERVED_WORDS[f.method]} {store.name}"
        made.append(_store(R.FULFILLING_STORE, f.location_id, parties, words))
    for code_id, kind, location_id, staff_id in scans:
        code = parties.codes.get(code_id, f"#{code_id}")
        role = R.CAMPAIGN if kind is CodeKind.CAMPAIGN else R.VENUE_PARTNER
        what = "campaign" if kind is CodeKind.CAMPAIGN else "partner venue"
        made.append(
            Attribution(
                role,
                location_id,
                staff_id,
                code_id,
                None,
                f"the buyer last scanned the {what} code {code} within {window} days before "
                "ordering (last touch)",
            )
        )
    made += _franchisees(made, parties)
    await uow.commissions.add_attributions(order.id, made)
    return made


SELLER_STAFF = frozenset({"CLERK", "STORE_MANAGER"})


def _till(order: Order, parties: Parties) -> list[Attribution]:
    location_id = order.attributed_location_id
    assert location_id is not None
    store = parties.stores.get(location_id)
    name = store.name if store else f"location {location_id}"
    made = [_store(R.SELLING_STORE, location_id, parties, f"sold at the till of {name}")]
    # store staff who rang the sale up are credited; brand-wide staff (owners, admins) serving
    # at a till now and then are not the store's sellers
    role = parties.staff_roles.get(order.attributed_staff_id or 0, "CLERK")
    if order.attributed_staff_id is not None and role in SELLER_STAFF:
        clerk = parties.staff.get(order.attributed_staff_id) or f"clerk {order.attributed_staff_id}"
        words = f"{clerk} rang up the sale at the till of {name}"
        made.append(
            Attribution(R.SELLING_CLERK, location_id, order.attributed_staff_id, rule=words)
        )
    return made


def _bound(binding: Binding, parties: Parties) -> list[Attribution]:
    since = binding.bound_at.date().isoformat()
    how = binding.rule or _BOUND_WORDS.get(binding.source, binding.source.value.lower())
    made = []
    if binding.staff_id is not None:
        clerk = parties.staff.get(binding.staff_id) or f"clerk {binding.staff_id}"
        made.append(
            Attribution(
                R.BOUND_CLERK,
                binding.location_id,
                binding.staff_id,
                binding.code_id,
                rule=f"the buyer is bound to {clerk} since {since} ({how})",
            )
        )
    if binding.location_id is not None:
        store = parties.stores.get(binding.location_id)
        name = store.name if store else f"location {binding.location_id}"
        words = f"the buyer is bound to {name} since {since} ({how})"
        made.append(
            _store(R.REFERRING_STORE, binding.location_id, parties, words, code_id=binding.code_id)
        )
    return made


def _store(
    role: AttributionRole,
    location_id: int,
    parties: Parties,
    words: str,
    *,
    code_id: int | None = None,
) -> Attribution:
    store = parties.stores.get(location_id)
    franchisee = store.franchisee_id if store else None
    return Attribution(role, location_id, None, code_id, franchisee, words)


def _franchisees(made: Sequence[Attribution], parties: Parties) -> list[Attribution]:
    """One FRANCHISEE credit per dealer owning a store credited above."""
    found: dict[int, Attribution] = {}
    for a in made:
        if a.role not in STORE_ROLES or a.franchisee_id is None or a.franchisee_id in found:
            continue
        assert a.location_id is not None
        store = parties.stores[a.location_id]
        role = a.role.value.lower().replace("_", " ")
        words = f"{store.name} ({role}) belongs to the franchisee {store.franchisee_name}"
        found[a.franchisee_id] = Attribution(
            R.FRANCHISEE, a.location_id, None, None, a.franchisee_id, words
        )
    return list(found.values())


# --- commissions on completion and returns ------------------------------------------------


async def accrue(uow: UnitOfWork, order: Order, *, at: datetime) -> list[Entry]:
    """The commissions of a completed order, once: per line and attribution, the most
    specific rule's share of the line's net paid amount (less what was returned or not taken
    before completion), in the month of ``at``."""
    rules = await uow.commissions.rules(active_only=True)
    if not rules:
        return []
    credited = (await uow.commissions.attributions([order.id])).get(order.id, [])
    paid = [(a, payee) for a in credited if (payee := beneficiary(a)) is not None]
    if not paid:
        return []
    existing = await uow.commissions.entries(order.id)
    if any(e.kind is EntryKind.ACCRUAL for e in existing):
        return []  # completed before: an order accrues once
    stored = await uow.orders.get(order.id)  # line ids and returns as stored
    lines = stored.lines if stored is not None else order.lines
    sale = await _sale(uow, order, rules)
    categories: Mapping[int, tuple[int, ...]] = {}
    if any(r.category_id is not None for r in rules):
        categories = await uow.points.category_ids([ln.variant_id for ln in lines])
    period = period_of(at, uow.commissions.timezone)
    entries = []
    for line, net in zip(lines, _nets(order, lines), strict=True):
        kept = line.quantity - line.returned_quantity
        if kept <= 0:
            continue
        base = net - net * line.returned_quantity // line.quantity
        for a, (kind, ident) in paid:
            rule = pick(rules, a.role, sale, categories.get(line.variant_id, ()))
            if rule is None:
                continue
            amount = accrual(rule.rate, net=base, quantity=kept)
            if amount:
                entries.append(
                    Entry(
                        order.id,
                        line.id,
                        a.role,
                        kind,
                        ident,
                        rule.id,
                        EntryKind.ACCRUAL,
                        base,
                        amount,
                        order.currency,
                        period,
                        at,
                    )
                )
    await uow.commissions.add_entries(entries)
    return entries


async def reverse_for_return(
    uow: UnitOfWork,
    order: Order,
    *,
    return_id: int,
    returned: Mapping[int, int],
    at: datetime,
) -> list[Entry]:
    """Take back, in the return's transaction, each accrual's share of the net amount now
    returned (cumulative per line: a full return reverses exactly what was accrued); dated
    ``at``, so a return after a statement closed lands in the next period. ``order`` is as it
    was before this return."""
    existing = await uow.commissions.entries(order.id)
    accrued = [e for e in existing if e.kind is EntryKind.ACCRUAL and e.order_line_id in returned]
    if not accrued:
        return []  # not completed yet (nothing accrued), or nothing earned on these lines
    by_id = {ln.id: ln for ln in order.lines}
    nets = dict(zip(by_id, _nets(order, order.lines), strict=True))
    period = period_of(at, uow.commissions.timezone)
    entries = []
    for e in accrued:
        assert e.order_line_id is not None
        line, net = by_id[e.order_line_id], nets[e.order_line_id]
        before, now = line.returned_quantity, returned[e.order_line_id]
        gone_before = net * before // line.quantity  # net amount returned so far
        gone_after = net * min(before + now, line.quantity) // line.quantity
        before_accrual = net - e.base_amount  # returned before the order completed
        amount = reversal(
            e.amount,
            net=e.base_amount,
            returned_before=max(0, gone_before - before_accrual),
            returned_now=gone_after - gone_before,
        )
        if amount:
            entries.append(
                Entry(
                    e.order_id,
                    e.order_line_id,
                    e.role,
                    e.beneficiary_kind,
                    e.beneficiary_id,
                    e.rule_id,
                    EntryKind.REVERSAL,
                    gone_after - gone_before,
                    -amount,
                    e.currency,
                    period,
                    at,
                    return_id=return_id,
                )
            )
    await uow.commissions.add_entries(entries)
    return entries


def _nets(order: Order, lines: Sequence[OrderLine]) -> list[int]:
    """Each line's net paid amount: after its discounts and its share of the points."""
    return net_paid(
        [ln.line_total for ln in lines], [ln.discount for ln in lines], order.points_value
    )


async def _sale(uow: UnitOfWork, order: Order, rules: Sequence[CommissionRule]) -> Sale:
    """The order's channel as rules see it (its kind read only when a rule asks for one)."""
    kind = SOURCE_KINDS.get(order.source)
    if any(r.channel_kind is not None for r in rules):
        channel = await uow.locations.channel_by_id(order.channel_id)
        kind = channel.kind.value if channel is not None else kind
    return Sale(order.channel_handle, kind, order.currency)


# --- rules as data ------------------------------------------------------------------------


async def list_rules(uow_factory: UnitOfWorkFactory, principal: Principal) -> list[CommissionRule]:
    """Every commission rule, active or not (owners and admins)."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        return await uow.commissions.rules(active_only=False)


async def save_rule(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    rule: CommissionRule,
    *,
    idempotency_key: str | None = None,
) -> CommissionRule:
    """Owners and admins create (``rule.id`` 0) or replace a rule; a rule that cannot apply,
    or that would tie with another active rule, is refused."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    validate(rule)

    async def work(uow: UnitOfWork) -> CommissionRule:
        await uow.commissions.lock_rules()
        if rule.id and await uow.commissions.rule(rule.id, for_update=True) is None:
            raise NotFound("commission rule", field="id")
        if rule.channel_handle is not None:
            channel = await uow.locations.channel(rule.channel_handle)
            if channel is None:
                raise DomainError(
                    CommissionErrorCode.INVALID_CHANNEL,
                    "no channel with this handle",
                    field="channelHandle",
                )
            if rule.channel_kind is not None and channel.kind.value != rule.channel_kind:
                raise DomainError(
                    CommissionErrorCode.INVALID_CHANNEL,
                    f"{rule.channel_handle} is a {channel.kind.value} channel",
                    field="channelKind",
                )
        if rule.category_id is not None and await uow.catalog.category(rule.category_id) is None:
            raise DomainError(
                CommissionErrorCode.UNKNOWN_CATEGORY, "no such category", field="categoryId"
            )
        if rule.active:
            for other in await uow.commissions.rules(active_only=True):
                if other.id != rule.id and other.key == rule.key:
                    raise DomainError(
                        CommissionErrorCode.DUPLICATE_RULE,
                        f"active rule {other.id} already pays this role here: change or "
                        "deactivate it",
                        field="role",
                    )
        return await uow.commissions.save_rule(rule)

    if rule.id:
        async with uow_factory() as uow:
            return await work(uow)
    return await run_once(
        uow_factory,
        scope="commissionRuleCreate",
        caller=principal.subject,
        key=idempotency_key,
        payload=_rule_payload(rule),
        work=work,
        result=_rule_from,
    )


def _rule_payload(rule: CommissionRule) -> dict[str, object]:
    return {
        "id": rule.id,
        "role": rule.role.value,
        "channel_kind": rule.channel_kind,
        "channel_handle": rule.channel_handle,
        "category_id": rule.category_id,
        "percent_bp": rule.percent_bp,
        "fixed_amount": rule.fixed_amount,
        "currency": rule.currency,
        "active": rule.active,
    }


def _rule_from(**stored: object) -> CommissionRule:
    """A rule read back from a stored idempotent answer."""
    role = stored.pop("role")
    return CommissionRule(role=AttributionRole(str(role)), **stored)  # type: ignore[arg-type]


# --- reading commissions ------------------------------------------------------------------


async def read_commissions(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    period: str | None,
    beneficiary: tuple[BeneficiaryKind, int] | None,
    limit: int,
) -> tuple[list[Entry], list[Total]]:
    """Commission entries (newest first) and totals per beneficiary: a clerk their own, a
    store manager their stores' and their clerks', owners and admins everyone's."""
    if principal.kind is not PrincipalKind.STAFF or principal.role is None:
        raise PermissionDenied("staff only")
    if period is not None and not PERIOD.match(period):
        raise DomainError(CommissionErrorCode.INVALID_PERIOD, "a month: YYYY-MM", field="period")
    async with uow_factory() as uow:
        allowed = await _visible(uow, principal)
        if beneficiary is not None:
            if allowed is not None and beneficiary not in allowed:
                raise PermissionDenied("not a beneficiary of yours", field="beneficiaryId")
            allowed = (beneficiary,)
        query = EntryQuery(period=period, beneficiaries=allowed, limit=limit)
        return await uow.commissions.find_entries(query), await uow.commissions.totals(query)


async def _visible(
    uow: UnitOfWork, principal: Principal
) -> tuple[tuple[BeneficiaryKind, int], ...] | None:
    """The beneficiaries whose commissions the caller may read; None: every one."""
    if principal.brand_wide:
        return None
    me = principal.staff_id
    mine = [(BeneficiaryKind.STAFF, me)] if me is not None else []
    if principal.role is not Role.STORE_MANAGER:
        return tuple(mine)
    stores = sorted(principal.location_ids)
    clerks = await uow.commissions.staff_at(stores)
    parties = await uow.commissions.parties(location_ids=stores, staff_ids=[], code_ids=[])
    seen = mine + [(BeneficiaryKind.STAFF, s) for s in clerks if s != me]
    seen += [(BeneficiaryKind.LOCATION, s) for s in stores]
    franchisees = {s.franchisee_id for s in parties.stores.values() if s.franchisee_id}
    seen += [(BeneficiaryKind.FRANCHISEE, f) for f in sorted(franchisees)]
    return tuple(seen)
