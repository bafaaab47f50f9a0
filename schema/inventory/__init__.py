"""Inventory: stock levels and the stock ledger; types in ``types``, fields in ``fields``."""
