"""Channels and locations."""
