"""Incremental semantics: landings in batches with a `dbt build` after each.

Batches: (1) the recent data and the March DST days; (2) late data for a day 60 days back and
duplicate landings (a crash re-landing a window unchanged); (3) a backfill of one point for one
local day 60 days back; (3b) nothing new; (4) imports, re-reads, ties and a backfill overriding
earlier rows; (5) new realtime data with a later `as_of`, a new site, and a new metadata
snapshot that changes the chiller's collect_interval from 600 s to 300 s (the latest interval
applies to its whole history: n_expected, coverage, gap threshold, missing_expected). After
every build each contract table equals the truth of everything landed so far; the last state
equals a `--full-refresh` build of the same lake into another warehouse file.

Row identity: batch 3 rewrites only that point's rows of that day (for the aggregates, the
buckets within one gap threshold of it, whose time-weighted columns its samples' holdings can
change), and run 3b rewrites nothing.
Every other row of samples, the aggregate ladder's tables and data_quality_daily keeps
its DuckDB row id (a rewritten row is deleted and inserted again, which gives it a new one) and
its content. point_gaps rows are held to unchanged content only, and open gaps may change in
any run, being a function of the run's time.

A DuckDB row id is a position, which a checkpoint may renumber by merging row groups after
deletes ("vacuum"), but never in a table that has an index. So before the backfill build the
test adds a plain index to each of those tables (nothing the models read or write changes);
if a table comes back without it, the model re-created the whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from . import scenario
from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import SPECS, DbtFailed, build, fmt_key, raw_query, read_table
from .ladder import LADDER, NAMES
from .landing import US, Lake, PointMeta, us
from .scenario import LATE_DAY, Landing, utc
from .truth import Config, gap_threshold_us

pytestmark = pytest.mark.slow

NY = "ses_falls_city"
BACKFILL_POINT = (NY, "zone1/temp")
# the local (America/New_York, EDT) day 2025-09-03
BACKFILL_START = datetime(2025, 9, 3, 4, tzinfo=UTC)
BACKFILL_END = datetime(2025, 9, 4, 4, tzinfo=UTC)
BACKFILL = "backfill 60 days back"
NOOP = "no new files"
IDENTITY_TABLES = ("samples", *NAMES, "data_quality_daily")


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
    new_site = scenario.simple(
        "new_site", "zone1/temp", scenario.NOV_END, utc(2025, 11, 4, 7), 60,
        lambda r, t: f"{r.uniform(15, 25):.2f}", 78,
    )
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
        (BACKFILL, [
            Landing(backfill_day, "backfill", x.replace(hour=6, minute=1, second=40)),
        ], as_of, []),
        (NOOP, [], as_of, []),
        ("overrides", scenario.overrides(nov), as_of, []),
        ("new data, later as_of", [
            Landing(recent, "realtime", utc(2025, 11, 4, 7, 1)),
            Landing(new_site, "realtime", utc(2025, 11, 4, 7, 1, 5)),
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
    # for the backfill and the no-op step: table -> key -> row (with rowid), and whether each
    # identity table still has the test's index after the build
    before: dict[str, dict[str, dict[Any, dict[str, Any]]]] = field(default_factory=dict)
    after: dict[str, dict[str, dict[Any, dict[str, Any]]]] = field(default_factory=dict)
    indexed_after: dict[str, dict[str, bool]] = field(default_factory=dict)


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
    runs = batches()
    assert [label for label, *_rest in runs] == STEPS
    for label, landings, as_of, meta in runs:
        h.steps.append(label)
        scenario.land_all(lake, landings)
        if meta:
            at = utc(2025, 11, 4, 7, 0, 30)
            lake.write_points(NY, meta, extracted_at=at, run_id="20251104T070030Z-meta01")
            lake.write_sites((*scenario.SITES, "new_site"), extracted_at=at,
                             run_id="20251104T070030Z-meta01")
            lake.write_points("new_site", [PointMeta("new_site", "zone1/temp", 60)],
                              extracted_at=at, run_id="20251104T070030Z-meta01")
        h.cfg = replace(h.cfg, as_of_us=us(as_of))
        if label == BACKFILL:
            _add_identity_indexes(h.warehouse)
        if label in (BACKFILL, NOOP):
            h.before[label] = _snapshot(h.warehouse)
        try:
            build(h.warehouse, lake.root, dbt_vars(h.cfg), dbt_target)
        except DbtFailed as exc:
            h.failure[label] = str(exc)
            break
        h.truth[label] = expected(lake, h.cfg)
        h.got[label] = read_all(h.warehouse)
        if label in (BACKFILL, NOOP):
            h.after[label] = _snapshot(h.warehouse)
            found = raw_query(h.warehouse, "select table_name from duckdb_indexes()")
            indexes = {r[0] for r in found}
            h.indexed_after[label] = {name: name in indexes for name in IDENTITY_TABLES}
    return h


def _add_identity_indexes(path: Path) -> None:
    """An index on each identity table keeps DuckDB from renumbering its row ids."""
    con = duckdb.connect(str(path))
    try:
        for name in IDENTITY_TABLES:
            con.execute(f'create index "wh_test_identity_{name}" on "{name}" (site)')
    finally:
        con.close()


STEPS = ["initial", "late and duplicates", BACKFILL, NOOP, "overrides", "new data, later as_of"]


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
    if table == "samples":
        return start <= key[2] < end
    if table in NAMES:
        # a bucket overlapping [start - threshold, end + threshold] (the point is 60 s: 300 s)
        threshold = gap_threshold_us(Config(), 60)
        width = {g.name: g.seconds for g in LADDER}[table] * US
        if table == "samples_1d":
            width += 3600 * US  # a 25-hour day
        return start - threshold - width < key[2] < end + threshold
    if table == "data_quality_daily":
        return key[2] == LATE_DAY
    if table == "point_gaps":
        gap_end = row["gap_end"]
        return key[2] < end and (gap_end is None or gap_end >= start)
    raise AssertionError(table)


def _touched(
    history: History, step: str, allowed: Callable[[str, tuple[Any, ...], dict[str, Any]], bool]
) -> tuple[list[str], int]:
    """Rows outside `allowed` that the step deleted, changed, rewrote or added; and how many
    allowed rows it rewrote or changed."""
    if step not in history.after:
        pytest.fail(f"step {step!r} did not complete: {history.failure}")
    recreated = [name for name, ok in history.indexed_after[step].items() if not ok]
    assert not recreated, f"the {step!r} build re-created (rewrote whole) tables {recreated}"
    before, after = history.before[step], history.after[step]
    problems: list[str] = []
    inside = 0
    for table in (*IDENTITY_TABLES, "point_gaps"):
        kinds = SPECS[table].columns
        for key, old in before[table].items():
            new = after[table].get(key)
            if allowed(table, key, old):
                inside += new is None or new != old
                continue
            if new is None:
                problems.append(f"{table} {fmt_key(SPECS[table], key)}: deleted")
                continue
            content = [c for c in kinds if old[c] != new[c]]
            if content:
                where = fmt_key(SPECS[table], key)
                problems.append(f"{table} {where}: content changed in {content}")
            elif "rowid" in old and old["rowid"] != new["rowid"]:
                problems.append(f"{table} {fmt_key(SPECS[table], key)}: rewritten (row id "
                                f"{old['rowid']} -> {new['rowid']}) with the same content")
        for key, new in after[table].items():
            if key not in before[table] and not allowed(table, key, new):
                problems.append(f"{table} {fmt_key(SPECS[table], key)}: new row")
    return problems, inside


def test_backfill_rewrites_only_its_point_and_day(history: History) -> None:
    problems, inside = _touched(history, BACKFILL, _in_backfill)
    assert inside > 0, "the backfill changed nothing: the test proves nothing"
    assert not problems, (
        f"{len(problems)} rows outside {BACKFILL_POINT} on {LATE_DAY} were touched:\n  "
        + "\n  ".join(problems[:20])
    )


def test_run_without_new_files_rewrites_nothing(history: History) -> None:
    """Open gaps are a function of the run's time, so only they may be recomputed."""

    def open_gap(table: str, key: tuple[Any, ...], row: dict[str, Any]) -> bool:
        return table == "point_gaps" and row["is_open"] is True

    problems, _inside = _touched(history, NOOP, open_gap)
    assert not problems, (
        f"{len(problems)} rows touched by a run with nothing new:\n  " + "\n  ".join(problems[:20])
    )


