"""Orders of every channel: types in ``types``, the Query and Mutation fields in ``fields``."""
