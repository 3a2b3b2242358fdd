"""The independent truths the analyst-interface tests check series() against.

Computed from the landed rows in memory (each sample is landed once in those tests, so the
landed rows are the samples), never from the warehouse's tables.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest

from tests.warehouse.ladder import by_label
from tests.warehouse.landing import US, Lake, dt, us

# -- the independent computation -------------------------------------------------------------


def _rows(lake: Lake, site: str, point: str) -> list[tuple[int, float | None]]:
    return sorted((r.ts, r.value) for r in lake.rows if r.site == site and r.point == point)


def _agg(values: list[float | None]) -> dict[str, Any]:
    nums = [v for v in values if v is not None]
    if not nums:
        return {"avg": None, "min": None, "max": None, "n": 0}
    return {"avg": math.fsum(nums) / len(nums), "min": min(nums), "max": max(nums),
            "n": len(nums)}


def expected(
    lake: Lake, site: str, point: str, a: datetime, b: datetime, resolution: str,
    zone: str = "UTC",
) -> list[dict[str, Any]]:
    """series() rows without fill: raw samples in [a, b), or the buckets overlapping it."""
    lo, hi = us(a), us(b)
    rows = _rows(lake, site, point)
    if resolution == "raw":
        out = []
        for ts, v in rows:
            if lo <= ts < hi:
                out.append({"bucket_start": ts, "avg": v, "min": v, "max": v,
                            "n": 0 if v is None else 1})
        return out
    groups: dict[int, list[float | None]] = defaultdict(list)
    grain = by_label(resolution)
    if not grain.is_local_day:
        width = grain.seconds * US
        for ts, v in rows:
            bucket = ts // width * width
            if bucket < hi and bucket + width > lo:
                groups[bucket].append(v)
    else:
        tz = ZoneInfo(zone)
        d0 = dt(lo).astimezone(tz).date()
        d1 = dt(hi - 1).astimezone(tz).date()
        for ts, v in rows:
            day = dt(ts).astimezone(tz).date()
            if d0 <= day <= d1:
                midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
                groups[us(midnight.astimezone(UTC))].append(v)
    return [{"bucket_start": k, **_agg(v)} for k, v in sorted(groups.items())]


def series(con: duckdb.DuckDBPyConnection, site: str, point: str, a: datetime, b: datetime,
           **kw: Any) -> list[dict[str, Any]]:
    named = "".join(f", {k} := ?" for k in kw)
    rows = con.execute(
        "select epoch_us(bucket_start), avg, min, max, n, resolution "
        f"from series(?, ?, ?, ?{named})",
        [site, point, a, b, *kw.values()],
    ).fetchall()
    return [dict(zip(("bucket_start", "avg", "min", "max", "n", "resolution"), r, strict=True))
            for r in rows]


def assert_rows(got: list[dict[str, Any]], want: list[dict[str, Any]], resolution: str) -> None:
    assert [g["resolution"] for g in got] == [resolution] * len(got)
    assert [g["bucket_start"] for g in got] == [w["bucket_start"] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g["n"] == w["n"], (g, w)
        for col in ("avg", "min", "max"):
            if w[col] is None:
                assert g[col] is None, (col, g, w)
            else:
                assert g[col] == pytest.approx(w[col], rel=1e-12, abs=1e-12), (col, g, w)


def expected_width(
    lake: Lake, site: str, point: str, a: datetime, b: datetime, width_s: int
) -> list[dict[str, Any]]:
    """series(bucket := width) rows without fill: buckets of width_s seconds counted from
    1970-01-01 00:00 UTC overlapping [a, b), aggregated straight from the samples."""
    lo, hi, width = us(a), us(b), width_s * US
    groups: dict[int, list[float | None]] = defaultdict(list)
    for ts, v in _rows(lake, site, point):
        bucket = ts // width * width
        if bucket < hi and bucket + width > lo:
            groups[bucket].append(v)
    return [{"bucket_start": k, **_agg(v)} for k, v in sorted(groups.items())]


def gaps(lake: Lake, site: str, point: str, threshold_s: float) -> list[tuple[int, float]]:
    """(start, end) of every spacing between consecutive samples (numeric or not) longer
    than threshold_s, and the open gap after the last sample (the tests' as_of is now)."""
    times = [ts for ts, _v in _rows(lake, site, point)]
    out: list[tuple[int, float]] = [
        (x, y) for x, y in zip(times, times[1:], strict=False) if y - x > threshold_s * US
    ]
    return [*out, (times[-1], math.inf)]


def linear(
    grid: list[dict[str, Any]], gap_list: list[tuple[int, float]], threshold_s: float
) -> list[float | None]:
    """The avg of each row of a gridded series() under fill 'linear': an empty row between
    two rows with an avg gets the straight line between them at its bucket_start, unless a
    gap lies over the empty run between them or that run is longer than threshold_s."""
    out: list[float | None] = []
    for i, row in enumerate(grid):
        if row["avg"] is not None:
            out.append(row["avg"])
            continue
        before = [j for j in range(i) if grid[j]["avg"] is not None]
        after = [j for j in range(i + 1, len(grid)) if grid[j]["avg"] is not None]
        if not before or not after:
            out.append(None)
            continue
        p, q = grid[before[-1]], grid[after[0]]
        run_start, run_end = grid[before[-1] + 1]["bucket_start"], q["bucket_start"]
        blocked = run_end - run_start > threshold_s * US or any(
            a < run_end and b > run_start for a, b in gap_list
        )
        if blocked:
            out.append(None)
        else:
            f = (row["bucket_start"] - p["bucket_start"]) / (q["bucket_start"] - p["bucket_start"])
            out.append(p["avg"] + (q["avg"] - p["avg"]) * f)
    return out
