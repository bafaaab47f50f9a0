"""The catalog: products, variants, categories, collections and prices; types in ``types``,
the Query and Mutation fields in ``fields``."""
