"""Hot and cold tiers (docs/warehouse.md, "Hot and cold tiers"; extract/warehouse/tiers.py).

`timeseries` is compared with an independent truth (tests/warehouse/truth.py) before any
move, after moves, after a move that crashed before and after its commit, and after late
data (a backfill and an import) into a month already in the cold tier; the aggregates,
gaps and quality tables are compared with the truth at every step.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.warehouse.tiers import SimulatedCrash, move_to_cold
from tests.warehouse import truth
from tests.warehouse.common import assert_tables_equal, dbt_vars, expected, read_all
from tests.warehouse.harness import SPECS, Spec, assert_same, build, raw_query, read_table
from tests.warehouse.ladder import NAMES
from tests.warehouse.landing import US, Lake, PointMeta, us

pytestmark = pytest.mark.slow

TIMESERIES = Spec("timeseries", SPECS["samples"].key, SPECS["samples"].columns)
AGGREGATES = (*NAMES, "point_gaps", "data_quality_daily")
POINTS = [("north", "ahu/temp"), ("north", "fan/status"), ("south", "chw/temp")]
START = datetime(2025, 9, 20, tzinfo=UTC)
AS_OF = datetime(2025, 11, 20, tzinfo=UTC)
STEP = 300  # seconds between samples


def _samples(start: datetime, end: datetime, seed: int, points=POINTS) -> list[tuple]:
    rng = random.Random(seed)
    out = []
    for site, point in points:
        t = us(start)
        while t < us(end):
            if rng.random() < 0.97:  # some holes, so that there are gaps
                value = rng.choice([f"{rng.uniform(10, 30):.2f}"] * 20 + ["NaN", "", None])
                out.append((site, point, t, value))
            t += STEP * US
    return out


def _check(wh: Path, lake: Lake, cfg: truth.Config, label: str) -> None:
    """timeseries == the truth's samples (each key once), and every aggregate == the truth."""
    want = expected(lake, cfg)
    got_ts = read_table(wh, TIMESERIES)  # raises on a duplicate key
    assert_same(TIMESERIES, want["samples"], got_ts, label=f"{label}: ")
    assert_tables_equal({k: want[k] for k in AGGREGATES}, read_all(wh, AGGREGATES), label)


def _cold_until(wh: Path) -> datetime | None:
    return raw_query(wh, "select max(cold_until) from cold_state")[0][0]


def _hot_min(wh: Path) -> Any:
    return raw_query(wh, "select min(ts) from samples")[0][0]


@pytest.fixture
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt_target_tiers")


