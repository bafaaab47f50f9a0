"""Points use cases: earn when an order completes (any channel, the till included), spend at
checkout or at the till, give back on cancel, reverse proportionally on returns, expire, staff
adjustments, and tiers from the rolling 12-month spend.

Every change runs in the caller's transaction under a lock on the member's row, so two
checkouts racing to spend the same points are serialised: only what the balance allows succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.audit.grants import ApprovalRequired, admit
from domain.audit.model import GrantKind, GrantLimits, GrantStatus, ValueGrant
from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Role
from domain.loyalty.events import PointsBurned, PointsEarned
from domain.loyalty.model import (
    Consumption,
    EarnLine,
    EntryKind,
    Lot,
    PointsEntry,
    TierChange,
    balance,
    check_redemption,
    earn_points,
    expire,
    plan_burn,
    redemption_value,
    reversal_consumption,
    reverse_for_return,
    validate_adjustment,
)
from domain.loyalty.program import LoyaltyProgram, with_settings, with_tiers
from domain.members.events import TierChanged
from domain.members.model import MemberChanges, MemberRecord
from domain.money import Money
from domain.orders.model import Order
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory


async def program(uow: UnitOfWork) -> LoyaltyProgram:
    """The loyalty program in force: the stored rules, each tier's multiplier by default."""
    return with_tiers(await uow.points.program(), await uow.points.tiers())


async def _balance(uow: UnitOfWork, member_id: int, at: datetime) -> tuple[list[Lot], int]:
    lots: list[Lot] = await uow.points.lots(member_id)
    return lots, balance(lots, at=at)


async def _take(
    uow: UnitOfWork,
    member_id: int,
    consumptions: Sequence[Consumption],
    *,
    kind: EntryKind,
    at: datetime,
    order_id: int | None,
    dedupe: str | None,
    reason: str,
    actor: str,
) -> int:
    await uow.points.consume(consumptions)
    taken = sum(c.points for c in consumptions)
    _, after = await _balance(uow, member_id, at)
    await uow.points.add_entry(
        PointsEntry(
            member_id=member_id,
            kind=kind,
            points=-taken,
            balance_after=after,
            order_id=order_id,
            dedupe_key=dedupe,
            reason=reason,
            actor=actor,
        )
    )
    return taken


async def _give(
    uow: UnitOfWork,
    member_id: int,
    points: int,
    *,
    kind: EntryKind,
    at: datetime,
    lifetime_days: int,
    order_id: int | None,
    dedupe: str | None,
    reason: str,
    actor: str,
) -> None:
    lot_id = await uow.points.add_lot(
        member_id,
        points=points,
        earned_at=at,
        expires_at=at + timedelta(days=lifetime_days),
        order_id=order_id,
    )
    _, after = await _balance(uow, member_id, at)
    await uow.points.add_entry(
        PointsEntry(
            member_id=member_id,
            kind=kind,
            points=points,
            balance_after=after,
            order_id=order_id,
            lot_id=lot_id,
            dedupe_key=dedupe,
            reason=reason,
            actor=actor,
        )
    )


async def redeem(
    uow: UnitOfWork,
    *,
    member_id: int,
    order_id: int,
    points: int,
    order_total: Money,
    at: datetime,
    actor: str,
) -> Money:
    """Spend points on an order (oldest-expiring lots first); returns what they pay."""
    await uow.points.lock(member_id)
    rules = await program(uow)
    lots, available = await _balance(uow, member_id, at)
    value = check_redemption(
        points, order_total=order_total, available=available, rule=rules.redeem
    )
    await _take(
        uow,
        member_id,
        plan_burn(lots, points=points, at=at),
        kind=EntryKind.BURN,
        at=at,
        order_id=order_id,
        dedupe=f"burn:{order_id}",
        reason="paid with points",
        actor=actor,
    )
    await uow.outbox.add(PointsBurned(member_id=member_id, order_id=order_id, points=points))
    return value


def _kept(line_total: int, quantity: int, returned: int) -> int:
    """The part of a line's total for the units the buyer kept."""
    return line_total * max(quantity - returned, 0) // max(quantity, 1)


async def earn_for_order(uow: UnitOfWork, order: Order, *, at: datetime, actor: str) -> int:
    """Points for a completed order of a member, once per order whatever the channel."""
    if order.member_id is None or await uow.points.has_entry(f"earn:{order.id}"):
        return 0
    await uow.points.lock(order.member_id)
    member = await _member(uow, order.member_id)
    rules = await program(uow)
    categories = await uow.points.category_ids([ln.variant_id for ln in order.lines])
    paid = order.total - order.points_value - order.delivery_total
    gross = sum(ln.line_total for ln in order.lines) or 1
    lines = [  # what was paid in money for each line kept (returns before completion are not)
        EarnLine(
            Money(
                _kept(ln.line_total, ln.quantity, ln.returned_quantity) * max(paid, 0) // gross,
                order.currency,
            ),
            categories.get(ln.variant_id, ()),
        )
        for ln in order.lines
    ]
    points = earn_points(lines, rule=rules.earn, channel=order.channel_handle, tier=member.tier)
    if points > 0:
        await _give(
            uow,
            order.member_id,
            points,
            kind=EntryKind.EARN,
            at=at,
            lifetime_days=rules.earn.lot_lifetime_days,
            order_id=order.id,
            dedupe=f"earn:{order.id}",
            reason=f"order {order.number}",
            actor=actor,
        )
        await uow.orders.record_points_earned(order.id, points)
        await uow.outbox.add(
            PointsEarned(member_id=order.member_id, order_id=order.id, points=points)
        )
    await update_tier(uow, order.member_id, at=at)
    return points


