"""The storefront cart: types in ``types``, the Query and Mutation fields in ``fields``."""