def test_backfill_step_is_visible(history: History) -> None:
    """The backfilled day's daily row now comes from the backfill (guards the test itself)."""
    step = BACKFILL
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
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "first part of the run")
    lake.land(second, source="realtime", extracted_at=at, run_id=run_id, first_n=1000)
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "whole run, two builds")


def test_first_build_on_an_empty_lake(tmp_path: Path, dbt_target: Path) -> None:
    """No raw file, no metadata, no quarantine yet (docs/warehouse.md: the first build may run
    on an empty lake): the build succeeds with empty tables, and the next one, after the first
    sync landed metadata and samples, equals the truth."""
    lake = Lake(tmp_path / "lake")
    lake.root.mkdir()
    cfg = scenario.config()
    warehouse = tmp_path / "warehouse.duckdb"
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "empty lake")
    scenario.write_meta(lake)
    scenario.land_all(lake, scenario.reference_landings()[1:2])
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    assert_tables_equal(expected(lake, cfg), read_all(warehouse), "first samples")


def test_changed_site_timezones_never_leave_stale_days(tmp_path: Path, dbt_target: Path) -> None:
    """A run whose site_timezones differ from the previous run's either refuses to run (asking
    for a --full-refresh) or produces the truth under the new zones; never stale local days.
    A --full-refresh then gives the truth."""
    lake = Lake(tmp_path / "lake")
    scenario.write_meta(lake)
    scenario.land_all(lake, scenario.reference_landings()[1:2])
    warehouse = tmp_path / "warehouse.duckdb"
    before = scenario.config()
    build(warehouse, lake.root, dbt_vars(before), dbt_target)
    zones = {**before.site_timezones, "berlin_lab": "Europe/Berlin", "blr_office": "Asia/Dubai"}
    after = replace(before, site_timezones=zones)
    truth_after = expected(lake, after)
    try:
        build(warehouse, lake.root, dbt_vars(after), dbt_target)
    except DbtFailed as exc:
        assert "full-refresh" in str(exc), f"the run failed without saying what to do: {exc}"
    else:
        assert_tables_equal(truth_after, read_all(warehouse), "incremental run with new zones")
    build(warehouse, lake.root, dbt_vars(after), dbt_target, full_refresh=True)
    assert_tables_equal(truth_after, read_all(warehouse), "full refresh with new zones")


