"""Points: the ledger, earning, spending, tiers."""
