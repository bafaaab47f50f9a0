"""Promotions in use: the cart's discounts (automatic promotions, codes, a member's vouchers)
through the one evaluation function, usage limits that hold under concurrency at checkout, and
vouchers issued to members, transferable, usable online or at the till."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.audit.grants import ApprovalRequired, admit
from domain.audit.model import GrantKind, GrantLimits, GrantStatus, ValueGrant
from domain.cart.model import PricedCart
from domain.channels.model import Channel
from domain.contact import canonical_email, canonical_phone
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.identity.model import Principal, Role
from domain.members.model import check_member_code
from domain.money import Money
from domain.orders.model import Totals, totals
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.promotions.events import VoucherIssued, VoucherTransferred
from domain.promotions.model import (
    CartContext,
    CartLineInput,
    Evaluation,
    Promotion,
    PromotionErrorCode,
    PromotionKind,
    VoucherStatus,
    evaluate,
    validate_promotion,
)
from domain.promotions.ports import LineFacts, PromotionDraft, VoucherDraft, VoucherRecord

VOUCHER_OFFSET = 1_000_000_000  # vouchers take part in evaluation as promotions with these ids


@dataclass(frozen=True, slots=True)
class Discounts:
    """The evaluation and the totals after it."""

    evaluation: Evaluation
    totals: Totals
    by_line: dict[int, int]  # variant id -> discount in minor units
    # the promotions read without any usage limit: checkout records their uses without
    # locking their rows
    unlimited: frozenset[int] = frozenset()


def voucher_promotion(v: VoucherRecord) -> Promotion:
    """A voucher seen as a fixed-amount promotion reachable by its code."""
    return Promotion(
        id=VOUCHER_OFFSET + v.id,
        name=f"Voucher {v.code}",
        kind=PromotionKind.FIXED_AMOUNT,
        amount=Money(v.amount, v.currency),
        code=v.code,
        ends_at=v.expires_at,
    )


async def discounts(
    uow: UnitOfWork,
    *,
    channel: Channel,
    priced: PricedCart,
    codes: Sequence[str],
    member_id: int | None,
    tier: str | None,
    store_id: int | None,
    at: datetime,
) -> Discounts:
    """Evaluate every live promotion, the given codes and the member's vouchers on a cart."""
    lines = [ln for ln in priced.lines if ln.unit_price is not None]
    facts = await uow.promotions.line_facts([ln.variant_id for ln in lines])
    unknown = LineFacts(product_id=0)
    inputs = [
        CartLineInput(
            line_id=ln.variant_id,
            variant_id=ln.variant_id,
            product_id=facts.get(ln.variant_id, unknown).product_id,
            category_ids=facts.get(ln.variant_id, unknown).category_ids,
            collection_ids=facts.get(ln.variant_id, unknown).collection_ids,
            quantity=ln.quantity,
            unit_price=ln.unit_price,  # type: ignore[arg-type]
        )
        for ln in lines
    ]
    live = await uow.promotions.live(at=at, codes=codes)
    candidates = [r.promotion for r in live]
    unlimited = frozenset(
        r.promotion.id for r in live if r.usage_limit is None and r.per_member_limit is None
    )
    for code in codes:
        voucher = await uow.promotions.voucher(code.strip().upper())
        if voucher and voucher.member_id == member_id and voucher.status == VoucherStatus.ACTIVE:
            candidates.append(voucher_promotion(voucher))
    delivery = priced.totals.delivery
    evaluation = evaluate(
        inputs,
        promotions=candidates,
        context=CartContext(
            channel=channel.handle,
            store_id=store_id,
            tier=tier,
            codes=tuple(codes),
            at=at,
            delivery=delivery,
        ),
    )
    by_line: dict[int, int] = {}
    for d in evaluation.line_discounts:
        by_line[d.line_id] = by_line.get(d.line_id, 0) + d.amount.amount
    line_total = sum(by_line.values())
    new_totals = totals(
        subtotal=priced.totals.subtotal - Money(line_total, channel.currency),
        delivery=delivery - evaluation.delivery_discount,
        tax_rate_bp=channel.tax_rate_bp,
        prices_include_tax=channel.prices_include_tax,
    )
    return Discounts(evaluation, new_totals, by_line, unlimited)


