"""Raw retention (docs/operations.md, "Raw retention"; extract/warehouse/retention.py).

A lake with duplicates, an import, a late file for an old date and a quarantine file is
built and moved to the cold tier, then pruned: a dry run deletes nothing; a prune killed
after recording its plan, and one killed in the middle of deleting, are recovered by the
next; the late file (a sample not yet in the cold tier) and the quarantine file are kept.
After every step the warehouse, built incrementally and with ``--full-refresh``, equals the
independent truth computed from everything ever landed (tests/warehouse/truth.py), and
``points`` keeps its landed counts.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from extract.core.config import Settings
from extract.core.errors import ConfigError
from extract.warehouse import prunelog
from extract.warehouse.lakecheck import check_lake
from extract.warehouse.retention import SimulatedCrash, prune_raw
from extract.warehouse.tiers import move_to_cold
from tests.warehouse import truth
from tests.warehouse.common import assert_tables_equal, dbt_vars, expected, read_all
from tests.warehouse.harness import (
    SPECS,
    DbtFailed,
    Spec,
    assert_same,
    build,
    raw_query,
    read_table,
)
from tests.warehouse.ladder import NAMES
from tests.warehouse.landing import US, Lake, PointMeta, us

pytestmark = pytest.mark.slow

TIMESERIES = Spec("timeseries", SPECS["samples"].key, SPECS["samples"].columns)
AGGREGATES = (*NAMES, "point_gaps", "data_quality_daily")
POINTS = [("north", "ahu/temp"), ("north", "fan/status"), ("south", "chw/temp")]
START = datetime(2025, 9, 20, tzinfo=UTC)
AS_OF = datetime(2025, 11, 20, tzinfo=UTC)
STEP = 600  # seconds between samples
POINTS_SQL = "select site, point, n_landed, epoch_us(first_sample_ts), epoch_us(last_sample_ts) " \
             "from points order by all"


def _samples(start: datetime, end: datetime, seed: int, points=POINTS) -> list[tuple]:
    rng = random.Random(seed)
    out = []
    for site, point in points:
        t = us(start)
        while t < us(end):
            if rng.random() < 0.97:
                value = rng.choice([f"{rng.uniform(10, 30):.2f}"] * 20 + ["NaN", None])
                out.append((site, point, t, value))
            t += STEP * US
    return out


def _check(wh: Path, lake: Lake, cfg: truth.Config, label: str) -> None:
    want = expected(lake, cfg)
    assert_same(TIMESERIES, want["samples"], read_table(wh, TIMESERIES), label=f"{label}: ")
    assert_tables_equal({k: want[k] for k in AGGREGATES}, read_all(wh, AGGREGATES), label)


def _points_truth(lake: Lake) -> list[tuple[Any, ...]]:
    """points' landed counts and first/last sample times from every row ever landed."""
    per: dict[tuple[str, str], list[int]] = {}
    for r in lake.rows:
        per.setdefault((r.site, r.point), []).append(r.ts)
    return sorted((s, p, len(t), min(t), max(t)) for (s, p), t in per.items())


def _raw_files(lake: Lake) -> set[Path]:
    return set((lake.root / "raw").rglob("*.parquet"))


@pytest.fixture
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt_target_retention")


