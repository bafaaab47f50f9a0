"""schema.graphql at the repo root is the exported SDL of the code."""

from pathlib import Path

from app import export_schema


def test_schema_graphql_is_current():
    saved = (Path(__file__).parent.parent / "schema.graphql").read_text()
    assert saved == export_schema(), "run `python app.py export-schema`"