def test_timeseries_across_moves_crashes_and_late_data(tmp_path: Path, dbt_target: Path) -> None:
    lake = Lake(tmp_path / "lake")
    wh = tmp_path / "warehouse.duckdb"
    cfg = truth.Config(as_of_us=us(AS_OF))
    dvars = dbt_vars(cfg)
    for site in ("north", "south"):
        pts = [PointMeta(s, p, 300) for s, p in POINTS if s == site]
        lake.write_points(site, pts, extracted_at=START, run_id="20250920T000000Z-meta01")

    def run_build() -> None:
        build(wh, lake.root, dvars, dbt_target)

    # 1. before any move: timeseries is samples
    now1 = datetime(2025, 11, 14, 0, 10, tzinfo=UTC)
    lake.land(_samples(START, now1, 1), source="realtime", extracted_at=now1)
    run_build()
    assert _cold_until(wh) is None
    _check(wh, lake, cfg, "before any move")

    # 2. first move: Sep 20 .. Oct 24 go cold (boundary = Nov 14 - 20 days = Oct 25)
    res = move_to_cold(wh, lake.root, 20, now1)
    assert res.cold_until == datetime(2025, 10, 25, tzinfo=UTC)
    assert {m for _, m in res.partitions} == {"2025-09", "2025-10"}
    assert _hot_min(wh) >= res.cold_until
    _check(wh, lake, cfg, "after the first move")
    cold = lake.root / "cold"
    files = sorted(cold.glob("site=*/month=*/*.parquet"))
    assert len(files) == 4
    for f in files:
        rows = duckdb.sql(f"select point, ts from read_parquet('{f}')").fetchall()
        assert rows == sorted(rows) and len(set(rows)) == len(rows), f
        meta = duckdb.sql(f"select distinct compression from parquet_metadata('{f}')").fetchall()
        assert meta == [("ZSTD",)], meta

    # a file this warehouse never planned (another warehouse on the same lake) is not touched
    foreign = cold / "site=elsewhere" / "month=2025-10" / "g00000001-foreign.parquet"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(files[0].read_bytes())

    # 3. a day later, a move that dies after writing its files, before its commit
    now2 = now1 + timedelta(days=1)
    lake.land(_samples(now1, now2, 2), source="realtime", extracted_at=now2)
    run_build()
    before = set(cold.rglob("*.parquet"))
    with pytest.raises(SimulatedCrash):
        move_to_cold(wh, lake.root, 20, now2, crash_at="after_write")
    orphans = set(cold.rglob("*.parquet")) - before
    assert orphans, "the crashed move wrote its files"
    planned = {Path(p) for (p,) in raw_query(wh, "select path from cold_pending")}
    assert orphans == planned  # committed as the plan before they were written
    assert _cold_until(wh) == res.cold_until
    _check(wh, lake, cfg, "after a crash before the commit")

    # ... and one that dies after its commit, before removing anything
    with pytest.raises(SimulatedCrash):
        move_to_cold(wh, lake.root, 20, now2, crash_at="after_commit")
    assert _cold_until(wh) == datetime(2025, 10, 26, tzinfo=UTC)
    assert not any(o.exists() for o in orphans)  # a move first deletes its planned orphans
    assert foreign.exists()
    assert raw_query(wh, "select count(*) from cold_pending")[0][0] == 0
    _check(wh, lake, cfg, "after a crash after the commit")

    # the next move has nothing to move; superseded files are kept for the grace period
    res3 = move_to_cold(wh, lake.root, 20, now2)
    assert res3.moved_rows == 0
    superseded = raw_query(wh, "select path from cold_files where not active")
    assert superseded and all(Path(p).exists() for (p,) in superseded)
    _check(wh, lake, cfg, "after the clean-up move")

    # 4. late data into the cold months: a backfill (beats realtime: later extracted_at), an
    #    import (beats everything), and a late realtime copy over imported keys (loses)
    oct5 = datetime(2025, 10, 5, tzinfo=UTC)
    sep25 = datetime(2025, 9, 25, tzinfo=UTC)
    late_at = now2 + timedelta(hours=1)
    backfill = [(s, p, t, "99.5") for s, p, t, _ in
                _samples(oct5, oct5 + timedelta(days=1), 3, POINTS[:1])]
    lake.land(backfill, source="backfill", extracted_at=late_at)
    imported = [(s, p, t, "-7.25") for s, p, t, _ in
                _samples(sep25, sep25 + timedelta(hours=6), 4, POINTS[2:])]
    lake.land(imported, source="import", extracted_at=late_at)
    run_build()
    later = late_at + timedelta(hours=1)
    lake.land([(s, p, t, "1.0") for s, p, t, _ in imported[:50]], source="realtime",
              extracted_at=later)
    # a brand-new key in a cold month too (a sample that was never landed)
    lake.land([("south", "chw/temp", us(sep25) + 17 * US, "3.5")], source="backfill",
              extracted_at=later)
    run_build()
    assert raw_query(wh, f"select count(*) from samples where ts < '{res3.cold_until}'")[0][0] > 0
    _check(wh, lake, cfg, "late data into cold months, not yet moved")

    # 5. the next move merges the late rows into the affected cold partitions
    now3 = now2 + timedelta(hours=3)
    res4 = move_to_cold(wh, lake.root, 20, now3)
    assert set(res4.partitions) == {("north", "2025-10"), ("south", "2025-09")}
    assert _hot_min(wh) >= res4.cold_until
    _check(wh, lake, cfg, "late data merged into the cold tier")
    # a late realtime row for a key the cold tier holds as an import, after the move
    lake.land([(s, p, t, "2.0") for s, p, t, _ in imported[50:60]], source="realtime",
              extracted_at=now3)
    run_build()
    _check(wh, lake, cfg, "a losing late row after the move")
    move_to_cold(wh, lake.root, 20, now3 + timedelta(minutes=5))
    _check(wh, lake, cfg, "the losing row moved")

    # 6. after the grace period superseded files are deleted
    now4 = now3 + timedelta(days=2)
    res5 = move_to_cold(wh, lake.root, 20, now4)
    assert res5.files_deleted
    # only the files this move superseded are kept (for the grace period)
    assert raw_query(wh, "select distinct superseded_at from cold_files where not active") == [
        (now4,)]
    assert foreign.exists()
    foreign.unlink()
    registered = {Path(p) for (p,) in raw_query(wh, "select path from cold_files")}
    assert set(cold.rglob("*.parquet")) == registered
    _check(wh, lake, cfg, "after the grace period")

    # 7. a full refresh rebuilds samples from every landed file (both tiers overlap
    #    completely); timeseries and the aggregates still hold, and the next move re-merges
    build(wh, lake.root, dvars, dbt_target, full_refresh=True)
    _check(wh, lake, cfg, "after a full refresh")
    move_to_cold(wh, lake.root, 20, now3 + timedelta(days=2))
    _check(wh, lake, cfg, "after a full refresh and a move")

    # a one-point one-day query over the cold tier
    con = duckdb.connect(str(wh), read_only=True)
    try:
        t0 = time.perf_counter()
        n = con.execute("select count(*) from timeseries where site = 'north' "
                        "and point = 'ahu/temp' and ts >= '2025-10-05' and ts < '2025-10-06'"
                        ).fetchone()[0]
        took = time.perf_counter() - t0
    finally:
        con.close()
    lo, hi = us(datetime(2025, 10, 5, tzinfo=UTC)), us(datetime(2025, 10, 6, tzinfo=UTC))
    want = sum(1 for (s, p, t) in truth.samples(lake.rows)
               if (s, p) == ("north", "ahu/temp") and lo <= t < hi)
    assert n == want and took < 2.0
