"""Identity: staff accounts, staff login and partner API keys; types in ``types``, fields in
``fields``."""
