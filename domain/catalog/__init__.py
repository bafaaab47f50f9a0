"""Catalog: products, variants, categories, collections."""
