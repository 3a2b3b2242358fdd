"""One definition per contract: the lake's columns and the winner rule live in
``extract/core/schema.py``; every other statement of them is checked against it here, so a
change in one place that is not made everywhere fails (docs/architecture.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from extract.core import schema
from extract.warehouse import tiers
from tests.warehouse import landing as test_landing

REPO = Path(__file__).resolve().parent.parent
SOURCES_YAML = REPO / "dbt_project" / "models" / "staging" / "ace" / "_ace__sources.yml"
MACROS = REPO / "dbt_project" / "macros"
SQL_TYPE = {pa.string(): "varchar", pa.float64(): "double", pa.int64(): "bigint",
            pa.bool_(): "boolean", schema.TS: "timestamp with time zone"}
#: dbt source table -> the schema of its files
SOURCE_SCHEMAS = {"raw_samples": schema.RAW_SCHEMA, "quarantine": schema.QUARANTINE_SCHEMA,
                  "meta_sites": schema.SITE_SCHEMA, "meta_points": schema.POINT_SCHEMA}


def _columns(s: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name, SQL_TYPE[f.type]) for f in s]


def _source_tables() -> dict[str, list[tuple[str, str]]]:
    doc = yaml.safe_load(SOURCES_YAML.read_text())
    (src,) = [s for s in doc["sources"] if s["name"] == "ace"]
    return {t["name"]: [(c["name"], c.get("data_type")) for c in t.get("columns", [])]
            for t in src["tables"]}


@pytest.mark.parametrize("table", sorted(SOURCE_SCHEMAS))
def test_dbt_sources_declare_the_lake_columns(table: str) -> None:
    assert _source_tables()[table] == _columns(SOURCE_SCHEMAS[table])


def _macro(file: str, name: str) -> str:
    text = (MACROS / file).read_text()
    m = re.search(r"\{%-?\s*macro\s+" + name + r"\(.*?\)\s*-?%\}(.*?)\{%-?\s*endmacro",
                  text, re.S)
    assert m, f"macro {name} not found in {file}"
    return re.sub(r"\{#.*?#\}", "", m.group(1), flags=re.S)


def _casts(sql: str) -> list[tuple[str, str]]:
    """(alias, type) of every ``cast(x as type) as alias`` in order."""
    sql = re.sub(r"--[^\n]*", "", sql)
    # a type is spelled out, or named through ace_type('<type>') (macros/engine.sql); a
    # column is a name or {{ adapter.quote('<name>') }}
    found = re.findall(
        r"cast\(\s*(?:[\w\"]+|\{\{\s*adapter\.quote\('\w+'\)\s*\}\})\s+as\s+"
        r"(?:\{\{\s*ace_type\('([a-z ]+?)'\)\s*\}\}|([a-z ]+?))\s*\)\s+as\s+(\w+)", sql)
    return [(alias, " ".join((named or spelled).split())) for named, spelled, alias in found]


def test_staging_columns_are_the_raw_schema() -> None:
    cols = _casts(_macro("staging.sql", "ace_raw_samples_columns"))
    assert cols[: len(schema.RAW_SCHEMA)] == _columns(schema.RAW_SCHEMA)
    # what staging adds, and nothing else
    assert [c for c, _ in cols[len(schema.RAW_SCHEMA):]] == ["source_file", "partition_date"]


def test_empty_cold_view_has_the_raw_columns() -> None:
    create = _macro("tiers.sql", "ace_create_cold_tables")
    assert "cold_samples as\n        {{ ace_empty_cold_samples() }}" in create
    body = _macro("tiers.sql", "ace_empty_cold_samples")
    view = body[: body.index("where false")]
    casts = re.findall(r"cast\(null as ([a-z ]+?)\) as (\w+)", view)
    assert [(a, " ".join(t.split())) for t, a in casts] == _columns(schema.RAW_SCHEMA)


def test_cold_tier_columns_come_from_the_schema() -> None:
    assert tiers.COLUMNS.split(", ") == schema.RAW_SCHEMA.names
    assert tiers.FILE_COLUMNS.split(", ") == [n for n in schema.RAW_SCHEMA.names if n != "site"]
    assert "site" in tiers.cold_view_sql(["x.parquet"])


def _normal(sql: str) -> str:
    return " ".join(sql.replace(",", " , ").split()).lower()


def test_winner_rule_is_the_same_in_sql_and_python() -> None:
    assert _normal(_macro("tiers.sql", "ace_winner_order")) == _normal(schema.WINNER_ORDER)


def test_the_test_suites_own_landing_writer_uses_the_same_schema() -> None:
    """tests/warehouse/landing.py writes lakes for the truth tests without the extractor;
    its files must be the extractor's."""
    assert test_landing.RAW_SCHEMA == schema.RAW_SCHEMA
    assert test_landing.QUARANTINE_SCHEMA == schema.QUARANTINE_SCHEMA


def test_the_checks_see_a_drift(tmp_path: Path) -> None:
    """The column reader finds a changed type or a missing column (it is not vacuous)."""
    sql = ("cast(site as varchar) as site,\n -- x\n cast(ts as timestamp) as ts,\n"
           " cast({{ adapter.quote('date') }} as {{ ace_type('date') }}) as d")
    assert _casts(sql) == [("site", "varchar"), ("ts", "timestamp"), ("d", "date")]
    assert _casts(sql) != _columns(schema.RAW_SCHEMA)[:2]