def test_point_gaps_built_before_duration_s_asks_for_a_rebuild(
    tmp_path: Path, dbt_target: Path
) -> None:
    """A warehouse whose point_gaps predates duration_s (no such column, settings recorded
    without the columns version) stops with the rebuild command, which then gives the
    truth, duration_s included."""
    lake = Lake(tmp_path / "lake")
    scenario.write_meta(lake)
    scenario.land_all(lake, scenario.reference_landings()[1:2])
    warehouse = tmp_path / "warehouse.duckdb"
    cfg = scenario.config()
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    con = duckdb.connect(str(warehouse))
    try:  # what an earlier build left: the table without the column, the old settings
        (schema,) = con.execute(
            "select table_schema from information_schema.tables where table_name = 'point_gaps'"
        ).fetchone() or ("main",)
        con.execute(f"alter table {schema}.point_gaps drop column duration_s")
        con.execute(
            f"update {schema}.model_progress set settings = json_object("
            "'default_collect_interval', 60, 'gap_k', 3, 'gap_threshold_seconds', 300)::varchar"
            " where model = 'point_gaps'"
        )
    finally:
        con.close()
    with pytest.raises(DbtFailed, match=r"--full-refresh --select point_gaps\+"):
        build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target, full_refresh=True,
          extra=["--select", "point_gaps+"])
    truth = expected(lake, cfg)["point_gaps"]
    got = read_table(warehouse, SPECS["point_gaps"])
    assert_tables_equal({"point_gaps": truth}, {"point_gaps": got}, "rebuilt point_gaps")
    assert all(row["duration_s"] > 0 for row in got.values())
