"""The GraphQL API: one package per area (``types`` and ``fields``) and the root in ``root``.

The root lives in ``schema.root``, not here, so that importing any ``schema.<area>.types``
(as the resolvers do) never builds the whole schema half-way through an import.
"""
