"""Catalog indexes for large catalogs: the listing's keyset orders, a page's variants, and the
storefront search through an index.

Search: ``products(query:)`` matches each word as a substring of ``product.search_text``.
- PostgreSQL: a pg_trgm GIN index on ``search_text`` serves ``LIKE '%word%'`` (words of 3
  characters or more). ``CREATE EXTENSION pg_trgm`` needs a role that may create it: a
  superuser, or since PostgreSQL 13 (pg_trgm is a trusted extension) the owner of the database
  or a role with CREATE on it. Managed services: allowed by default on Amazon RDS/Aurora and
  Cloud SQL; on Azure Flexible Server add ``PG_TRGM`` to the ``azure.extensions`` parameter first.
  Or create it once as an administrator: the migration only creates it if it is missing.
- SQLite (3.34 or later): an FTS5 table with the ``trigram`` tokenizer over ``product``
  (external content: no second copy of the text), kept in step by triggers on insert, update
  and delete of a product.
"""

from typing import Any

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

PG_FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS product_search_trgm ON product USING gin (search_text gin_trgm_ops);
"""
PG_BACKWARD = "DROP INDEX IF EXISTS product_search_trgm;"

SQLITE_FORWARD = """
CREATE VIRTUAL TABLE product_search USING fts5(
    search_text, content='product', content_rowid='id', tokenize='trigram'
);
INSERT INTO product_search(product_search) VALUES ('rebuild');
CREATE TRIGGER product_search_insert AFTER INSERT ON product BEGIN
    INSERT INTO product_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER product_search_delete AFTER DELETE ON product BEGIN
    INSERT INTO product_search(product_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER product_search_update AFTER UPDATE OF id, search_text ON product BEGIN
    INSERT INTO product_search(product_search, rowid, search_text)
    VALUES ('delete', old.id, old.search_text);
    INSERT INTO product_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
"""
SQLITE_BACKWARD = """
DROP TRIGGER IF EXISTS product_search_insert;
DROP TRIGGER IF EXISTS product_search_delete;
DROP TRIGGER IF EXISTS product_search_update;
DROP TABLE IF EXISTS product_search;
"""


async def _run(editor: Any, *, postgres: str, sqlite: str) -> None:
    client = editor.client
    if client.capabilities.dialect == "postgres":
        await _script(editor, postgres)
        return
    import sqlite3

    if sqlite3.sqlite_version_info < (3, 34):
        raise RuntimeError(
            f"SQLite {sqlite3.sqlite_version} has no FTS5 trigram tokenizer: 3.34 or later is"
            " needed (or use PostgreSQL)"
        )
    await _script(editor, sqlite)


async def _script(editor: Any, sql: str) -> None:
    if getattr(editor, "collect_sql", False):  # `sqlmigrate`: show, do not run
        editor.collected_sql.append(sql.strip())
    else:
        await editor.client.execute_script(sql)


async def search_index(apps: Any, editor: Any) -> None:
    await _run(editor, postgres=PG_FORWARD, sqlite=SQLITE_FORWARD)


async def drop_search_index(apps: Any, editor: Any) -> None:
    await _run(editor, postgres=PG_BACKWARD, sqlite=SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("models", "0007_payment_status_length")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Product", index=Index(fields=["status", "id"])),
        ops.AddIndex(model_name="Product", index=Index(fields=["status", "title", "id"])),
        ops.AddIndex(model_name="Product", index=Index(fields=["status", "created_at", "id"])),
        ops.AddIndex(model_name="Product", index=Index(fields=["status", "updated_at", "id"])),
        ops.AddIndex(model_name="Product", index=Index(fields=["category_id"])),
        ops.AddIndex(model_name="Variant", index=Index(fields=["product_id", "position", "id"])),
        ops.RunPython(search_index, drop_search_index),
    ]
