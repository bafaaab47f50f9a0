"""Local fake marketplaces (Amazon SP-API, Walmart Marketplace, eBay Sell) that answer in their
documented formats and keep state, for tests, benchmarks and the demo. Never used in production."""