async def give_back_for_cancel(uow: UnitOfWork, order: Order, *, at: datetime, actor: str) -> None:
    """A cancelled order gives back the points it burned that its earlier returns (a cancelled
    part, a refused unit) have not already given back."""
    if order.member_id is None or order.points_redeemed <= 0:
        return
    await uow.points.lock(order.member_id)
    done = await uow.points.order_reversals(order.id)
    rest = order.points_redeemed - done.returned_burn
    if rest <= 0:
        return
    rules = await program(uow)
    await _give(
        uow,
        order.member_id,
        rest,
        kind=EntryKind.BURN_REVERSAL,
        at=at,
        lifetime_days=rules.earn.lot_lifetime_days,
        order_id=order.id,
        dedupe=f"burn-back:{order.id}:cancel",
        reason=f"order {order.number} cancelled",
        actor=actor,
    )


async def reverse_for_order_return(
    uow: UnitOfWork,
    order: Order,
    *,
    returned_value: int,
    return_id: int,
    at: datetime,
    actor: str,
) -> tuple[int, int, Money]:
    """A return reverses its share of what the order earned and gives back its share of what
    it burned; returns (reversed, given back, the money value of the points given back)."""
    zero = Money(0, order.currency)
    if order.member_id is None or (order.points_earned <= 0 and order.points_redeemed <= 0):
        return 0, 0, zero
    await uow.points.lock(order.member_id)
    rules = await program(uow)
    done = await uow.points.order_reversals(order.id)
    reverse, back = reverse_for_return(
        earned=order.points_earned,
        burned=order.points_redeemed,
        order_total=Money(order.total, order.currency),
        returned_value=Money(done.returned_value + returned_value, order.currency),
        already_reversed_earn=done.reversed_earn,
        already_returned_burn=done.returned_burn,
    )
    reversal = _Reversal(order.id, order.member_id, return_id, returned_value, actor)
    reason = f"return {return_id} of order {order.number}"
    if reverse:
        await _reverse_earned(uow, reversal, reverse, reason=reason, at=at)
    if back:
        await _give(
            uow,
            order.member_id,
            back,
            kind=EntryKind.BURN_REVERSAL,
            at=at,
            lifetime_days=rules.earn.lot_lifetime_days,
            order_id=order.id,
            dedupe=f"burn-back:{return_id}",
            reason=reason,
            actor=actor,
        )
    if not reverse:  # remember the returned value even when nothing was earned
        await _reverse_earned(uow, reversal, 0, reason=f"return {return_id}", at=at)
    await update_tier(uow, order.member_id, at=at)
    return reverse, back, redemption_value(back, rule=rules.redeem, currency=order.currency)


@dataclass(frozen=True, slots=True)
class _Reversal:
    """Which return of which order takes points back, and who records it."""

    order_id: int
    member_id: int
    return_id: int
    returned_value: int
    actor: str


async def _reverse_earned(
    uow: UnitOfWork, reversal: _Reversal, points: int, *, reason: str, at: datetime
) -> None:
    """Take back ``points`` earned by an order, at most what is left of them (points the member
    already spent are not taken back: the reason says how many), in an EARN_REVERSAL entry that
    also keeps the return's value (written for 0 points too)."""
    taken: tuple[Consumption, ...] = ()
    if points:
        lots, _ = await _balance(uow, reversal.member_id, at)
        taken = reversal_consumption(lots, points=points, at=at)
        await uow.points.consume(taken)
    shortfall = points - sum(c.points for c in taken)
    if shortfall:
        reason += f" ({shortfall} already spent, not taken back)"
    _, after = await _balance(uow, reversal.member_id, at)
    await uow.points.add_entry(
        PointsEntry(
            member_id=reversal.member_id,
            kind=EntryKind.EARN_REVERSAL,
            points=-points + shortfall,
            balance_after=after,
            order_id=reversal.order_id,
            dedupe_key=f"earn-back:{reversal.return_id}",
            reason=reason,
            actor=reversal.actor,
            reversed_points=points,
            returned_value=reversal.returned_value,
        )
    )


