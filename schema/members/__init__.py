"""Members and their points: types in ``types``, the Query and Mutation fields in ``fields``."""
