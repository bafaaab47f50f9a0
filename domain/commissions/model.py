"""Commission arithmetic, exact in minor units.

A commission is computed per order line on its *net paid amount*: the line total less its
discounts (vouchers included) less its share of what points paid. A percentage rounds half up
per line; a fixed amount is per unit. Returns reverse in proportion to the net amount returned,
computed cumulatively (what should be reversed after this return, less what already was), so
that however an order is returned in parts, a full return reverses exactly what was accrued.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """A commission rule's money part: ``percent_bp`` basis points of the net amount, or
    ``fixed`` minor units per unit sold."""

    percent_bp: int | None = None
    fixed: int | None = None


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split in integer parts proportional to ``weights`` (largest remainders),
    summing to ``amount`` exactly; all to the first part when the weights sum to 0."""
    if not weights:
        return []
    total = sum(weights)
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    parts = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(parts)]:
        parts[i] += 1
    return parts


def net_paid(line_totals: Sequence[int], discounts: Sequence[int], points_value: int) -> list[int]:
    """Each line's net paid amount: its total less its discounts, less its share of the
    points that paid the order (spread over what the lines cost after discounts)."""
    after = [max(0, t - d) for t, d in zip(line_totals, discounts, strict=True)]
    points = spread(min(points_value, sum(after)), after)
    return [a - p for a, p in zip(after, points, strict=True)]


def accrual(rate: Rate, *, net: int, quantity: int) -> int:
    """The commission on a line: a percentage of its net amount (half up), or a fixed amount
    per unit (never more than the net amount)."""
    if rate.percent_bp is not None:
        return (net * rate.percent_bp + 5_000) // 10_000
    if rate.fixed is not None:
        return min(rate.fixed * quantity, net)
    return 0


def reversal(accrued: int, *, net: int, returned_before: int, returned_now: int) -> int:
    """What a return reverses of ``accrued`` (a positive number to take back): the share of
    the net amount returned so far, less what earlier returns already took back."""
    if net <= 0 or accrued == 0:
        return 0

    def share(returned: int) -> int:
        returned = min(returned, net)
        return (accrued * returned + net // 2) // net

    return share(returned_before + returned_now) - share(returned_before)
