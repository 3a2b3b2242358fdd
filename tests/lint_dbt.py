"""The dbt project's structure rules, checked over dbt's manifest (``make lint``).

    python tests/lint_dbt.py [dbt_project/target/manifest.json]

Each finding is one line ``rule: node: what is wrong``; the exit status is 1 when there is
any. The rules:

- ``grain``: every model has a uniqueness test on its grain (``unique`` on a column or
  ``unique_combination`` over its key columns);
- ``freshness``: every source table has a freshness rule and a ``loaded_at_field``; a table
  that is written only when something changes (so its age says nothing about the pipeline)
  sets ``freshness: null`` and says why in ``meta: {no_freshness: "<reason>"}``;
- ``layers``: a mart never selects from a source (staging views do; marts select from
  staging, intermediate models or other marts);
- ``described``: every model, source table and declared column has a description, and
  every model declares its columns.

Whether every column a model *builds* is declared needs the built warehouse: the docs-site
test (``tests/test_docs_site.py``) checks that against the catalog.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

UNIQUENESS_TESTS = frozenset({"unique", "unique_combination"})
#: the meta key of a source table that opts out of freshness, holding the reason
NO_FRESHNESS = "no_freshness"


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}


def _layer(node: dict[str, Any]) -> str:
    """``staging``, ``intermediate`` or ``marts``: the folder under models/."""
    parts = Path(node["original_file_path"]).parts
    return parts[1] if len(parts) > 2 and parts[0] == "models" else ""


def _has_freshness(table: dict[str, Any]) -> bool:
    fresh = table.get("freshness") or {}
    limits = [fresh.get("warn_after") or {}, fresh.get("error_after") or {}]
    bounded = any(limit.get("count") and limit.get("period") for limit in limits)
    loaded = table.get("loaded_at_field") or table.get("loaded_at_query")
    return bool(bounded and loaded)


def check(manifest: dict[str, Any]) -> Iterator[str]:
    """Every finding of the rules above, one line each."""
    models = _models(manifest)
    tested: set[str] = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        name = (node.get("test_metadata") or {}).get("name")
        if name in UNIQUENESS_TESTS and node.get("attached_node"):
            tested.add(node["attached_node"])
    for uid, node in sorted(models.items()):
        label = node["name"]
        if uid not in tested:
            yield f"grain: {label}: no uniqueness test on its grain (unique or unique_combination)"
        if _layer(node) == "marts":
            for parent in node["depends_on"]["nodes"]:
                if parent.startswith("source."):
                    yield (f"layers: {label}: a mart selects from {parent.split('.', 2)[2]}; "
                           "read it through a staging model")
        if not node.get("description", "").strip():
            yield f"described: {label}: the model has no description"
        if not node.get("columns"):
            yield f"described: {label}: the model declares no columns"
        for column, spec in sorted(node.get("columns", {}).items()):
            if not (spec.get("description") or "").strip():
                yield f"described: {label}.{column}: the column has no description"
    for _uid, table in sorted(manifest["sources"].items()):
        label = f"source {table['source_name']}.{table['name']}"
        description = " ".join((table.get("description") or "").split())
        if not description:
            yield f"described: {label}: the source table has no description"
        reason = str((table.get("meta") or {}).get(NO_FRESHNESS) or "").strip()
        if not _has_freshness(table) and not reason:
            yield (f"freshness: {label}: no freshness rule (warn_after or error_after, and "
                   f"loaded_at_field), and no meta {NO_FRESHNESS} saying why")
        for column, spec in sorted(table.get("columns", {}).items()):
            if not (spec.get("description") or "").strip():
                yield f"described: {label}.{column}: the column has no description"


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "dbt_project/target/manifest.json")
    if not path.is_file():
        print(f"lint_dbt: no manifest at {path}: run `dbt parse` first", file=sys.stderr)
        return 2
    findings = list(check(json.loads(path.read_text())))
    for line in findings:
        print(line)
    print(f"lint_dbt: {len(findings)} findings in {path}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
