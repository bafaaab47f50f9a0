"""GraphQL of the marketplace sync: status per channel and SKU, flagged orders, calls owed."""
