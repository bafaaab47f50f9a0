"""Promotion use cases against the in-memory fakes: admin promotions, discounts on a cart,
usage limits claimed at checkout, and members' vouchers (issue, transfer, spend).
Assertions are on stored promotions and vouchers, cart totals, events and error codes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from adapters.memory.shop import PRICES, Shop, small_shop
from domain.cart import services as cart
from domain.cart.services import CartView, DeliveryChoice
from domain.errors import DomainError
from domain.identity.model import Principal, PrincipalKind
from domain.money import Money
from domain.orders.checkout import checkout_complete
from domain.orders.model import Buyer
from domain.promotions import services as svc
from domain.promotions.model import Promotion, PromotionKind, VoucherStatus

TEN_PERCENT = Promotion(id=0, name="Welcome", kind=PromotionKind.PERCENTAGE, percent=10)


@pytest.fixture
async def shop() -> Shop:
    return await small_shop()


async def save(shop: Shop, promotion: Promotion, **limits: int | None) -> int:
    return await svc.save_promotion(
        shop.uow,
        shop.owner,
        promotion_id=None,
        promotion=promotion,
        usage_limit=limits.get("usage_limit"),
        per_member_limit=limits.get("per_member_limit"),
        active=True,
    )


async def new_member(shop: Shop, code: str) -> int:
    return await shop.add_member(email=f"{code}@example.com", code=code)


async def cart_with(
    shop: Shop, *codes: str, quantity: int = 1, member_id: int | None = None
) -> CartView:
    view = await cart.create_cart(
        shop.uow,
        channel_handle="web",
        lines=[(shop.variant_ids[0], quantity)],
        buyer=Buyer(email="buyer@example.com"),
        delivery=DeliveryChoice(method="PICKUP", location_id=shop.store_id),
        clock=shop.clock,
        member_id=member_id,
    )
    return await cart.change_cart(shop.uow, token=view.cart.token, clock=shop.clock, codes=codes)


async def checkout(shop: Shop, view: CartView) -> int:
    placed = await checkout_complete(
        shop.uow,
        Principal(PrincipalKind.ANONYMOUS),
        token=view.cart.token,
        idempotency_key=None,
        clock=shop.clock,
    )
    return placed.result.order_id


def events(shop: Shop, topic: str) -> list[tuple[str, dict[str, object]]]:
    return [(m.aggregate_id, m.payload) for m in shop.state.outbox.values() if m.topic == topic]


async def test_a_coupon_is_stored_with_its_code_normalised(shop: Shop) -> None:
    promotion_id = await save(shop, replace(TEN_PERCENT, code=" welcome10 "), usage_limit=100)

    record = shop.state.promotions[promotion_id]
    assert (record.promotion.code, record.usage_limit, record.used_count) == ("WELCOME10", 100, 0)
    assert "price" in shop.uow.touched  # cached prices must be recomputed


@pytest.mark.parametrize(
    ("promotion", "limits", "code"),
    [
        (replace(TEN_PERCENT, percent=0), {}, "INVALID_PROMOTION"),
        (replace(TEN_PERCENT, name=" "), {}, "INVALID_PROMOTION"),
        (TEN_PERCENT, {"usage_limit": 0}, "INVALID"),
        (replace(TEN_PERCENT, code="TAKEN"), {}, "DUPLICATE_CODE"),
    ],
)
async def test_nonsense_promotions_are_refused(
    shop: Shop, promotion: Promotion, limits: dict[str, int], code: str
) -> None:
    await save(shop, replace(TEN_PERCENT, code="TAKEN"))

    with pytest.raises(DomainError) as refused:
        await save(shop, promotion, **limits)

    assert refused.value.code == code
    assert len(shop.state.promotions) == 1


async def test_only_owners_and_admins_edit_existing_promotions(shop: Shop) -> None:
    with pytest.raises(DomainError) as clerk:
        await svc.save_promotion(
            shop.uow,
            shop.clerk,
            promotion_id=None,
            promotion=TEN_PERCENT,
            usage_limit=None,
            per_member_limit=None,
            active=True,
        )
    with pytest.raises(DomainError) as unknown:
        await svc.save_promotion(
            shop.uow,
            shop.owner,
            promotion_id=42,
            promotion=TEN_PERCENT,
            usage_limit=None,
            per_member_limit=None,
            active=True,
        )

    assert (clerk.value.code, unknown.value.code) == ("PERMISSION_DENIED", "NOT_FOUND")


async def test_the_cart_shows_automatic_and_coded_discounts(shop: Shop) -> None:
    await save(shop, replace(TEN_PERCENT, code="WELCOME10"))
    await save(
        shop,
        Promotion(
            id=0,
            name="Spend 50",
            kind=PromotionKind.SPEND_THRESHOLD,
            amount=Money(500, "EUR"),
            threshold=Money(5000, "EUR"),
        ),
    )

    view = await cart_with(shop, "welcome10", "NOPE", quantity=2)

    subtotal = 2 * PRICES[0]  # 59.80: 10 % off is 5.98, then 5.00 off the threshold
    assert view.totals.total == Money(subtotal - 598 - 500, "EUR")
    assert view.discounts.evaluation.rejected_codes == (("NOPE", "INVALID_CODE"),)


async def test_a_limited_code_is_claimed_at_checkout_until_used_up(shop: Shop) -> None:
    promotion_id = await save(shop, replace(TEN_PERCENT, code="ONCE"), usage_limit=1)
    first, second = await cart_with(shop, "ONCE"), await cart_with(shop, "ONCE")

    order_id = await checkout(shop, first)
    with pytest.raises(DomainError) as used_up:
        await checkout(shop, second)

    assert used_up.value.code == "CODE_USAGE_LIMIT_REACHED"
    assert shop.state.promotions[promotion_id].used_count == 1
    assert shop.state.promotion_uses == [(promotion_id, order_id, None)]
    assert list(shop.state.orders) == [order_id]  # the refused checkout left no order
    assert shop.stock(shop.variant_ids[0], shop.store_id).reserved == 1


async def test_a_member_uses_a_code_as_often_as_allowed(shop: Shop) -> None:
    promotion_id = await save(shop, replace(TEN_PERCENT, code="TWICE"), per_member_limit=1)
    member = await new_member(shop, "000000000000")

    await checkout(shop, await cart_with(shop, "TWICE", member_id=member))
    with pytest.raises(DomainError) as again:
        await checkout(shop, await cart_with(shop, "TWICE", member_id=member))
    await checkout(shop, await cart_with(shop, "TWICE"))  # a guest is not counted per member

    assert again.value.code == "CODE_USAGE_LIMIT_REACHED"
    assert shop.state.promotions[promotion_id].used_count == 2


async def test_a_voucher_is_issued_transferred_and_spent_once(shop: Shop) -> None:
    giver, taker = await new_member(shop, "000000000000"), await new_member(shop, "000000000018")

    voucher = await svc.issue_voucher(
        shop.uow,
        shop.owner,
        member_id=giver,
        amount=Money(1000, "EUR"),
        expires_at=shop.clock.now() + timedelta(days=30),
    )
    moved = await svc.transfer_voucher(
        shop.uow, shop.member(giver), code=voucher.code.lower(), to_member_code="0000 0000 0018"
    )
    view = await cart_with(shop, voucher.code, quantity=1, member_id=taker)
    order_id = await checkout(shop, view)

    assert events(shop, "voucher.issued") == [
        (str(giver), {"memberId": giver, "voucherId": voucher.id})  # never the code
    ]
    assert events(shop, "voucher.transferred") == [(str(voucher.id), {"from": giver, "to": taker})]
    assert (moved.member_id, moved.status) == (taker, VoucherStatus.ACTIVE)
    assert view.totals.total == Money(PRICES[0] - 1000, "EUR")
    spent = shop.state.vouchers[voucher.id]
    assert (spent.status, spent.order_id) == (VoucherStatus.USED, order_id)
    with pytest.raises(DomainError) as again:
        await svc.transfer_voucher(
            shop.uow, shop.member(taker), code=voucher.code, to_member_code="000000000000"
        )
    assert again.value.code == "CODE_USAGE_LIMIT_REACHED"


async def test_a_voucher_works_only_for_its_owner(shop: Shop) -> None:
    owner, other = await new_member(shop, "000000000000"), await new_member(shop, "000000000018")
    voucher = await svc.issue_voucher(
        shop.uow, shop.owner, member_id=owner, amount=Money(1000, "EUR"), expires_at=None
    )

    view = await cart_with(shop, voucher.code, member_id=other)

    assert view.totals.total == Money(PRICES[0], "EUR")
    assert view.discounts.evaluation.rejected_codes == ((voucher.code, "INVALID_CODE"),)


@pytest.mark.parametrize(
    ("who", "code", "to", "error"),
    [
        ("taker", "mine", "000000000000", "INVALID_CODE"),  # not theirs
        ("giver", "mine", "000000000000", "INVALID"),  # to themselves
        ("giver", "mine", "000000000026", "NOT_FOUND"),  # no such member
        ("giver", "mine", "000000000001", "INVALID_CODE"),  # a mistyped member code
        ("staff", "mine", "000000000018", "PERMISSION_DENIED"),
    ],
)
async def test_refused_transfers_leave_the_voucher(
    shop: Shop, who: str, code: str, to: str, error: str
) -> None:
    giver, taker = await new_member(shop, "000000000000"), await new_member(shop, "000000000018")
    voucher = await svc.issue_voucher(
        shop.uow, shop.owner, member_id=giver, amount=Money(500, "EUR"), expires_at=None
    )
    principal = {"giver": shop.member(giver), "taker": shop.member(taker), "staff": shop.owner}

    with pytest.raises(DomainError) as refused:
        await svc.transfer_voucher(shop.uow, principal[who], code=voucher.code, to_member_code=to)

    assert refused.value.code == error
    assert shop.state.vouchers[voucher.id] == voucher
    assert events(shop, "voucher.transferred") == []


async def test_vouchers_are_issued_by_managers_to_members_that_exist(shop: Shop) -> None:
    member = await new_member(shop, "000000000000")
    for principal, member_id, amount, error in (
        (shop.clerk, member, 500, "PERMISSION_DENIED"),
        (shop.owner, 999, 500, "NOT_FOUND"),
        (shop.owner, member, 0, "INVALID"),
    ):
        with pytest.raises(DomainError) as refused:
            await svc.issue_voucher(
                shop.uow,
                principal,
                member_id=member_id,
                amount=Money(amount, "EUR"),
                expires_at=None,
            )
        assert refused.value.code == error
    assert shop.state.vouchers == {} and events(shop, "voucher.issued") == []
