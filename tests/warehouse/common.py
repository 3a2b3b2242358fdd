"""Glue between the truth, dbt and the comparison, shared by the warehouse test modules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import truth
from .harness import SPECS, assert_same, read_table
from .ladder import NAMES
from .landing import Lake, dt

TABLES = ("samples", *NAMES, "point_gaps", "data_quality_daily")

# Names of the dbt variables (docs/warehouse.md).
AS_OF_VAR = "as_of"


def dbt_vars(cfg: truth.Config) -> dict[str, Any]:
    out: dict[str, Any] = {"site_timezones": dict(cfg.site_timezones)}
    if cfg.default_timezone != "UTC":
        out["default_timezone"] = cfg.default_timezone
    if cfg.interval_source != "auto":
        out["interval_source"] = cfg.interval_source
    if cfg.as_of_us is not None:
        out[AS_OF_VAR] = dt(cfg.as_of_us).strftime("%Y-%m-%d %H:%M:%S+00:00")
    return out


def expected(lake: Lake, cfg: truth.Config) -> dict[str, dict[Any, dict[str, Any]]]:
    """The truth for every contract table, keyed as :func:`read_table` keys the warehouse."""
    computed = truth.warehouse(lake.rows, lake.intervals(), cfg)
    out: dict[str, dict[Any, dict[str, Any]]] = {}
    for name, rows in computed.items():
        if name == "data_quality_daily":
            out[name] = {(k[0], k[1], v["day"]): v for k, v in rows.items()}
        else:
            out[name] = dict(rows)
    return out


def read_all(path: Path, tables: Iterable[str] = TABLES) -> dict[str, dict[Any, dict[str, Any]]]:
    return {name: read_table(path, SPECS[name]) for name in tables}


def assert_tables_equal(
    expected_tables: Mapping[str, Mapping[Any, Mapping[str, Any]]],
    got_tables: Mapping[str, Mapping[Any, Mapping[str, Any]]],
    label: str,
) -> None:
    """Compare every table; one assertion listing the differences of all of them."""
    problems = []
    for name in expected_tables:
        try:
            assert_same(SPECS[name], expected_tables[name], got_tables[name], label=f"{label}: ")
        except AssertionError as exc:
            problems.append(str(exc))
    if problems:
        raise AssertionError("\n".join(problems))


@dataclass
class Built:
    warehouse: Path
    lake: Lake
    cfg: truth.Config
    truth: dict[str, dict[Any, dict[str, Any]]]