def test_prune_keeps_the_warehouse_equal_to_the_truth(tmp_path: Path, dbt_target: Path) -> None:
    lake = Lake(tmp_path / "lake")
    wh = tmp_path / "warehouse.duckdb"
    cfg = truth.Config(as_of_us=us(AS_OF))
    dvars = dbt_vars(cfg)
    for site in ("north", "south"):
        pts = [PointMeta(s, p, STEP) for s, p in POINTS if s == site]
        lake.write_points(site, pts, extracted_at=START, run_id="20250920T000000Z-meta01")

    def run_build(full_refresh: bool = False) -> None:
        build(wh, lake.root, dvars, dbt_target, full_refresh=full_refresh)

    def check_both(label: str) -> None:
        """Incremental, then --full-refresh: both equal the truth of everything landed."""
        run_build()
        _check(wh, lake, cfg, f"{label}, incremental")
        assert raw_query(wh, POINTS_SQL) == _points_truth(lake), label
        run_build(full_refresh=True)
        _check(wh, lake, cfg, f"{label}, after --full-refresh")
        assert raw_query(wh, POINTS_SQL) == _points_truth(lake), f"{label}, full refresh"

    # history with duplicates: a re-landed window (later extracted_at wins), an import over
    # realtime (wins), a late realtime copy of imported keys (loses)
    now1 = datetime(2025, 11, 14, 0, 10, tzinfo=UTC)
    lake.land(_samples(START, now1, 1), source="realtime", extracted_at=now1)
    oct2 = datetime(2025, 10, 2, tzinfo=UTC)
    relanded = _samples(oct2, oct2 + timedelta(hours=8), 2)
    lake.land(relanded, source="realtime", extracted_at=now1 + timedelta(minutes=1))
    sep28 = datetime(2025, 9, 28, tzinfo=UTC)
    imported = [(s, p, t, "-7.25") for s, p, t, _ in
                _samples(sep28, sep28 + timedelta(hours=12), 3, POINTS[2:])]
    lake.land(imported, source="import", extracted_at=now1 + timedelta(minutes=2))
    lake.land([(s, p, t, "1.0") for s, p, t, _ in imported[:20]], source="realtime",
              extracted_at=now1 + timedelta(minutes=3))
    lake.quarantine([("north", "ahu/temp", "garbage", "1", "unparseable time")],
                    source="realtime", extracted_at=oct2, run_id="20251002T000000Z-q00001")
    quarantine_files = set((lake.root / "quarantine").rglob("*.parquet"))
    run_build()
    points_before = raw_query(wh, POINTS_SQL)
    assert points_before == _points_truth(lake)
    res = move_to_cold(wh, lake.root, 20, now1)
    assert res.cold_until == datetime(2025, 10, 25, tzinfo=UTC)

    # a late file for an old date, landed after the move: its samples are only hot
    now2 = now1 + timedelta(hours=2)
    oct10 = datetime(2025, 10, 10, tzinfo=UTC)
    late = [(s, p, t, "55.5") for s, p, t, _ in _samples(oct10, oct10 + timedelta(hours=3), 4,
                                                          POINTS[:1])]
    late.append(("north", "ahu/temp", us(oct10) + 7 * US, "5.0"))  # a key never landed before
    late_run = lake.land(late, source="backfill", extracted_at=now2)
    (late_file,) = [p for p in _raw_files(lake) if p.name.startswith(late_run)]
    lake.land(_samples(now1, now2, 6), source="realtime", extracted_at=now2)  # the sync goes on
    run_build()
    _check(wh, lake, cfg, "before pruning")

    # a dry run: reports what it would delete, deletes and records nothing
    before = _raw_files(lake)
    dry = prune_raw(wh, lake.root, 25, now=now2, dry_run=True)
    assert dry.deleted and dry.cutoff == datetime(2025, 10, 20, tzinfo=UTC).date()
    assert _raw_files(lake) == before
    assert not prunelog.journal_dir(lake.root).exists()
    assert raw_query(wh, "select count(*) from information_schema.tables "
                         "where table_name = 'raw_pruned'") == [(0,)]
    would = {Path(f["path"]) for f in dry.deleted}
    assert late_file not in would and str(late_file) in dry.kept
    assert all(f["date"] < "2025-10-20" for f in dry.deleted)

    # killed after recording its plan: nothing deleted; the next prune judges them again
    with pytest.raises(SimulatedCrash):
        prune_raw(wh, lake.root, 25, now=now2, crash_at="after_plan")
    assert _raw_files(lake) == before
    assert raw_query(wh, "select count(*) from raw_pruned where deleted_at is null")[0][0] > 0
    check_both("after a prune killed before deleting")

    # killed after deleting one file: a rebuild counts it once (from the record)
    with pytest.raises(SimulatedCrash):
        prune_raw(wh, lake.root, 25, now=now2, crash_at="mid_delete")
    gone = before - _raw_files(lake)
    assert len(gone) == 1
    check_both("after a prune killed mid-way")

    # the next prune confirms the deleted file and deletes the rest
    res_p = prune_raw(wh, lake.root, 25, now=now2)
    assert res_p.recovered == 1
    remaining = _raw_files(lake)
    assert {Path(f["path"]) for f in res_p.deleted} | gone == would
    assert remaining == before - would
    assert late_file in remaining, "a file with a sample not in the cold tier is kept"
    assert set((lake.root / "quarantine").rglob("*.parquet")) == quarantine_files
    assert not any((lake.root / "raw" / "site=south").glob("date=2025-09-2*/*.parquet"))
    journal = prunelog.read_totals(lake.root)
    assert journal.files == len(would) and journal.bytes > 0
    assert journal.rows == sum(f["rows"] for f in dry.deleted)
    check_both("after pruning")

    # the next move merges the late file into the cold tier; then it may go too
    now3 = now2 + timedelta(days=1)
    move_to_cold(wh, lake.root, 20, now3)
    res2 = prune_raw(wh, lake.root, 25, now=now3)
    assert late_file in {Path(f["path"]) for f in res2.deleted}
    assert not late_file.exists()
    check_both("after pruning the merged late file")
    move_to_cold(wh, lake.root, 20, now3 + timedelta(minutes=5))
    _check(wh, lake, cfg, "after a move following the full refresh")

    # a lost cold file of a pruned month is not "rebuilt" from what raw is left: the job
    # says so, and no build (not even --full-refresh) retires it
    lost = Path(raw_query(wh, "select path from cold_files where active and site = 'south' "
                              "and month = '2025-09'")[0][0])
    lost.unlink()
    found = check_lake(wh, lake.root, "20251116T000000.000000Z-check1", now=now3)
    assert not found.cold_rebuilt
    assert found.unrecoverable and found.unrecoverable[0]["path"] == str(lost)
    for full_refresh in (False, True):
        with pytest.raises(DbtFailed, match="the retention deleted"):
            run_build(full_refresh=full_refresh)


