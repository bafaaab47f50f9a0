"""Points use cases: earn when an order completes (any channel, the till included), spend at
checkout or at the till, give back on cancel, reverse proportionally on returns, expire, staff
adjustments, and tiers from the rolling 12-month spend.

Every change runs in the caller's transaction under a lock on the member's row, so two
checkouts racing to spend the same points are serialised: only what the balance allows succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.errors import DomainError, NotFound
from domain.identity.model import Principal, Role
from domain.loyalty.model import (
    Consumption,
    EarnLine,
    EarnRule,
    EntryKind,
    Lot,
    RedemptionRule,
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
from domain.members.events import TierChanged
from domain.members.model import MemberChanges, MemberRecord
from domain.money import Money
from domain.ports import Clock, OrderRecord, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Program:
    """The brand's points rules, read from data."""

    earn: EarnRule
    redeem: RedemptionRule


async def program(uow: UnitOfWork) -> Program:
    """The loyalty program as stored (defaults where nothing is set)."""
    earn, redeem = await uow.points.program()
    tiers = {code: multiplier for code, _, multiplier in await uow.points.tier_thresholds()}
    earn = {**earn, "tierMultipliers": {**tiers, **earn.get("tierMultipliers", {})}}
    return Program(
        earn=EarnRule(
            points_per_unit=int(earn.get("pointsPerUnit", 1)),
            channel_multipliers={k: int(v) for k, v in earn.get("channelMultipliers", {}).items()},
            tier_multipliers={k: int(v) for k, v in earn.get("tierMultipliers", {}).items()},
            category_bonus={int(k): int(v) for k, v in earn.get("categoryBonus", {}).items()},
            campaign_bonus_percent=int(earn.get("campaignBonusPercent", 0)),
            lot_lifetime_days=int(earn.get("lotLifetimeDays", 365)),
        ),
        redeem=RedemptionRule(
            points_per_currency_unit=int(redeem.get("pointsPerCurrencyUnit", 100)),
            max_share_percent=int(redeem.get("maxSharePercent", 50)),
            minimum_points=int(redeem.get("minimumPoints", 0)),
        ),
    )


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
        member_id,
        kind=kind.value,
        points=-taken,
        balance_after=after,
        order_id=order_id,
        dedupe_key=dedupe,
        reason=reason,
        actor=actor,
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
        member_id,
        kind=kind.value,
        points=points,
        balance_after=after,
        order_id=order_id,
        lot_id=lot_id,
        dedupe_key=dedupe,
        reason=reason,
        actor=actor,
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
    await uow.outbox.publish(
        "points.burned",
        aggregate_id=str(member_id),
        payload={"memberId": member_id, "orderId": order_id, "points": points},
    )
    return value


async def earn_for_order(uow: UnitOfWork, order: OrderRecord, *, at: datetime, actor: str) -> int:
    """Points for a completed order of a member, once per order whatever the channel."""
    if order.member_id is None or await uow.points.has_entry(f"earn:{order.id}"):
        return 0
    await uow.points.lock(order.member_id)
    member = await _member(uow, order.member_id)
    rules = await program(uow)
    categories = await uow.points.category_ids([ln.variant_id for ln in order.lines])
    paid = order.total - order.points_value - order.delivery_total
    gross = sum(ln.line_total for ln in order.lines) or 1
    lines = [  # what was paid in money for each line: discounts and points spread pro rata
        EarnLine(
            Money(ln.line_total * max(paid, 0) // gross, order.currency),
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
        await uow.orders.update(order.id, points_earned=points)
        await uow.outbox.publish(
            "points.earned",
            aggregate_id=str(order.member_id),
            payload={"memberId": order.member_id, "orderId": order.id, "points": points},
        )
    await update_tier(uow, order.member_id, at=at)
    return points


async def give_back_for_cancel(
    uow: UnitOfWork, order: OrderRecord, *, at: datetime, actor: str
) -> None:
    """A cancelled order gives back every point it burned."""
    if order.member_id is None or order.points_redeemed <= 0:
        return
    await uow.points.lock(order.member_id)
    rules = await program(uow)
    await _give(
        uow,
        order.member_id,
        order.points_redeemed,
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
    order: OrderRecord,
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
    done_earn, done_burn, before = await uow.points.order_reversals(order.id)
    reverse, back = reverse_for_return(
        earned=order.points_earned,
        burned=order.points_redeemed,
        order_total=Money(order.total, order.currency),
        returned_value=Money(before + returned_value, order.currency),
        already_reversed_earn=done_earn,
        already_returned_burn=done_burn,
    )
    if reverse:
        lots, _ = await _balance(uow, order.member_id, at)
        taken = reversal_consumption(lots, points=reverse, at=at)
        shortfall = reverse - sum(c.points for c in taken)
        reason = f"return {return_id} of order {order.number}"
        if shortfall:
            reason += f" ({shortfall} already spent, not taken back)"
        await uow.points.consume(taken)
        _, after = await _balance(uow, order.member_id, at)
        await uow.points.add_entry(
            order.member_id,
            kind=EntryKind.EARN_REVERSAL.value,
            points=-reverse + shortfall,
            balance_after=after,
            order_id=order.id,
            dedupe_key=f"earn-back:{return_id}",
            reason=reason,
            actor=actor,
            reversed_points=reverse,
            returned_value=returned_value,
        )
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
            reason=f"return {return_id} of order {order.number}",
            actor=actor,
        )
    if not reverse:  # remember the returned value even when nothing was earned
        await uow.points.add_entry(
            order.member_id,
            kind=EntryKind.EARN_REVERSAL.value,
            points=0,
            balance_after=(await _balance(uow, order.member_id, at))[1],
            order_id=order.id,
            dedupe_key=f"earn-back:{return_id}",
            reason=f"return {return_id}",
            actor=actor,
            reversed_points=0,
            returned_value=returned_value,
        )
    await update_tier(uow, order.member_id, at=at)
    return reverse, back, redemption_value(back, rule=rules.redeem, currency=order.currency)


async def adjust(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    member_id: int,
    points: int,
    reason: str,
    clock: Clock,
) -> int:
    """Staff add or remove points with a reason; the balance never goes below zero."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    reason = validate_adjustment(points, reason=reason)
    async with uow_factory() as uow:
        if await uow.members.by_id(member_id) is None:
            raise NotFound("member", field="memberId")
        await uow.points.lock(member_id)
        at = clock.now()
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
                actor=principal.subject,
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
                actor=principal.subject,
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
    tiers = sorted(await uow.points.tier_thresholds(), key=lambda t: t[1])
    new = member.tier
    for code, threshold, _multiplier in tiers:
        if spend >= threshold:
            new = code
    if tiers and new != member.tier:
        await uow.members.update(member_id, MemberChanges(tier=new))
        await uow.points.add_tier_change(
            member_id, from_tier=member.tier, to_tier=new, spend_12m=spend
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
    earn: dict[str, Any],
    redeem: dict[str, Any],
) -> Program:
    """Owners and admins change the points rules; nonsense is refused before it is stored."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    async with uow_factory() as uow:
        current_earn, current_redeem = await uow.points.program()
        merged_earn, merged_redeem = {**current_earn, **earn}, {**current_redeem, **redeem}
        await uow.points.save_program(merged_earn, merged_redeem)
        try:
            checked = await program(uow)
        except (ValueError, TypeError, AttributeError) as error:
            raise DomainError("INVALID", f"invalid loyalty rules: {error}", field="input") from None
        _check_program(checked)
        return checked


def _check_program(rules: Program) -> None:
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
