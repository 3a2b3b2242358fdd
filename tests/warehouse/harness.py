"""Run dbt against a test lake and read the warehouse back for comparison with the truth.

dbt runs in-process through ``dbtRunner`` (one invocation at a time, never concurrently), from
the repository root with ``--project-dir dbt_project --profiles-dir .``; ``WAREHOUSE_PATH`` and
``LAKE_DIR`` are set for the invocation only. Each invocation gets ``--target-path`` and
``--log-path`` in the test's temporary directory so that nothing under ``dbt_project/`` is
touched. :func:`build_subprocess` runs ``.venv/bin/dbt`` instead, for the kill test.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .ladder import LADDER

REPO = Path(__file__).resolve().parents[2]
DBT_BIN = Path(sys.executable).with_name("dbt")

# Contract tables and the columns the tests hold them to. Kinds:
#   ts       a time; TIMESTAMPTZ (or TIMESTAMP, read as UTC), compared as epoch microseconds
#   date     a DATE
#   int      an integer count, compared exactly
#   float    a double, compared with REL_TOL / ABS_TOL
#   seconds  a length of time: INTERVAL or a number of seconds, compared as float seconds
#   str, bool
#   json     a JSON text: JSON (DuckDB) or VARCHAR (Spark's string), compared as text
REL_TOL = 1e-9
ABS_TOL = 1e-9


@dataclass(frozen=True)
class Spec:
    table: str
    key: tuple[str, ...]
    columns: Mapping[str, str]  # warehouse column -> kind


AGG_COLUMNS = {
    "n": "int",
    "n_total": "int",
    "sum": "float",
    "avg": "float",
    "min": "float",
    "max": "float",
    "first_value": "float",
    "last_value": "float",
    "first_ts": "ts",
    "last_ts": "ts",
    "stddev": "float",
    "n_expected": "float",
    "coverage": "float",
    "tw_avg": "float",
    "known_seconds": "float",
    "on_seconds": "float",
    "starts": "int",
}

SPECS: dict[str, Spec] = {
    "samples": Spec(
        "samples",
        ("site", "point", "ts"),
        {
            "value": "float",
            "value_raw": "str",
            "source": "str",
            "extracted_at": "ts",
            "run_id": "str",
        },
    ),
    **{
        grain.name: Spec(
            grain.name,
            ("site", "point", "bucket_start"),
            {**AGG_COLUMNS, "day": "date"} if grain.is_local_day else AGG_COLUMNS,
        )
        for grain in LADDER
    },
    "point_gaps": Spec(
        "point_gaps",
        ("site", "point", "gap_start"),
        {"gap_end": "ts", "duration": "seconds", "missing_expected": "float", "is_open": "bool",
         "duration_s": "float"},
    ),
    "data_quality_daily": Spec(
        "data_quality_daily",
        ("site", "point", "day"),
        {
            "bucket_start": "ts",
            "expected": "float",
            "actual": "int",
            "numeric": "int",
            "non_numeric": "int",
            "missing": "float",
            "landed": "int",
            "duplicate_landings": "int",
            "coverage": "float",
            "quality_score": "float",
            "is_complete": "bool",
            "expected_configured": "float", "expected_observed": "float",
        },
    ),
}
KEY_KINDS = {"site": "str", "point": "str", "ts": "ts", "bucket_start": "ts", "gap_start": "ts"}
KEY_KINDS["day"] = "date"
KEY_KINDS["file_path"] = "str"  # the file registry (tests/warehouse/test_spark.py)


# -- running dbt ---------------------------------------------------------------------------


class DbtFailed(AssertionError):
    pass


def _env(warehouse: Path, lake: Path) -> dict[str, str]:
    return {
        "WAREHOUSE_PATH": str(warehouse),
        "LAKE_DIR": str(lake),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def _args(
    command: str,
    vars: Mapping[str, Any],
    target_path: Path,
    full_refresh: bool,
    extra: Sequence[str],
    unit_tests: bool = False,
) -> list[str]:
    args = [
        command,
        "--project-dir",
        "dbt_project",
        "--profiles-dir",
        ".",
        "--vars",
        json.dumps(vars, sort_keys=True),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
    ]
    if full_refresh:
        args.append("--full-refresh")
    if command == "build" and not unit_tests:
        # dbt's YAML unit tests do not read the lake: one build of the suite runs them, the
        # others skip them (they are most of a build's time). Data tests always run.
        args += ["--exclude-resource-type", "unit_test"]
    return args + list(extra)


def release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation.

    Without this the warehouse file stays open with dbt's configuration and a read-only
    connection from the test is refused.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager

    with manager._LOCK:
        env = manager._ENV
        if env is not None:
            env.close()
            manager._ENV = None


def build(
    warehouse: Path,
    lake: Path,
    vars: Mapping[str, Any],
    target_path: Path,
    *,
    full_refresh: bool = False,
    extra: Sequence[str] = (),
    command: str = "build",
    unit_tests: bool = False,
) -> list[str]:
    """``dbt build`` in-process; raises :class:`DbtFailed` with dbt's errors when it fails.

    Returns the warnings dbt logged (e.g. warn-severity data tests), for diagnostics.
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.base_types import EventLevel

    messages: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level in (EventLevel.WARN, EventLevel.ERROR):
            messages.append(f"{event.info.level}: {event.info.msg}")

    args = _args(command, vars, target_path, full_refresh, extra, unit_tests)
    args += ["--log-level-file", "none"]
    with pytest.MonkeyPatch.context() as mp:
        for name, value in _env(warehouse, lake).items():
            mp.setenv(name, value)
        mp.chdir(REPO)
        try:
            result = dbtRunner(callbacks=[collect]).invoke(args)
        finally:
            release_duckdb()
    if not result.success:
        details = [f"dbt {command} failed (exception: {result.exception!r})"]
        run = result.result
        for node in getattr(run, "results", None) or []:
            status = str(getattr(node, "status", ""))
            if status not in ("success", "pass"):
                details.append(f"  {node.node.unique_id}: {status}: {node.message}")
        details += messages[-30:]
        raise DbtFailed("\n".join(details))
    return messages