def test_retention_setting_is_validated_before_any_work() -> None:
    assert Settings.from_env({}).raw_retention_days is None  # default: keep for ever
    assert Settings.from_env({"ACE_RAW_RETENTION_DAYS": " 90 "}).raw_retention_days == 90
    for bad in ("0", "-3", "ninety", "1.5"):
        with pytest.raises(ConfigError, match="ACE_RAW_RETENTION_DAYS"):
            Settings.from_env({"ACE_RAW_RETENTION_DAYS": bad})


def test_prune_without_a_cold_tier_deletes_nothing(tmp_path: Path, dbt_target: Path) -> None:
    lake = Lake(tmp_path / "lake")
    wh = tmp_path / "warehouse.duckdb"
    now = datetime(2025, 11, 14, tzinfo=UTC)
    lake.land(_samples(START, START + timedelta(days=3), 5), source="realtime", extracted_at=now)
    build(wh, lake.root, dbt_vars(truth.Config(as_of_us=us(AS_OF))), dbt_target)
    before = _raw_files(lake)
    res = prune_raw(wh, lake.root, 1, now=now)
    assert res.skipped == "the cold tier is empty" or "does not own" in (res.skipped or "")
    assert not res.deleted and _raw_files(lake) == before


def test_prune_raw_command_main_job_step_and_status(tmp_path: Path, dbt_target: Path) -> None:
    """``prune-raw`` (its errors, the dry run), the main job's step (run only when the
    policy is set) and the ``status`` line, on a real lake, warehouse and cold tier."""
    from extract.ops.job import JobSummary
    from extract.ops.mainjob import STEPS, Options, Run
    from tests.conftest import cli

    lake = Lake(tmp_path / "lake")
    wh = tmp_path / "warehouse.duckdb"
    now = datetime(2025, 11, 14, 0, 10, tzinfo=UTC)
    lake.land(_samples(START, now, 7, POINTS[2:]), source="realtime", extracted_at=now)
    build(wh, lake.root, dbt_vars(truth.Config(as_of_us=us(AS_OF))), dbt_target)
    move_to_cold(wh, lake.root, 20, now)
    env = {**os.environ, "LAKE_DIR": str(lake.root), "WAREHOUSE_PATH": str(wh),
           "PUBLISHED_DIR": str(tmp_path / "published")}
    env.pop("ACE_RAW_RETENTION_DAYS", None)
    before = _raw_files(lake)

    r = cli(["prune-raw", "--dry-run"], env)
    assert r.returncode == 2 and "give --older-than-days" in r.stderr, r.stderr
    r = cli(["prune-raw", "--older-than-days", "0"], env)
    assert r.returncode == 2 and "at least 1 day" in r.stderr, r.stderr
    r = cli(["prune-raw", "--dry-run"], {**env, "ACE_RAW_RETENTION_DAYS": "x"})
    assert r.returncode == 2 and "ACE_RAW_RETENTION_DAYS" in r.stderr, r.stderr
    # today is after `now`: every file dated before now - 20 days is old enough for 1 day
    r = cli(["prune-raw", "--older-than-days", "1", "--dry-run"], env)
    assert r.returncode == 0, r.stderr
    assert "would delete" in r.stdout and "date=2025-09-20" in r.stdout, r.stdout
    assert _raw_files(lake) == before

    settings = Settings.from_env({"LAKE_DIR": str(lake.root), "WAREHOUSE_PATH": str(wh)})
    (step,) = [s for s in STEPS if s.name == "raw retention"]
    assert [s.name for s in STEPS].index("raw retention") == [
        s.name for s in STEPS].index("cold tier") + 1
    run = Run(settings, now, JobSummary(run_id="20251114T001000.000000Z-job001",
                                        started_at=now))
    run.build = type("Built", (), {"ok": True})()  # type: ignore[assignment]
    assert not step.runs_if(run, Options()), "the default keeps raw for ever"
    settings.raw_retention_days = 25
    assert step.runs_if(run, Options())
    step.action(run)
    deleted = run.job.retention["deleted"]
    assert deleted > 0 and run.job.retention["bytes_freed"] > 0
    assert len(before - _raw_files(lake)) == deleted
    assert all("date=2025-10-2" not in str(p) for p in before - _raw_files(lake))
    assert f"deleted {deleted:,} raw files" in run.job.render()

    r = cli(["status", "--warehouse", str(wh)], env)
    assert f"retention  {deleted:,} raw files deleted" in r.stdout, r.stdout
    # by the wall clock (2025 is long past) every file the cold tier holds is old enough;
    # the hot days (from 2025-10-25, the cold boundary) stay
    r = cli(["prune-raw", "--older-than-days", "25"], env)
    assert r.returncode == 0 and "recorded in" in r.stdout, r.stdout + r.stderr
    assert min(p.parent.name for p in _raw_files(lake)) == "date=2025-10-25"
    assert len(list(prunelog.journal_dir(lake.root).glob("*.json"))) == 2
