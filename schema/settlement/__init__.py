"""Settlement: franchisees, wholesale prices, statements."""
