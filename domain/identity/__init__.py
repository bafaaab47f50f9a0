"""Staff, partners, API keys and principals."""
