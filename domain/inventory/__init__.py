"""Stock levels, the movement ledger and availability."""