async def _buyer(uow: UnitOfWork, order_id: int) -> tuple[int | None, str | None, str | None]:
    """Who a guest order is from: the member their email or phone (canonical,
    domain/contact.py) belongs to, if any, and that email and phone. A per-member limit counts
    a member's guest checkouts as theirs, and a guest's repeated checkouts as one buyer's."""
    order = await uow.orders.get(order_id)
    if order is None:
        return None, None, None
    email, phone = canonical_email(order.buyer.email), canonical_phone(order.buyer.phone)
    found = (email and await uow.members.by_email(email)) or (
        phone and await uow.members.by_phone(phone)
    )
    return (found.id if found else None), email, phone


async def _uses(
    uow: UnitOfWork, promotion_id: int, *, order_id: int, member_id: int | None
) -> tuple[int, int | None]:
    """How often this buyer used the promotion before, and the member the use counts for."""
    if member_id is not None:
        return await uow.promotions.member_uses(promotion_id, member_id), member_id
    member_id, email, phone = await _buyer(uow, order_id)
    if member_id is not None:
        return await uow.promotions.member_uses(promotion_id, member_id), member_id
    return await uow.promotions.buyer_uses(promotion_id, email=email, phone=phone), None


async def claim(
    uow: UnitOfWork,
    evaluation: Evaluation,
    *,
    order_id: int,
    member_id: int | None,
    unlimited: frozenset[int] | None = None,
    phase: str = "all",
) -> None:
    """At checkout, under row locks: count each applied promotion's use against its limits and
    spend the vouchers; CODE_USAGE_LIMIT_REACHED when a limit is already used up.

    A promotion in ``unlimited`` (read without any limit) has its use recorded and no row
    locked. ``phase`` "unlimited" claims those only, "limited" the others and the vouchers
    (whose rows are locked), "all" both."""
    for promotion_id in sorted(evaluation.applied):
        if unlimited is not None and promotion_id in unlimited:
            if phase != "limited":
                await uow.promotions.add_use(
                    promotion_id, order_id=order_id, member_id=member_id, counted=False
                )
            continue
        if phase == "unlimited":
            continue
        if promotion_id >= VOUCHER_OFFSET:
            voucher = await uow.promotions.voucher_by_id(promotion_id - VOUCHER_OFFSET)
            if voucher is None or voucher.status != VoucherStatus.ACTIVE:
                raise DomainError(
                    PromotionErrorCode.CODE_USAGE_LIMIT_REACHED,
                    "this voucher was used already",
                    field="discountCodes",
                )
            await uow.promotions.use_voucher(voucher.id, order_id=order_id)
            continue
        record = await uow.promotions.get(promotion_id, for_update=True)
        if record is None:
            continue
        if record.usage_limit is not None and record.used_count >= record.usage_limit:
            raise DomainError(
                PromotionErrorCode.CODE_USAGE_LIMIT_REACHED,
                f"{record.promotion.name} has been used up",
                field="discountCodes",
            )
        buyer = member_id
        if record.per_member_limit is not None:
            used, buyer = await _uses(uow, promotion_id, order_id=order_id, member_id=member_id)
            if used >= record.per_member_limit:
                raise DomainError(
                    PromotionErrorCode.CODE_USAGE_LIMIT_REACHED,
                    f"you have used {record.promotion.name} as often as allowed",
                    field="discountCodes",
                )
        await uow.promotions.add_use(promotion_id, order_id=order_id, member_id=buyer)


