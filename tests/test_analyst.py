"""The analyst interface (docs/analysts.md): the series() and find_points() table macros.

A small warehouse is built by dbt from landed files; every answer of series() is checked
against an independent computation from the landed rows (each sample is landed once, so the
landed rows are the samples): the resolution chosen at each threshold, the values at raw,
5 min, 1 h and local-day resolution, the fill modes, and a point whose name is full of SQL
punctuation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from extract.ops.sqlshell import banner, ladder_tables
from tests.analyst_truth import assert_rows, expected, expected_width, gaps, linear, series
from tests.warehouse.harness import build
from tests.warehouse.ladder import NAMES
from tests.warehouse.landing import US, Lake, PointMeta, us

pytestmark = pytest.mark.slow

NY = "nyc_office"
NY_ZONE = "America/New_York"
PLAIN = "lab"
SAT = "acme/nyc_office/ahu1/sat"  # 60 s, a gap and non-numeric samples
SLOW = "acme/nyc_office/ahu1/oat"  # 600 s
WEIRD = "a'b\"c/d:e; drop table samples; --"
LIN = "plant/linear"  # 60 s (no metadata): a short gap, non-numeric runs (fill 'linear')
T0 = datetime(2025, 11, 1, tzinfo=UTC)
DAYS = 3  # 2025-11-01 .. 03 UTC: New York's 25-hour day (Nov 2) inside
GAP = (datetime(2025, 11, 2, 10, 0, tzinfo=UTC), datetime(2025, 11, 2, 12, 30, tzinfo=UTC))


def _value(i: int) -> str:
    if i % 97 == 13:
        return "NaN"  # non-numeric
    return f"{20 + (i * 37 % 101) / 10:.1f}"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("analyst")
    lake = Lake(root / "lake")
    meta_at = datetime(2025, 11, 4, tzinfo=UTC)
    lake.write_sites([NY, PLAIN], extracted_at=meta_at, run_id="20251104T000000Z-meta")
    lake.write_points(
        NY,
        [PointMeta(NY, SAT, 60, "degF", 1), PointMeta(NY, SLOW, 600, "degF", 2),
         PointMeta(NY, WEIRD, 60, "%", 3)],
        extracted_at=meta_at, run_id="20251104T000000Z-meta",
    )
    samples: list[tuple[str, str, int, str | None]] = []
    start = us(T0)
    for i in range(DAYS * 1440):
        ts = start + i * 60 * US
        if us(GAP[0]) <= ts < us(GAP[1]):
            continue
        samples.append((NY, SAT, ts, _value(i)))
        samples.append((PLAIN, SAT, ts + 7 * US, _value(i + 5)))  # same name, other site
        if i % 10 == 0:
            samples.append((NY, SLOW, ts, _value(i + 1)))
    for i in range(6 * 60):  # six hours of the weird point
        samples.append((NY, WEIRD, start + i * 60 * US, _value(i + 3)))
    for m in (*range(20), *range(25, 60)):  # 00:19 -> 00:25 is a gap (360 s)
        samples.append((PLAIN, LIN, start + m * 60 * US,
                        "NaN" if 30 <= m < 35 or 40 <= m < 55 else _value(m)))
    lake.land(samples, source="realtime", extracted_at=datetime(2025, 11, 4, 1, tzinfo=UTC))
    warehouse = root / "warehouse.duckdb"
    build(warehouse, lake.root, {"site_timezones": {NY: NY_ZONE}}, root / "target")
    con = duckdb.connect(str(warehouse), read_only=True)
    yield {"con": con, "lake": lake, "path": warehouse}
    con.close()


# -- resolution choice -----------------------------------------------------------------------

H = timedelta(hours=1)
A = datetime(2025, 11, 1, 2, tzinfo=UTC)  # two full hours of SAT: 120 samples


@pytest.mark.parametrize(
    ("a", "b", "max_points", "resolution"),
    [
        # aligned [02:00, 04:00): raw 120, 5 min 24, 15 min 8, 1 h 2, 1 d 1 (local days: 1
        # or 2)
        (A, A + 2 * H, 120, "raw"),
        (A, A + 2 * H, 119, "5min"),
        (A, A + 2 * H, 24, "5min"),
        (A, A + 2 * H, 23, "15min"),
        (A, A + 2 * H, 8, "15min"),
        (A, A + 2 * H, 7, "1h"),
        (A, A + 2 * H, 2, "1h"),
        (A, A + 2 * H, 1, "1d"),
        # unaligned [02:00:30, 04:00:30): 120 samples, but the raw count is taken from the
        # 5-minute buckets at the edges (an upper bound: 60 + 60 + 5 = 125); 25
        # five-minute, 9 quarter-hour and 3 hourly buckets
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 125, "raw"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 124, "5min"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 25, "5min"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 24, "15min"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 9, "15min"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 8, "1h"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 3, "1h"),
        (A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30), 2, "1d"),
        # the raw count is counted, not estimated: [09:00, 13:00) on Nov 2 holds the
        # 150-minute gap, so 90 samples over 4 hours
        (GAP[0] - H, GAP[0] + 3 * H, 90, "raw"),
        (GAP[0] - H, GAP[0] + 3 * H, 89, "5min"),
        # the default max_points (1000): 3 days are 864 five-minute buckets, 4 days 384
        # quarter hours, 11 days 1056 quarter hours and 264 hours
        (T0, T0 + timedelta(days=3), None, "5min"),
        (T0, T0 + timedelta(days=4), None, "15min"),
        (T0, T0 + timedelta(days=11), None, "1h"),
        (T0, T0 + timedelta(hours=16), None, "raw"),
        (T0, T0 + timedelta(hours=17), None, "5min"),
    ],
)
def test_resolution_threshold(wh: dict[str, Any], a: datetime, b: datetime,
                              max_points: int | None, resolution: str) -> None:
    kw = {} if max_points is None else {"max_points": max_points}
    got = series(wh["con"], NY, SAT, a, b, **kw)
    assert got and {g["resolution"] for g in got} == {resolution}
    if max_points is not None and resolution != "1d":
        assert len(got) <= max_points
    zone = NY_ZONE if resolution == "1d" else "UTC"
    assert_rows(got, expected(wh["lake"], NY, SAT, a, b, resolution, zone), resolution)


# -- values at every resolution --------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "point", "a", "b", "max_points", "resolution"),
    [
        (NY, SAT, datetime(2025, 11, 2, 9, 17, 11, tzinfo=UTC),
         datetime(2025, 11, 2, 13, 3, tzinfo=UTC), 1000, "raw"),
        (NY, SAT, datetime(2025, 11, 1, 22, 2, tzinfo=UTC),
         datetime(2025, 11, 2, 14, 58, tzinfo=UTC), 300, "5min"),
        (PLAIN, SAT, T0, T0 + timedelta(days=1), 100, "15min"),
        (PLAIN, SAT, T0, T0 + timedelta(days=3), 100, "1h"),
        (NY, SAT, T0, T0 + timedelta(days=3), 10, "1d"),  # local days, the 25-hour one too
        (NY, SLOW, T0, T0 + timedelta(days=3), 1000, "raw"),  # 432 samples
        (PLAIN, SAT, T0, T0 + timedelta(days=3), 3, "1d"),  # UTC days for an unzoned site
    ],
)
def test_values_equal_independent_computation(
    wh: dict[str, Any], site: str, point: str, a: datetime, b: datetime, max_points: int,
    resolution: str,
) -> None:
    got = series(wh["con"], site, point, a, b, max_points=max_points)
    zone = NY_ZONE if site == NY else "UTC"
    assert_rows(got, expected(wh["lake"], site, point, a, b, resolution, zone), resolution)


def test_empty_range_and_unknown_point(wh: dict[str, Any]) -> None:
    assert series(wh["con"], NY, SAT, A, A) == []
    assert series(wh["con"], NY, SAT, A + H, A) == []
    assert series(wh["con"], NY, "no such point", A, A + H) == []


# -- fill ------------------------------------------------------------------------------------


def _grid(a: datetime, b: datetime, width: int) -> list[int]:
    lo = us(a) // (width * US) * width * US
    return list(range(lo, us(b), width * US))


@pytest.mark.parametrize(("max_points", "resolution", "width"), [(60, "5min", 300),
                                                                  (20, "15min", 900),
                                                                  (10, "1h", 3600)])
def test_fill_null_and_previous(wh: dict[str, Any], max_points: int, resolution: str,
                                width: int) -> None:
    # [09:03, 13:03): 90 samples, 49 five-minute, 17 quarter-hour and 5 hourly buckets, the
    # gap inside
    a, b = GAP[0] - timedelta(minutes=57), GAP[1] + timedelta(minutes=33)
    want = {w["bucket_start"]: w for w in expected(wh["lake"], NY, SAT, a, b, resolution)}
    grid = _grid(a, b, width)
    assert set(want) < set(grid), "the range has empty buckets"

    nulls = series(wh["con"], NY, SAT, a, b, max_points=max_points, fill="null")
    assert [g["bucket_start"] for g in nulls] == grid
    for g in nulls:
        if g["bucket_start"] in want:
            assert_rows([g], [want[g["bucket_start"]]], resolution)
        else:
            assert (g["avg"], g["min"], g["max"], g["n"]) == (None, None, None, None)
            assert g["resolution"] == resolution

    prev = series(wh["con"], NY, SAT, a, b, max_points=max_points, fill="previous")
    assert [g["bucket_start"] for g in prev] == grid
    last: dict[str, Any] | None = None
    for g in prev:
        w = want.get(g["bucket_start"])
        if w is not None and w["n"] > 0:
            assert_rows([g], [w], resolution)
            last = w
        else:
            assert last is not None
            assert (g["avg"], g["min"], g["max"]) == pytest.approx(
                (last["avg"], last["min"], last["max"]))
            assert g["n"] == (w["n"] if w else None)


def test_fill_local_days(wh: dict[str, Any]) -> None:
    # Nov 1 .. Nov 5 New York: the last two local days have no sample
    a = datetime(2025, 11, 1, 4, tzinfo=UTC)  # local midnight, EDT
    b = datetime(2025, 11, 6, 5, tzinfo=UTC)  # local midnight, EST
    want = expected(wh["lake"], NY, SAT, a, b, "1d", NY_ZONE)
    got = series(wh["con"], NY, SAT, a, b, max_points=5, fill="null")
    tz = ZoneInfo(NY_ZONE)
    starts = [us(datetime(2025, 11, d, tzinfo=tz).astimezone(UTC)) for d in range(1, 6)]
    assert [g["bucket_start"] for g in got] == starts
    assert_rows(got[: len(want)], want, "1d")
    assert len(want) == 3 and all(g["n"] is None and g["avg"] is None for g in got[3:])
    prev = series(wh["con"], NY, SAT, a, b, max_points=5, fill="previous")
    assert [g["avg"] for g in prev[3:]] == pytest.approx([want[-1]["avg"]] * 2)


def test_fill_rejects_unknown_mode(wh: dict[str, Any]) -> None:
    with pytest.raises(duckdb.Error, match="fill must be"):
        series(wh["con"], NY, SAT, A, A + H, fill="spline")


# -- names are data --------------------------------------------------------------------------


def test_point_name_with_sql_punctuation(wh: dict[str, Any]) -> None:
    con = wh["con"]
    a, b = T0, T0 + timedelta(hours=6)
    for max_points, resolution in ((1000, "raw"), (100, "5min"), (30, "15min"), (10, "1h"),
                                   (1, "1d")):
        got = series(con, NY, WEIRD, a, b, max_points=max_points)
        zone = NY_ZONE if resolution == "1d" else "UTC"
        assert_rows(got, expected(wh["lake"], NY, WEIRD, a, b, resolution, zone), resolution)
    # written as an SQL literal by an analyst (quote doubled), the same answer
    literal = "'" + WEIRD.replace("'", "''") + "'"
    n = con.execute(
        f"select count(*) from series('{NY}', {literal}, timestamptz '2025-11-01 00:00:00+00',"
        " timestamptz '2025-11-01 06:00:00+00')"
    ).fetchone()
    assert n == (360,)
    found = con.execute("select site, point from find_points(pattern := ?)",
                        ["; drop table"]).fetchall()
    assert found == [(NY, WEIRD)]
    con2 = duckdb.connect(str(wh["path"]), read_only=True)
    try:
        names = {r[0] for r in con2.execute(
            "select table_name from information_schema.tables").fetchall()}
        assert {"samples", *NAMES, "points", "timeseries"} <= names
        # the SQL prompt's banner names the ladder's tables, finest first
        assert ladder_tables(con2) == list(NAMES)
        assert ", ".join(NAMES) in banner(con2)
        count = con2.execute("select count(*) from samples").fetchone()
        assert count == (len(wh["lake"].rows),)
    finally:
        con2.close()


# -- find_points -----------------------------------------------------------------------------


def test_find_points(wh: dict[str, Any]) -> None:
    con = wh["con"]

    def find(**kw: Any) -> list[tuple[Any, ...]]:
        named = ", ".join(f"{k} := ?" for k in kw)
        rows: list[tuple[Any, ...]] = con.execute(
            f"select site, point, unit, collect_interval, matching_tags from find_points({named})",
            list(kw.values()),
        ).fetchall()
        return rows

    both = [(PLAIN, SAT), (NY, SLOW), (NY, SAT)]  # the lab's point has no metadata
    assert [r[:2] for r in find(pattern="AHU1/")] == both
    assert [r[:2] for r in find(equipment="AHU1")] == both
    assert find(equipment="ahu") == []  # a whole segment, not a fragment
    rows = find(tag="unit=degF")
    assert [r[:4] for r in rows] == [(NY, SLOW, "degF", 600), (NY, SAT, "degF", 60)]
    assert all(r[4] == ["unit=degf"] for r in rows)
    assert [r[:2] for r in find(tag="unit")] == [(NY, WEIRD), (NY, SLOW), (NY, SAT)]
    assert len(find(tag="sensor")) == 3  # marker tag
    assert find(pattern="%") == []  # no wildcard: the text itself
    # no argument: every point, the metadata-less ones too
    assert len(find()) == 5


# -- fill 'linear' -----------------------------------------------------------------------------


def _check_linear(got: list[dict[str, Any]], want: list[dict[str, Any]], span: tuple[
        datetime, datetime], width: int, gap_list: list[tuple[int, float]], threshold: float,
                  ) -> list[float | None]:
    """got (fill 'linear') against want (no fill) on the full grid; returns the avgs."""
    assert want and got
    grid = _grid(*span, width)
    assert [g["bucket_start"] for g in got] == grid
    by_start = {w["bucket_start"]: w for w in want}
    rows = [by_start.get(t, {"bucket_start": t, "avg": None}) for t in grid]
    avgs = linear(rows, gap_list, threshold)
    for g, w, avg in zip(got, rows, avgs, strict=True):
        assert g["avg"] == (None if avg is None else pytest.approx(avg, rel=1e-12)), (g, avg)
        if "n" in w:  # a bucket with samples keeps its own figures
            assert (g["min"], g["max"], g["n"]) == (w["min"], w["max"], w["n"])
        else:  # an empty bucket, interpolated or not, has no min, max or n
            assert (g["min"], g["max"], g["n"]) == (None, None, None)
    return avgs


def test_fill_linear_interpolates_but_never_across_a_gap(wh: dict[str, Any]) -> None:
    a, b = T0, T0 + H  # 12 five-minute buckets of LIN
    got = series(wh["con"], PLAIN, LIN, a, b, max_points=12, fill="linear")
    want = expected(wh["lake"], PLAIN, LIN, a, b, "5min")
    avgs = _check_linear(got, want, (a, b), 300, gaps(wh["lake"], PLAIN, LIN, 300), 300)
    at = {g["bucket_start"]: avg for g, avg in zip(got, avgs, strict=True)}
    minute = 60 * US
    by_start = {w["bucket_start"]: w["avg"] for w in want}
    assert at[us(T0) + 20 * minute] is None  # empty, but 00:19 -> 00:25 is a gap
    assert at[us(T0) + 30 * minute] == pytest.approx(  # non-numeric only: half way
        (by_start[us(T0) + 25 * minute] + by_start[us(T0) + 35 * minute]) / 2)
    assert all(at[us(T0) + m * minute] is None for m in (40, 45, 50))  # 900 s > threshold
    # SAT across the 150-minute gap, quarter-hours and hours: nothing is drawn across it
    for max_points, width, label in ((20, 900, "15min"), (10, 3600, "1h")):
        a, b = GAP[0] - timedelta(minutes=57), GAP[1] + timedelta(minutes=33)
        got = series(wh["con"], NY, SAT, a, b, max_points=max_points, fill="linear")
        assert {g["resolution"] for g in got} == {label}
        avgs = _check_linear(got, expected(wh["lake"], NY, SAT, a, b, label), (a, b), width,
                             gaps(wh["lake"], NY, SAT, 300), 300)
        assert any(v is None for v in avgs)


# -- custom bucket widths --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("site", "point", "width", "label", "a", "b"),
    [
        (NY, SAT, 900, "15min", GAP[0] - timedelta(minutes=57), GAP[1] + timedelta(minutes=33)),
        (NY, SAT, 1200, "20min", GAP[0] - timedelta(minutes=57), GAP[1] + timedelta(minutes=33)),
        (NY, SAT, 600, "10min", A + timedelta(seconds=30), A + 2 * H + timedelta(seconds=30)),
        (NY, SLOW, 7200, "2h", T0 + timedelta(minutes=7), T0 + timedelta(days=2, hours=5)),
        (PLAIN, SAT, 86400, "1d", T0 + timedelta(hours=3), T0 + timedelta(days=3)),
        (PLAIN, SAT, 6300, "105min", T0, T0 + timedelta(days=1)),  # not a divisor of a day
        (NY, WEIRD, 2700, "45min", T0, T0 + timedelta(days=1)),
    ],
)
def test_bucket_width_equals_independent_computation(
    wh: dict[str, Any], site: str, point: str, width: int, label: str, a: datetime, b: datetime
) -> None:
    bucket = timedelta(seconds=width)
    want = expected_width(wh["lake"], site, point, a, b, width)
    got = series(wh["con"], site, point, a, b, max_points=1, bucket=bucket)  # max_points ignored
    assert len(got) > 1
    assert_rows(got, want, label)
    nulls = series(wh["con"], site, point, a, b, bucket=bucket, fill="null")
    assert [g["bucket_start"] for g in nulls] == _grid(a, b, width)
    assert {g["resolution"] for g in nulls} == {label}


def test_bucket_width_with_linear_fill(wh: dict[str, Any]) -> None:
    # the 600 s point in 5-minute buckets: every other bucket empty, interpolated (its
    # threshold is 1800 s), except over the 150-minute gap
    a, b = GAP[0] - 2 * H, GAP[1] + 2 * H
    got = series(wh["con"], NY, SLOW, a, b, bucket=timedelta(minutes=5), fill="linear")
    want = expected_width(wh["lake"], NY, SLOW, a, b, 300)
    avgs = _check_linear(got, want, (a, b), 300, gaps(wh["lake"], NY, SLOW, 1800), 1800)
    filled = [g for g, v in zip(got, avgs, strict=True) if g["n"] is None and v is not None]
    assert len(filled) >= 20
    # 09:55 .. 12:25: the buckets between the samples at 09:50 and 12:30 (a gap) stay empty
    run = range(us(GAP[0]) - 300 * US, us(GAP[1]), 300 * US)
    assert [v for g, v in zip(got, avgs, strict=True) if g["bucket_start"] in run] == [None] * 31


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("interval 7 minute", "no table of the aggregate ladder divides"),
        ("interval 90 second", "no table of the aggregate ladder divides"),
        ("interval 1 month", "whole number of seconds"),
        ("interval 0 second", "whole number of seconds"),
        ("interval 1500 millisecond", "whole number of seconds"),
    ],
)
def test_bucket_width_errors(wh: dict[str, Any], bucket: str, message: str) -> None:
    with pytest.raises(duckdb.Error, match=message):
        wh["con"].execute(
            f"select * from series(?, ?, ?, ?, bucket := {bucket})", [NY, SAT, A, A + H]
        ).fetchall()
