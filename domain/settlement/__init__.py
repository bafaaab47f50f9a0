"""Settlement: franchisees and their stores, wholesale prices, and statements per beneficiary
and period (draft, approved, paid) whose lines trace back to commission entries, orders and
stock transfers."""