async def adjust(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    member_id: int,
    points: int,
    reason: str,
    clock: Clock,
    limits: GrantLimits | None = None,
) -> int:
    """Staff add or remove points with a reason; the balance never goes below zero. A store
    manager only for members of their stores and within their daily cap (``limits``): above it
    the grant waits for an owner (APPROVAL_REQUIRED)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    reason = validate_adjustment(points, reason=reason)
    at = clock.now()
    async with uow_factory() as uow:
        member = await uow.members.by_id(member_id)
        if member is None:
            raise NotFound("member", field="memberId")
        grant = ValueGrant(
            kind=GrantKind.POINTS,
            member_id=member_id,
            requested_by=principal.subject,
            value=points,
            currency="",
            reason=reason,
            status=GrantStatus.APPLIED,
            created_at=at,
        )
        pending = await admit(
            uow, principal, grant=grant, member=member, limits=limits or GrantLimits()
        )
        if pending is None:
            return await apply_adjustment(
                uow,
                member_id=member_id,
                points=points,
                reason=reason,
                actor=principal.subject,
                at=at,
            )
    raise ApprovalRequired(pending)


async def apply_adjustment(
    uow: UnitOfWork, *, member_id: int, points: int, reason: str, actor: str, at: datetime
) -> int:
    """Give or take points in the caller's transaction; the balance after."""
    await uow.points.lock(member_id)
    rules = await program(uow)
    if points > 0:
        await _give(
            uow,
            member_id,
            points,
            kind=EntryKind.ADJUST,
            at=at,
            lifetime_days=rules.earn.lot_lifetime_days,
            order_id=None,
            dedupe=None,
            reason=reason,
            actor=actor,
        )
    else:
        lots, _ = await _balance(uow, member_id, at)
        await _take(
            uow,
            member_id,
            plan_burn(lots, points=-points, at=at),
            kind=EntryKind.ADJUST,
            at=at,
            order_id=None,
            dedupe=None,
            reason=reason,
            actor=actor,
        )
    return (await _balance(uow, member_id, at))[1]


async def expire_due(uow_factory: UnitOfWorkFactory, *, clock: Clock, limit: int = 100) -> int:
    """Record the expiry of lots past their date (the balance already ignores them)."""
    at = clock.now()
    async with uow_factory() as uow:
        member_ids = await uow.points.members_with_expired_lots(at=at, limit=limit)
    for member_id in member_ids:
        async with uow_factory() as uow:
            await uow.points.lock(member_id)
            lots = await uow.points.lots(member_id)
            gone = expire(lots, at=at)
            if gone:
                await _take(
                    uow,
                    member_id,
                    gone,
                    kind=EntryKind.EXPIRE,
                    at=at,
                    order_id=None,
                    dedupe=None,
                    reason="expired",
                    actor="system:expiry",
                )
    return len(member_ids)


async def update_tier(uow: UnitOfWork, member_id: int, *, at: datetime) -> str:
    """The tier of the rolling 12-month spend across channels (thresholds are data)."""
    member = await _member(uow, member_id)
    spend = await uow.points.spend_12_months(member_id, since=at - timedelta(days=365))
    tiers = sorted(await uow.points.tiers(), key=lambda t: t.threshold)
    new = member.tier
    for tier in tiers:
        if spend >= tier.threshold:
            new = tier.code
    if tiers and new != member.tier:
        await uow.members.update(member_id, MemberChanges(tier=new))
        await uow.points.add_tier_change(
            TierChange(member_id=member_id, from_tier=member.tier, to_tier=new, spend_12m=spend)
        )
        await uow.outbox.add(TierChanged(member_id=member_id, from_=member.tier, to=new))
    return str(new)


async def _member(uow: UnitOfWork, member_id: int) -> MemberRecord:
    member = await uow.members.by_id(member_id)
    if member is None:
        raise NotFound("member", field="memberId")
    return member


async def member_balance(uow_factory: UnitOfWorkFactory, member_id: int, *, clock: Clock) -> int:
    """The member's spendable points now."""
    async with uow_factory() as uow:
        return (await _balance(uow, member_id, clock.now()))[1]


async def update_program(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    earn: Mapping[str, object],
    redeem: Mapping[str, object],
) -> LoyaltyProgram:
    """Owners and admins change the points rules (settings by their camelCase names, e.g.
    ``pointsPerUnit``; those left out keep their value); nonsense is refused before it is stored."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        try:
            changed = with_settings(await uow.points.program(), earn=earn, redeem=redeem)
            checked = with_tiers(changed, await uow.points.tiers())
        except (ValueError, TypeError, AttributeError) as error:
            raise DomainError("INVALID", f"invalid loyalty rules: {error}", field="input") from None
        _check_program(checked)
        await uow.points.save_program(changed)
        return checked


def _check_program(rules: LoyaltyProgram) -> None:
    earn, redeem = rules.earn, rules.redeem
    percents = [
        *earn.channel_multipliers.values(),
        *earn.tier_multipliers.values(),
        *earn.category_bonus.values(),
        earn.campaign_bonus_percent,
    ]
    if earn.points_per_unit < 0 or any(p < 0 or p > 10_000 for p in percents):
        raise DomainError("INVALID", "rates and multipliers are 0 to 10000 %", field="input")
    if earn.lot_lifetime_days < 1 or redeem.points_per_currency_unit < 1:
        raise DomainError("INVALID", "lifetime and redemption rate are at least 1", field="input")
    if not 0 <= redeem.max_share_percent <= 100:
        raise DomainError("INVALID", "maxSharePercent is 0 to 100", field="maxSharePercent")
