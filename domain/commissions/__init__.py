"""What stores, clerks, venues and franchisees earn from sales, and their statements."""
