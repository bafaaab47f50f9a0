"""Promotions, coupon codes and members' vouchers; types in ``types``, fields in ``fields``."""

# Until members moves to schema/members/, it imports Voucher from here.
from schema.promotions.types import Voucher  # noqa: F401
