"""Sales at a store's till: one completed order of the store's channel, stock taken there,
the member's points and vouchers as online."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from domain.cart.model import PricedCart, PricedLine
from domain.errors import DomainError, NotFound
from domain.idempotency import run_once
from domain.identity.model import Principal
from domain.insights.services import refresh_tags
from domain.inventory.model import MovementKind, StockLevel
from domain.loyalty import services as points
from domain.members.model import check_member_code
from domain.money import Money
from domain.orders.model import (
    OrderErrorCode,
    OrderSource,
    OrderStatus,
    PaymentStatus,
    totals,
)
from domain.orders.services import require_store_staff, result
from domain.ports import Clock, UnitOfWork, UnitOfWorkFactory
from domain.pricing.model import price_for
from domain.promotions import services as promotions


async def pos_sale(
    uow_factory: UnitOfWorkFactory,
    principal: Principal,
    *,
    location_id: int,
    lines: Sequence[tuple[int, int]],
    buyer: dict[str, Any],
    tender: str,
    idempotency_key: str | None,
    clock: Clock,
    member_code: str | None = None,
    points_to_redeem: int = 0,
    discount_codes: Sequence[str] = (),
) -> dict[str, Any]:
    """A sale at a store's till: a completed order of the store's channel, stock taken there;
    with a scanned member code the member earns (and may spend) points like online, and coupon
    codes and the member's vouchers apply as in the web shop."""
    require_store_staff(principal, location_id)
    if tender not in ("CASH", "CARD_TERMINAL"):
        raise DomainError("INVALID", "tender is CASH or CARD_TERMINAL", field="tender")
    if not lines:
        raise DomainError(OrderErrorCode.EMPTY_CART, "sell at least one line", field="lines")

    async def work(uow: UnitOfWork) -> dict[str, Any]:
        channel = await uow.locations.store_channel(location_id)
        if channel is None:
            raise DomainError(
                "UNKNOWN_CHANNEL", "this store has no till channel", field="locationId"
            )
        wanted: dict[int, int] = {}
        for i, (variant_id, qty) in enumerate(lines):
            if not 0 < qty <= 999:
                raise DomainError(
                    OrderErrorCode.INVALID_QUANTITY, "1 to 999", field=f"lines.{i}.quantity"
                )
            wanted[variant_id] = wanted.get(variant_id, 0) + qty
        member = None
        if member_code:
            member = await uow.members.by_code(check_member_code(member_code))
            if member is None:
                raise NotFound("member", field="memberCode")
        elif points_to_redeem:
            raise DomainError("INVALID", "scan the member's code to use points", field="memberCode")
        titles = await uow.catalog.variants_with_titles(list(wanted))
        rules = await uow.prices.rules_for(list(wanted))
        levels = await uow.inventory.lock([(v, location_id) for v in wanted])
        priced, subtotal = [], Money(0, channel.currency)
        for i, (variant_id, qty) in enumerate(wanted.items()):
            if variant_id not in titles:
                raise NotFound("variant", field=f"lines.{i}.variantId")
            quote = price_for(
                rules.get(variant_id, []),
                currency=channel.currency,
                channel=channel.handle,
                tier=member.tier if member else None,
                at=clock.now(),
            )
            if quote is None:
                raise DomainError(
                    OrderErrorCode.NOT_SOLD_IN_CHANNEL,
                    "no price here",
                    field=f"lines.{i}.variantId",
                )
            level = levels[(variant_id, location_id)]
            if level.on_hand - level.reserved < qty:
                raise DomainError(
                    OrderErrorCode.OUT_OF_STOCK,
                    "not enough on the shelf",
                    field=f"lines.{i}.quantity",
                )
            priced.append((variant_id, qty, quote))
            subtotal = subtotal + quote.price.times(qty)
        t = totals(
            subtotal=subtotal,
            delivery=Money(0, channel.currency),
            tax_rate_bp=channel.tax_rate_bp,
            prices_include_tax=channel.prices_include_tax,
        )
        cart_lines = tuple(
            PricedLine(
                variant_id=v,
                title=titles[v][1],
                sku=titles[v][0].sku,
                quantity=q,
                unit_price=quote.price,
                compare_at=quote.compare_at,
                line_total=quote.price.times(q),
                available_in_channel=q,
                available_at_store=None,
                nearest_stores_with_stock=(),
            )
            for v, q, quote in priced
        )
        found = await promotions.discounts(
            uow,
            channel=channel,
            priced=PricedCart(cart_lines, t),
            codes=[c.strip().upper() for c in discount_codes if c.strip()],
            member_id=member.id if member else None,
            tier=member.tier if member else None,
            store_id=location_id,
            at=clock.now(),
        )
        t = found.totals
        staff_id = (
            int(principal.subject.split(":")[1]) if principal.subject.startswith("staff:") else None
        )
        order_id = await uow.orders.add(
            channel_id=channel.id,
            channel_handle=channel.handle,
            source=OrderSource.STORE_TILL.value,
            status=OrderStatus.COMPLETED.value,
            payment_status=PaymentStatus.PAID.value,
            currency=channel.currency,
            subtotal=t.subtotal.amount,
            delivery_total=0,
            tax_total=t.tax.amount,
            total=t.total.amount,
            buyer=buyer,
            delivery={"method": "IN_STORE", "locationId": location_id},
            routing={"reason": "sold at the till", "split": False, "locationIds": [location_id]},
            location_ids=[location_id],
            attributed_location_id=location_id,
            attributed_staff_id=staff_id,
            access_token=secrets.token_urlsafe(24),
            member_id=member.id if member else None,
            discount_total=found.evaluation.total_discount.amount,
            discounts=[
                {
                    "promotionId": d.promotion_id,
                    "variantId": d.line_id,
                    "amount": d.amount.amount,
                    "why": d.explanation,
                }
                for d in found.evaluation.line_discounts
            ],
        )
        await uow.orders.add_lines(
            order_id,
            [
                {
                    "variant_id": v,
                    "sku": titles[v][0].sku,
                    "title": titles[v][1],
                    "quantity": q,
                    "unit_price": quote.price.amount,
                    "compare_at_price": quote.compare_at.amount if quote.compare_at else None,
                    "line_total": quote.price.amount * q,
                    "discount": found.by_line.get(v, 0),
                }
                for v, q, quote in priced
            ],
        )
        await promotions.claim(
            uow, found.evaluation, order_id=order_id, member_id=member.id if member else None
        )
        await uow.orders.add_fulfilment(
            order_id,
            location_id=location_id,
            method="IN_STORE",
            status="HANDED_OVER",
            lines=[{"variantId": v, "quantity": q} for v, q, _ in priced],
        )
        for variant_id, qty, _ in priced:
            level = levels[(variant_id, location_id)]
            level = StockLevel(
                level.location_id, level.on_hand - qty, level.reserved, level.safety_stock
            )
            await uow.inventory.save(variant_id, level)
            await uow.inventory.record(
                variant_id=variant_id,
                location_id=location_id,
                kind=MovementKind.SALE,
                delta=-qty,
                on_hand_after=level.on_hand,
                reason=f"till sale ({tender.lower()})",
                actor=principal.subject,
                reference=f"order:{order_id}",
            )
        await uow.orders.add_event(
            order_id,
            kind="COMPLETED",
            actor=principal.subject,
            data={"tender": tender, "total": t.total.amount},
        )
        await uow.outbox.publish(
            "order.completed",
            aggregate_id=str(order_id),
            payload={
                "orderId": order_id,
                "channel": channel.handle,
                "total": t.total.amount,
                "source": "STORE_TILL",
            },
        )
        if member is not None:
            if points_to_redeem:
                value = await points.redeem(
                    uow,
                    member_id=member.id,
                    order_id=order_id,
                    points=points_to_redeem,
                    order_total=t.total,
                    at=clock.now(),
                    actor=principal.subject,
                )
                await uow.orders.update(
                    order_id, points_redeemed=points_to_redeem, points_value=value.amount
                )
            order = await uow.orders.get(order_id)
            assert order is not None
            await points.earn_for_order(uow, order, at=clock.now(), actor=principal.subject)
            await refresh_tags(uow, order, at=clock.now())
        uow.touched.add("stock")
        return result(order_id)

    return await run_once(
        uow_factory,
        scope=f"pos:{principal.subject}",
        key=idempotency_key,
        payload={
            "l": location_id,
            "lines": list(lines),
            "b": buyer,
            "t": tender,
            "m": member_code,
            "p": points_to_redeem,
            "d": sorted(discount_codes),
        },
        work=work,
    )
