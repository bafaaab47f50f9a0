"""Channels and locations: types in ``types``, the Query and Mutation fields in ``fields``."""
