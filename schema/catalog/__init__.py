"""The catalog: products, variants, categories, collections and prices; types in ``types``,
the Query and Mutation fields in ``fields``."""

# Until orders and cart move to schema/<area>/, they import these from here.
from schema.catalog.types import ProductVariant  # noqa: F401
from schema.channels.types import Location  # noqa: F401
