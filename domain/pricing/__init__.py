"""Prices: rules and the one pricing function."""
