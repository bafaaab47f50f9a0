"""Promotions, coupon codes and members' vouchers; types in ``types``, fields in ``fields``."""
