"""Promotions, coupons and vouchers."""
