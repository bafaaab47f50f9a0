"""Members: one identity across channels."""
