"""Payments: the provider-neutral port, its typed results and idempotency keys."""