def build_subprocess(
    warehouse: Path,
    lake: Path,
    vars: Mapping[str, Any],
    target_path: Path,
    *,
    full_refresh: bool = False,
) -> subprocess.Popen[str]:
    """Start ``.venv/bin/dbt build`` as a child process whose stdout the caller reads."""
    env = {**os.environ, **_env(warehouse, lake), "PYTHONUNBUFFERED": "1"}
    env.pop("PYTEST_CURRENT_TEST", None)
    args = [str(DBT_BIN), *_args("build", vars, target_path, full_refresh, ())]
    args += ["--no-use-colors", "--log-level-file", "none"]
    return subprocess.Popen(
        args,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )


# -- reading the warehouse -----------------------------------------------------------------


def _locate(con: duckdb.DuckDBPyConnection, table: str) -> str:
    found = con.execute(
        "select table_schema from information_schema.tables where table_name = ?", [table]
    ).fetchall()
    if len(found) != 1:
        raise AssertionError(f"expected exactly one relation named {table}, found {found}")
    return f'"{found[0][0]}"."{table}"'


def _select_expr(column: str, duck_type: str) -> str:
    quoted = f'"{column}"'
    if duck_type.startswith("TIMESTAMP"):
        return f"epoch_us({quoted})"
    if duck_type == "INTERVAL":
        return f"epoch({quoted})"
    if duck_type.startswith("DECIMAL"):
        return f"{quoted}::double"
    return quoted


def column_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rel = _locate(con, table)
    return {r[0]: r[1] for r in con.execute(f"describe {rel}").fetchall()}


