"""Integer rounding of discounts: half up per line, and a saving spread over lines by highest
averages (Sainte-Laguë / Webster).

A FIXED_AMOUNT or SPEND_THRESHOLD saving is spread over its scoped lines in proportion to their
remaining value: each share is the line's value divided by one common divisor, rounded to
nearest, and a tie for a cent goes to the largest line first (then the lower line id). The
shares sum exactly to the saving and never exceed a line, so no discount makes a line negative.
Why not "round every share down, then one remainder cent each to the largest lines": that rule
can shift cents onto a line that a later, narrower promotion then discounts again, so adding a
promotion could lower the total by a cent (lines 1, 1, 2; 1 off the third line, then 2 off all,
then 100 % off the first two). With this rule a line's share never falls when another line's
value falls, which makes "adding a promotion never lowers the total discount" hold exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up (both non-negative, denominator > 0)."""
    return (2 * numerator + denominator) // (2 * denominator)


def spread(saving: int, values: Sequence[int], line_ids: Sequence[int]) -> list[int]:
    """Shares of ``saving`` over lines worth ``values`` (of ids ``line_ids``), in proportion.

    Highest averages (Sainte-Laguë / Webster): the cents go one at a time to the line with the
    highest ``value / (cents so far + ½)``, ties to the largest line, then the lower line id; so
    each share is ``value / d`` rounded to nearest for one common ``d``. The shares sum exactly to
    ``min(saving, total)``, never exceed a line, and never shrink when another line shrinks.
    """
    total = sum(values)
    if saving >= total:
        return list(values)
    if saving <= 0:
        return [0] * len(values)

    def entry(i: int, cents: int) -> tuple[Fraction, int, int]:
        """How strongly line ``i`` claims its next cent after ``cents`` (the larger the first)."""
        return (Fraction(2 * values[i], 2 * cents + 1), values[i], -line_ids[i])

    everyone = range(len(values))
    shares = [round_half_up(saving * value, total) for value in values]  # a close first guess
    while sum(shares) < saving:
        best = max(everyone, key=lambda i: entry(i, shares[i]))
        shares[best] += 1
    while sum(shares) > saving:
        worst = min((i for i in everyone if shares[i]), key=lambda i: entry(i, shares[i] - 1))
        shares[worst] -= 1
    while True:  # settle: no cent left out may claim more strongly than one given
        best = max(everyone, key=lambda i: entry(i, shares[i]))
        worst = min((i for i in everyone if shares[i]), key=lambda i: entry(i, shares[i] - 1))
        if entry(best, shares[best]) <= entry(worst, shares[worst] - 1):
            return shares
        shares[best] += 1
        shares[worst] -= 1
