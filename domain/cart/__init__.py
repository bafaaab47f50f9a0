"""Carts: lines, buyer, delivery, priced by the domain."""
