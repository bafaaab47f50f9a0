"""Staff insight into members: types in ``types``, the Query fields in ``fields``."""
