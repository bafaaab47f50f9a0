"""Schema habits run by `make test`: schema.graphql equals the code, and no breaking change
against the newest released SDL in releases/ (when one exists)."""

from __future__ import annotations

import sys
from pathlib import Path

from graphql import build_schema as build_sdl
from graphql import find_breaking_changes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import export_schema  # noqa: E402


def main() -> int:
    """Exit 1 when schema.graphql is stale or the schema breaks the last release."""
    current = export_schema()
    saved = (ROOT / "schema.graphql").read_text()
    if saved != current:
        print("schema.graphql is out of date: run `python app.py export-schema`", file=sys.stderr)
        return 1
    releases = sorted((ROOT / "releases").glob("*.graphql"))
    if not releases:
        print("schema.graphql is current; no released SDL to compare with yet")
        return 0
    changes = find_breaking_changes(build_sdl(releases[-1].read_text()), build_sdl(current))
    for change in changes:
        print(f"BREAKING vs {releases[-1].name}: {change.type.name}: {change.description}")
    if not changes:
        print(f"schema.graphql is current; no breaking change against {releases[-1].name}")
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