async def save_promotion(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    promotion_id: int | None,
    promotion: Promotion,
    usage_limit: int | None,
    per_member_limit: int | None,
    active: bool,
) -> int:
    """Owners and admins create or change a promotion; nonsense is refused before storing."""
    principal.require_staff(Role.OWNER, Role.ADMIN)
    validate_promotion(promotion)
    for value, name in ((usage_limit, "usageLimit"), (per_member_limit, "perMemberLimit")):
        if value is not None and value < 1:
            raise DomainError("INVALID", "a limit is at least 1", field=name)
    code = promotion.code.strip().upper() if promotion.code else None
    async with uow_factory() as uow:
        if promotion_id is not None and await uow.promotions.get(promotion_id) is None:
            raise NotFound("promotion", field="id")
        if code and await uow.promotions.code_taken(code, exclude_id=promotion_id):
            raise DomainError("DUPLICATE_CODE", "this code is taken", field="code")
        saved = await uow.promotions.save(
            promotion_id,
            PromotionDraft(
                promotion=promotion,
                code=code,
                usage_limit=usage_limit,
                per_member_limit=per_member_limit,
                active=active,
            ),
        )
        uow.touched.add("price")
        return saved


async def issue_voucher(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    member_id: int,
    amount: Money,
    expires_at: datetime | None,
    limits: GrantLimits | None = None,
    at: datetime | None = None,
) -> VoucherRecord:
    """Staff send a member a single-use voucher (e.g. a store to its lapsed members); a store
    manager only to members of their stores and within their daily cap, above which the voucher
    waits for an owner (APPROVAL_REQUIRED)."""
    principal.require_staff(Role.OWNER, Role.ADMIN, Role.STORE_MANAGER)
    if amount.amount <= 0:
        raise DomainError("INVALID", "a voucher is worth something", field="amount")
    async with uow_factory() as uow:
        member = await uow.members.by_id(member_id)
        if member is None:
            raise NotFound("member", field="memberId")
        grant = ValueGrant(
            kind=GrantKind.VOUCHER,
            member_id=member_id,
            requested_by=principal.subject,
            value=amount.amount,
            currency=amount.currency,
            reason="voucher",
            status=GrantStatus.APPLIED,
            created_at=at or datetime.now(UTC),
            voucher_expires_at=expires_at,
        )
        pending = await admit(
            uow, principal, grant=grant, member=member, limits=limits or GrantLimits()
        )
        if pending is None:
            return await add_member_voucher(
                uow,
                member_id=member_id,
                amount=amount,
                expires_at=expires_at,
                issued_by=principal.subject,
            )
    raise ApprovalRequired(pending)


async def add_member_voucher(
    uow: UnitOfWork,
    *,
    member_id: int,
    amount: Money,
    expires_at: datetime | None,
    issued_by: str,
) -> VoucherRecord:
    """Issue a voucher in the caller's transaction; its code goes to the member, never to events."""
    voucher = await uow.promotions.add_voucher(
        VoucherDraft(
            code="V-" + secrets.token_hex(5).upper(),
            member_id=member_id,
            value=amount,
            issued_by=issued_by,
            expires_at=expires_at,
        )
    )
    await uow.outbox.add(VoucherIssued(member_id=member_id, voucher_id=voucher.id))
    return voucher


async def transfer_voucher(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, code: str, to_member_code: str
) -> VoucherRecord:
    """A member gives an unused voucher of theirs to another member (by member code)."""
    if principal.member_id is None:
        raise PermissionDenied("log in as a member", field="code")
    target_code = check_member_code(to_member_code)
    async with uow_factory() as uow:
        voucher = await uow.promotions.voucher(code.strip().upper(), for_update=True)
        if voucher is None or voucher.member_id != principal.member_id:
            raise DomainError(
                PromotionErrorCode.INVALID_CODE, "not one of your vouchers", field="code"
            )
        if voucher.status != VoucherStatus.ACTIVE:
            raise DomainError(
                PromotionErrorCode.CODE_USAGE_LIMIT_REACHED, "already used", field="code"
            )
        target = await uow.members.by_code(target_code)
        if target is None:
            raise NotFound("member", field="toMemberCode")
        if target.id == voucher.member_id:
            raise DomainError("INVALID", "it is yours already", field="toMemberCode")
        await uow.promotions.transfer_voucher(voucher.id, to_member_id=target.id)
        await uow.outbox.add(
            VoucherTransferred(voucher_id=voucher.id, from_=voucher.member_id, to=target.id)
        )
        found = await uow.promotions.voucher(voucher.code)
        assert found is not None
        return found
