"""Performance of stores, clerks and channels: sales, online-influenced sales, members won."""