def read_table(
    path: Path, spec: Spec, *, with_rowid: bool = False
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows of a contract table keyed by its key, times as epoch microseconds."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rel = _locate(con, spec.table)
        types = column_types(con, spec.table)
        wanted = list(spec.key) + list(spec.columns)
        missing = [c for c in wanted if c not in types]
        if missing:
            raise AssertionError(f"{spec.table} lacks contract columns {missing}: has {types}")
        for col, kind in {**{k: KEY_KINDS[k] for k in spec.key}, **spec.columns}.items():
            _check_type(spec.table, col, kind, types[col])
        exprs = [_select_expr(c, types[c]) for c in wanted]
        if with_rowid:
            exprs.append("rowid")
        rows = con.execute(f"select {', '.join(exprs)} from {rel}").fetchall()
    finally:
        con.close()
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    nkey = len(spec.key)
    dupes = []
    for row in rows:
        key = tuple(row[:nkey])
        names = list(spec.columns) + (["rowid"] if with_rowid else [])
        values = dict(zip(names, row[nkey:], strict=True))
        if key in out:
            dupes.append(key)
        out[key] = values
    if dupes:
        raise AssertionError(f"{spec.table}: {len(dupes)} duplicate keys, e.g. {dupes[:3]}")
    return out


def _check_type(table: str, col: str, kind: str, duck_type: str) -> None:
    ok = {
        "ts": duck_type.startswith("TIMESTAMP"),
        "date": duck_type == "DATE",
        "int": duck_type
        in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UBIGINT", "UINTEGER"),
        "float": duck_type in ("DOUBLE", "FLOAT") or duck_type.startswith("DECIMAL"),
        "seconds": duck_type == "INTERVAL" or duck_type in ("DOUBLE", "BIGINT", "INTEGER"),
        "str": duck_type == "VARCHAR",
        "json": duck_type in ("JSON", "VARCHAR"),
        "bool": duck_type == "BOOLEAN",
    }[kind]
    if not ok:
        raise AssertionError(f"{table}.{col} has type {duck_type}, expected a {kind}")


def raw_query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# -- comparing -----------------------------------------------------------------------------


def close(expected: float | None, got: Any) -> bool:
    if expected is None or got is None:
        return expected is None and got is None
    got = float(got)
    if not math.isfinite(got):
        return False
    return abs(expected - got) <= max(REL_TOL * max(abs(expected), abs(got)), ABS_TOL)


def same(kind: str, expected: Any, got: Any) -> bool:
    if kind in ("float", "seconds"):
        return close(expected, got)
    if kind == "int":
        return expected == got and (got is None or float(got).is_integer())
    if kind == "date":
        return expected == got and (got is None or isinstance(got, date))
    return bool(expected == got)


def fmt_key(spec: Spec, key: tuple[Any, ...]) -> str:
    from .landing import dt

    parts = []
    for name, value in zip(spec.key, key, strict=True):
        if KEY_KINDS[name] == "ts" and isinstance(value, int):
            parts.append(f"{name}={dt(value).isoformat()}")
        else:
            parts.append(f"{name}={value!r}")
    return "(" + ", ".join(parts) + ")"


def fmt_value(kind: str, value: Any) -> str:
    from .landing import dt

    if kind == "ts" and isinstance(value, int):
        return dt(value).isoformat()
    return repr(value)


def diff(
    spec: Spec,
    expected: Mapping[tuple[Any, ...], Mapping[str, Any]],
    got: Mapping[tuple[Any, ...], Mapping[str, Any]],
    columns: Sequence[str] | None = None,
) -> list[str]:
    """Human-readable differences between the truth and the warehouse for one table."""
    cols = list(columns if columns is not None else spec.columns)
    out = []
    for key in sorted(set(expected) - set(got), key=repr):
        out.append(f"{spec.table} missing row {fmt_key(spec, key)}: expected {expected[key]}")
    for key in sorted(set(got) - set(expected), key=repr):
        out.append(f"{spec.table} unexpected row {fmt_key(spec, key)}: got {dict(got[key])}")
    for key in sorted(set(expected) & set(got), key=repr):
        e, g = expected[key], got[key]
        bad = [c for c in cols if not same(spec.columns[c], e[c], g[c])]
        if bad:
            detail = ", ".join(
                f"{c}: expected {fmt_value(spec.columns[c], e[c])} got "
                f"{fmt_value(spec.columns[c], g[c])}"
                for c in bad
            )
            out.append(f"{spec.table} {fmt_key(spec, key)}: {detail}")
    return out


def assert_same(
    spec: Spec,
    expected: Mapping[tuple[Any, ...], Mapping[str, Any]],
    got: Mapping[tuple[Any, ...], Mapping[str, Any]],
    label: str = "",
    columns: Sequence[str] | None = None,
) -> None:
    problems = diff(spec, expected, got, columns)
    if problems:
        head = "\n  ".join(problems[:15])
        raise AssertionError(
            f"{label}{spec.table}: {len(problems)} differences (of {len(expected)} expected rows,"
            f" {len(got)} rows in the warehouse):\n  {head}"
        )
