"""Observed intervals (docs/warehouse.md, "Observed intervals") against the truth.

One site in UTC, three points: `slow/temp` is configured at 60 s but reports every 5 minutes
(spacings alternating 280 s and 320 s, so a 300 s gap threshold would see false gaps);
`fast/temp` is configured at 60 s and reports every 60 s; `bare/x` has no metadata (the default
60 s) and reports every 120 s. Built under `interval_source` auto (the default) and configured,
every contract table equals the truth of that mode; a few facts are checked against literal
values; and an incremental run in which a point's observed interval changes re-derives its whole
history, as a rebuild would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from . import truth
from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import DbtFailed, build, raw_query
from .landing import US, Lake, PointMeta, us
from .scenario import utc

pytestmark = pytest.mark.slow

SITE = "lab"
SLOW, FAST, BARE = "slow/temp", "fast/temp", "bare/x"
START = utc(2025, 11, 1)
END = utc(2025, 11, 3)
AS_OF = END + timedelta(minutes=2)
META_AT = utc(2025, 11, 3, 0, 1)


def jittered(point: str, start: datetime, end: datetime, step_s: int, jitter_s: int) -> list[Any]:
    """Every step_s from start, every other sample jitter_s late (spacings step +- jitter)."""
    out, k, t = [], 0, us(start)
    while t + jitter_s * US < us(end):
        out.append((SITE, point, t + (k % 2) * jitter_s * US, f"{20 + k % 7}.5"))
        k += 1
        t += step_s * US
    return out


def new_lake(root: Path) -> Lake:
    lake = Lake(root / "lake")
    lake.write_sites([SITE], extracted_at=META_AT, run_id="20251103T000100Z-meta00")
    points = [PointMeta(SITE, SLOW, 60, "degC", 1), PointMeta(SITE, FAST, 60, "degC", 2)]
    lake.write_points(SITE, points, extracted_at=META_AT, run_id="20251103T000100Z-meta00")
    return lake


def cfg(source: str = "auto") -> truth.Config:
    return truth.Config(as_of_us=us(AS_OF), interval_source=source)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = new_lake(tmp_path_factory.mktemp("intervals"))
    samples = (
        jittered(SLOW, START, END, 300, 20)
        + jittered(FAST, START, END, 60, 0)
        + jittered(BARE, START, END, 120, 0)
    )
    lake.land(samples, source="realtime", extracted_at=END + timedelta(minutes=1))
    return lake


@pytest.fixture(scope="module")
def built(
    lake: Lake, tmp_path_factory: pytest.TempPathFactory, dbt_target: Path
) -> dict[str, Path]:
    out = {}
    for source in ("auto", "configured"):
        warehouse = tmp_path_factory.mktemp(source) / "warehouse.duckdb"
        build(warehouse, lake.root, dbt_vars(cfg(source)), dbt_target)
        out[source] = warehouse
    return out


@pytest.mark.parametrize("source", ["auto", "configured"])
def test_tables_equal_truth(lake: Lake, built: dict[str, Path], source: str) -> None:
    assert_tables_equal(expected(lake, cfg(source)), read_all(built[source]), source)


def test_truth_observes_the_intervals(lake: Lake) -> None:
    found = truth.point_intervals(truth.samples(lake.rows), lake.intervals())
    assert found[(SITE, SLOW)] == truth.PointInterval(60, 300)
    assert found[(SITE, FAST)] == truth.PointInterval(60, 60)
    assert found[(SITE, BARE)] == truth.PointInterval(60, 120)
    assert [found[(SITE, p)].is_mismatch for p in (SLOW, FAST, BARE)] == [True, False, True]


@pytest.mark.parametrize("source", ["auto", "configured"])
def test_points_observed_interval(built: dict[str, Path], source: str) -> None:
    rows = raw_query(
        built[source],
        "select point, collect_interval, observed_interval, is_interval_mismatch,"
        " expected_interval from points order by point",
    )
    used = {"auto": (120, 60, 300), "configured": (60, 60, 60)}[source]
    assert rows == [
        (BARE, 60, 120, True, used[0]),
        (FAST, 60, 60, False, used[1]),
        (SLOW, 60, 300, True, used[2]),
    ]


def test_mismatched_point_is_covered_under_auto(built: dict[str, Path]) -> None:
    sql = (
        "select coverage, n_expected from samples_1d where point = 'slow/temp' order by day"
    )
    auto = raw_query(built["auto"], sql)
    configured = raw_query(built["configured"], sql)
    assert [pytest.approx(c) for c, _ in auto] == [1.0, 1.0]
    assert [n for _, n in auto] == [288, 288]
    assert [pytest.approx(c) for c, _ in configured] == [0.2, 0.2]
    quality = (
        "select quality_score, expected, expected_configured, expected_observed"
        " from data_quality_daily where point = 'slow/temp' order by day"
    )
    for source in ("auto", "configured"):
        for score, want, on_configured, on_observed in raw_query(built[source], quality):
            assert (want, on_configured, on_observed) == (
                288 if source == "auto" else 1440,
                1440,
                288,
            )
            assert score == pytest.approx(1.0 if source == "auto" else 0.2)


def test_no_false_gaps_under_auto(built: dict[str, Path]) -> None:
    sql = "select count(*) from point_gaps where point = 'slow/temp' and not is_open"
    assert raw_query(built["auto"], sql) == [(0,)]
    # the 320 s spacings exceed the 300 s threshold of a 60 s point: samples 0->1, 2->3, ...
    # 574->575 of the 576
    assert raw_query(built["configured"], sql) == [(288,)]


def test_matching_point_is_unchanged(built: dict[str, Path]) -> None:
    for table in ("samples_5min", "samples_1d", "data_quality_daily", "point_gaps"):
        sql = f"select * from {table} where point = 'fast/temp' order by all"
        rows = raw_query(built["auto"], sql)
        assert rows == raw_query(built["configured"], sql)
        assert table == "point_gaps" or rows, f"{table} has rows for the matching point"


def test_observed_change_rederives_history(tmp_path: Path, dbt_target: Path) -> None:
    """Day 1 at 60 s, then two days at 300 s: the point turns mismatched and every held row of
    its history (n_expected, coverage, gaps) follows the new interval, as a rebuild would."""
    lake = new_lake(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    first_end = START + timedelta(days=1)
    lake.land(jittered(SLOW, START, first_end, 60, 0), source="realtime", extracted_at=first_end)
    early = replace(cfg(), as_of_us=us(first_end))
    build(warehouse, lake.root, dbt_vars(early), dbt_target)
    before = raw_query(warehouse, "select observed_interval from points where point = 'slow/temp'")
    assert before == [(60,)]
    later_end = first_end + timedelta(days=2)
    lake.land(jittered(SLOW, first_end, later_end, 300, 20), source="realtime",
              extracted_at=later_end)
    late = replace(cfg(), as_of_us=us(later_end))
    build(warehouse, lake.root, dbt_vars(late), dbt_target)
    assert_tables_equal(expected(lake, late), read_all(warehouse), "after the change")
    first_day = raw_query(
        warehouse, "select n_expected, coverage from samples_1d where day = '2025-11-01'"
    )
    assert first_day == [(288, pytest.approx(5.0))]
    # a changed interval_source makes the next incremental run refuse
    with pytest.raises(DbtFailed, match="full-refresh"):
        build(warehouse, lake.root, {**dbt_vars(late), "interval_source": "configured"},
              dbt_target)


def test_status_lists_mismatched_points_first(built: dict[str, Path]) -> None:
    import duckdb

    from extract.ops.status.intervals import describe, read_mismatches
    from extract.ops.status.model import IntervalMismatch

    con = duckdb.connect(str(built["auto"]), read_only=True)
    try:
        got = read_mismatches(con)
    finally:
        con.close()
    # 5x off before 2x off; the matching point is not listed
    assert got == [IntervalMismatch(SITE, SLOW, 60.0, 300), IntervalMismatch(SITE, BARE, 60.0, 120)]
    assert describe(got) == (
        "2 points off their configured interval: lab/slow/temp configured 60 s, observed 300 s;"
        " lab/bare/x configured 60 s, observed 120 s"
    )
    assert describe(got, shown=1).endswith("; 1 more")
    assert describe([]) == "none"


def spacings_truth(tss_by_point: dict[str, list[int]]) -> set[tuple[Any, ...]]:
    """int_point_spacings computed apart: per point, each UTC hour of its window (from the hour
    24 before the hour of its latest sample), the hour's first and last sample, its count and
    the whole-second spacings (rounded half up) between its consecutive samples."""
    hour = 3600 * US
    rows: set[tuple[Any, ...]] = set()
    for point, tss in tss_by_point.items():
        ordered = sorted(set(tss))
        start = ordered[-1] // hour * hour - 24 * hour
        by_hour: dict[int, list[int]] = {}
        for t in ordered:
            if t >= start:
                by_hour.setdefault(t // hour * hour, []).append(t)
        for h, ts in by_hour.items():
            counts: dict[int, int] = {}
            for a, b in zip(ts, ts[1:], strict=False):
                seconds = (b - a + US // 2) // US
                counts[seconds] = counts.get(seconds, 0) + 1
            head = (SITE, point, h, ts[0], ts[-1], len(ts))
            rows |= {(*head, s, n) for s, n in counts.items()} or {(*head, None, 0)}
    return rows


def test_spacings_follow_the_window(tmp_path: Path, dbt_target: Path) -> None:
    """Incremental runs keep int_point_spacings equal to the histograms computed apart: a run
    computes again the hours it touches (a late sample in an earlier hour included) and deletes
    the hours that have left the window, which moves with the latest sample."""
    lake = new_lake(tmp_path)
    warehouse = tmp_path / "warehouse.duckdb"
    landed: dict[str, list[int]] = {SLOW: [], FAST: []}

    def land(rows: list[Any], at: datetime) -> None:
        lake.land(rows, source="realtime", extracted_at=at)
        for _, point, t, _ in rows:
            landed[point].append(t)

    def check(label: str, at: datetime) -> None:
        build(warehouse, lake.root, dbt_vars(replace(cfg(), as_of_us=us(at))), dbt_target)
        got = raw_query(warehouse, "select site, point, epoch_us(hour_start), epoch_us(first_ts),"
                        " epoch_us(last_ts), n_samples, spacing_seconds, n_spacings"
                        " from int_point_spacings")
        assert set(got) == spacings_truth(landed), label
        assert len(got) == len(set(got)), label

    first_end = START + timedelta(days=1, hours=5, minutes=30)
    land(jittered(SLOW, START, first_end, 300, 20) + jittered(FAST, START, first_end, 60, 0),
         first_end)
    check("first build", first_end)
    # a 7-hour delta moves every window by 7 hours
    second_end = first_end + timedelta(hours=7)
    land(jittered(SLOW, first_end, second_end, 300, 20)
         + jittered(FAST, first_end, second_end, 60, 0), second_end)
    check("after the delta", second_end)
    # a late sample between two minutes of an hour inside the window, one before it
    late = [(SITE, FAST, us(second_end - timedelta(hours=3, seconds=31)), "1.5"),
            (SITE, FAST, us(START + timedelta(hours=2, seconds=30)), "2.5")]
    land(late, second_end + timedelta(minutes=1))
    check("after the late samples", second_end + timedelta(minutes=1))
    observed = raw_query(warehouse, "select point, observed_interval from points"
                         " where site = 'lab' order by point")
    assert observed == [(FAST, 60), (SLOW, 300)]
