"""Incremental semantics: landings in batches with a `dbt build` after each.

Batches: (1) the recent data and the March DST days; (2) late data for a day 60 days back and
duplicate landings (a crash re-landing a window unchanged); (3) a backfill of one point for one
local day 60 days back; (4) imports, re-reads, ties and a backfill overriding earlier rows;
(5) new realtime data with a later `as_of`, and a new metadata snapshot that changes the
chiller's collect_interval from 600 s to 300 s (the latest interval applies to its whole history:
n_expected, coverage, gap threshold, missing_expected, expected samples per day). After every
build each contract table equals the truth of everything landed so far; the last state equals a
`--full-refresh` build of the same lake into another warehouse file.

Batch 3 also shows that the backfill rewrote only that point's rows of that day: every other row
of samples, samples_5min, samples_1h, samples_1d and data_quality_daily keeps its DuckDB row id
(a rewritten row is deleted and inserted again, which gives it a new one) and its content.
point_gaps rows of other points are held to unchanged content only, open gaps being a function
of the run's time.

A DuckDB row id is a position, which a checkpoint may renumber by merging row groups after
deletes ("vacuum"), but never in a table that has an index. So before the backfill build the
test adds a plain index to each of those tables (nothing the models read or write changes);
if a table comes back without it, the model re-created the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from . import scenario
from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import SPECS, DbtFailed, build, raw_query, read_table
from .landing import Lake, PointMeta, us
from .scenario import LATE_DAY, Landing, utc
from .truth import Config

pytestmark = pytest.mark.slow

NY = "ses_falls_city"
BACKFILL_POINT = (NY, "zone1/temp")
# the local (America/New_York, EDT) day 2025-09-03
BACKFILL_START = datetime(2025, 9, 3, 4, tzinfo=UTC)
BACKFILL_END = datetime(2025, 9, 4, 4, tzinfo=UTC)
IDENTITY_TABLES = ("samples", "samples_5min", "samples_1h", "samples_1d", "data_quality_daily")


def batches() -> list[tuple[str, list[Landing], datetime, list[PointMeta]]]:
    """(label, landings, as_of, new point metadata for ses_falls_city) of each incremental run."""
    nov = scenario.nov_samples()
    late = scenario.late_samples()
    ny_window = scenario.between(nov, NY, "zone1/temp", utc(2025, 11, 4, 4), utc(2025, 11, 4, 6))
    late_part = scenario.between(late, "ktm_plant", "zone1/temp", utc(2025, 9, 3, 2),
                                 utc(2025, 9, 3, 5))
    backfill_day = [
        (NY, "zone1/temp", t, v)
        for _s, _p, t, v in scenario.simple(
            NY, "zone1/temp", BACKFILL_START, BACKFILL_END, 60,
            lambda r, t: f"{48.0 + r.uniform(-5, 5):.2f}", 123,
        )
    ]
    recent = [
        s
        for p in scenario.POINTS
        if (p.site, p.point) != ("berlin_lab", "zone1/temp")  # still silent: its gap stays open
        for s in scenario.simple(
            p.site, p.point, scenario.NOV_END, utc(2025, 11, 4, 7), p.collect_interval or 60,
            lambda r, t: f"{r.uniform(10, 30):.2f}", 77,
        )
    ]
    x = utc(2025, 11, 4)
    as_of = scenario.AS_OF
    faster_chiller = [
        replace(p, collect_interval=300) if p.point == "chiller/kw" else p
        for p in scenario.POINTS
        if p.site == NY
    ]
    return [
        ("initial", [
            Landing(scenario.mar_samples(), "realtime", utc(2025, 3, 11, 0, 5)),
            Landing(nov, "realtime", x.replace(hour=6, minute=1)),
        ], as_of, []),
        ("late and duplicates", [
            Landing(late, "realtime", x.replace(hour=6, minute=1, second=10)),
            Landing(ny_window, "realtime", x.replace(hour=6, minute=1, second=20)),  # crash re-land
            Landing(late_part, "backfill", x.replace(hour=6, minute=1, second=25)),  # identical
        ], as_of, []),
        ("backfill 60 days back", [
            Landing(backfill_day, "backfill", x.replace(hour=6, minute=1, second=40)),
        ], as_of, []),
        ("overrides", scenario.overrides(nov), as_of, []),
        ("new data, later as_of", [
            Landing(recent, "realtime", utc(2025, 11, 4, 7, 1)),
        ], utc(2025, 11, 4, 7, 2), faster_chiller),
    ]


@dataclass
class History:
    root: Path
    lake: Lake
    cfg: Config
    warehouse: Path
    steps: list[str] = field(default_factory=list)
    truth: dict[str, dict[str, Any]] = field(default_factory=dict)
    got: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: dict[str, str] = field(default_factory=dict)
    before_backfill: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    after_backfill: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=dict)
    indexed_after: dict[str, bool] = field(default_factory=dict)


def _snapshot(path: Path) -> dict[str, dict[Any, dict[str, Any]]]:
    out = {name: read_table(path, SPECS[name], with_rowid=True) for name in IDENTITY_TABLES}
    out["point_gaps"] = read_table(path, SPECS["point_gaps"])
    return out


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> History:
    root = tmp_path_factory.mktemp("incremental")
    lake = Lake(root / "lake")
    scenario.write_meta(lake)
    h = History(root, lake, scenario.config(), root / "warehouse.duckdb")
    for label, landings, as_of, meta in batches():
        h.steps.append(label)
        scenario.land_all(lake, landings)
        if meta:
            at = utc(2025, 11, 4, 7, 0, 30)
            lake.write_points(NY, meta, extracted_at=at, run_id="20251104T070030Z-meta01")
        h.cfg = replace(h.cfg, as_of_us=us(as_of))
        if label == "backfill 60 days back":
            h.before_backfill = _snapshot(h.warehouse)
            _add_identity_indexes(h.warehouse)
        try:
            build(h.warehouse, lake.root, dbt_vars(h.cfg), dbt_target)
        except DbtFailed as exc:
            h.failure[label] = str(exc)
            break
        h.truth[label] = expected(lake, h.cfg)
        h.got[label] = read_all(h.warehouse)
        if label == "backfill 60 days back":
            h.after_backfill = _snapshot(h.warehouse)
            found = raw_query(h.warehouse, "select table_name from duckdb_indexes()")
            indexes = {r[0] for r in found}
            h.indexed_after = {name: name in indexes for name in IDENTITY_TABLES}
    return h


def _add_identity_indexes(path: Path) -> None:
    """An index on each identity table keeps DuckDB from renumbering its row ids."""
    con = duckdb.connect(str(path))
    try:
        for name in IDENTITY_TABLES:
            con.execute(f'create index "wh_test_identity_{name}" on "{name}" (site)')
    finally:
        con.close()


STEPS = [label for label, *_rest in batches()]


@pytest.mark.parametrize("step", STEPS)
def test_each_incremental_run_equals_truth(history: History, step: str) -> None:
    if step in history.failure:
        pytest.fail(f"dbt build of step {step!r} failed:\n{history.failure[step]}")
    if step not in history.got:
        pytest.fail(f"not reached: an earlier build failed: {history.failure}")
    assert_tables_equal(history.truth[step], history.got[step], f"after {step!r}")


def test_incremental_equals_full_refresh(history: History, dbt_target: Path) -> None:
    last = STEPS[-1]
    if last not in history.got:
        pytest.fail(f"the incremental history did not complete: {history.failure}")
    full = history.root / "full_refresh.duckdb"
    build(full, history.lake.root, dbt_vars(history.cfg), dbt_target, full_refresh=True)
    refreshed = read_all(full)
    assert_tables_equal(history.truth[last], refreshed, "full refresh vs truth")
    assert_tables_equal(refreshed, history.got[last], "incremental vs full refresh")


def _in_backfill(table: str, key: tuple[Any, ...], row: dict[str, Any]) -> bool:
    """Whether a row may legitimately change when the backfill lands."""
    if key[:2] != BACKFILL_POINT:
        return False
    start, end = us(BACKFILL_START), us(BACKFILL_END)
    if table in ("samples", "samples_5min", "samples_1h", "samples_1d"):
        return start <= key[2] < end
    if table == "data_quality_daily":
        return key[2] == LATE_DAY
    if table == "point_gaps":
        gap_end = row["gap_end"]
        return key[2] < end and (gap_end is None or gap_end >= start)
    raise AssertionError(table)


def test_backfill_rewrites_only_its_point_and_day(history: History) -> None:
    if not history.after_backfill:
        pytest.fail(f"the backfill step did not complete: {history.failure}")
    before, after = history.before_backfill, history.after_backfill
    problems: list[str] = []
    changed_inside = 0
    for table in (*IDENTITY_TABLES, "point_gaps"):
        kinds = SPECS[table].columns
        for key, old in before[table].items():
            if _in_backfill(table, key, old):
                new = after[table].get(key)
                changed_inside += new is None or new.get("rowid") != old.get("rowid")
                continue
            new = after[table].get(key)
            if new is None:
                problems.append(f"{table} {key}: deleted")
                continue
            content = [c for c in kinds if old[c] != new[c]]
            if content:
                problems.append(f"{table} {key}: content changed in {content}")
            elif "rowid" in old and old["rowid"] != new["rowid"]:
                problems.append(f"{table} {key}: rewritten (row id {old['rowid']} -> "
                                f"{new['rowid']}) with the same content")
        for key, new in after[table].items():
            if key not in before[table] and not _in_backfill(table, key, new):
                problems.append(f"{table} {key}: new row outside the backfilled point-day")
    recreated = [name for name, indexed in history.indexed_after.items() if not indexed]
    assert not recreated, f"the backfill build re-created (rewrote whole) tables {recreated}"
    assert changed_inside > 0, "the backfill changed nothing: the test proves nothing"
    assert not problems, (
        f"{len(problems)} rows outside {BACKFILL_POINT} on {LATE_DAY} were touched:\n  "
        + "\n  ".join(problems[:20])
    )


def test_backfill_step_is_visible(history: History) -> None:
    """The backfilled day's daily row now comes from the backfill (guards the test itself)."""
    step = "backfill 60 days back"
    if step not in history.got:
        pytest.fail(f"not reached: {history.failure}")
    key = (*BACKFILL_POINT, us(BACKFILL_START))
    assert history.got[step]["samples_1d"][key]["n_total"] == 1440
    assert history.truth[step]["samples_1d"][key]["n_total"] == 1440



def test_run_landed_across_two_builds(tmp_path: Path, dbt_target: Path) -> None:
    """A build that runs while a run is still landing its files sees only some of them; the next
    build must pick up the rest, although they carry the run id (and extracted_at) of a run it
    has already seen. ("Each run processes exactly what was landed since the previous run,
    tracked by landed file or run id".)
    """
    lake = Lake(tmp_path / "lake")
    scenario.write_meta(lake)
    cfg = scenario.config()
    warehouse = tmp_path / "warehouse.duckdb"
    nov = scenario.nov_samples()
    first = [s for s in nov if s[2] < us(utc(2025, 11, 3))]
    second = [s for s in nov if s[2] >= us(utc(2025, 11, 3))]
    at = utc(2025, 11, 4, 6, 1)
    run_id = "20251104T060100Z-split0"
    lake.land(first, source="realtime", extracted_at=at, run_id=run_id, first_n=1)
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "first part of the run: ")
    lake.land(second, source="realtime", extracted_at=at, run_id=run_id, first_n=1000)
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "whole run, two builds: ")
