"""Reading a chart's data through the warehouse's own interface: ``series()`` picks the
resolution (called as it is, so a new grain of the ladder is used without a change here),
``points`` gives the unit and the site's zone, ``point_gaps`` the gaps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from .model import MAX_POINTS, Bucket, ChartError, Series


def _utc(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise ChartError(f"expected a time from the warehouse, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def point_names(con: duckdb.DuckDBPyConnection, site: str, points: list[str],
                pattern: str | None) -> list[str]:
    """The points asked for by name, then those of the site matching ``pattern``
    (``find_points``: a case-insensitive fragment), each once, in that order."""
    names = list(dict.fromkeys(points))
    if pattern:
        rows = con.execute(
            "select point from find_points(pattern := ?) where site = ? order by point",
            [pattern, site]).fetchall()
        names += [str(r[0]) for r in rows if str(r[0]) not in names]
    return names


def read_series(con: duckdb.DuckDBPyConnection, site: str, point: str, start: datetime,
                end: datetime, *, max_points: int = MAX_POINTS) -> Series:
    """One point's rows of ``series(site, point, start, end, max_points)`` (``fill`` none:
    buckets without samples are absent), its unit and zone, and its gaps in the range."""
    meta = con.execute("select unit, timezone from points where site = ? and point = ?",
                       [site, point]).fetchone()
    if meta is None:
        raise ChartError(f"no point {point!r} at site {site!r} in the warehouse")
    series = Series(site, point, None if meta[0] is None else str(meta[0]),
                    str(meta[1] or "UTC"), start, end)
    try:
        rows = con.execute(
            "select bucket_start, avg, min, max, n, resolution "
            "from series(?, ?, ?::timestamptz, ?::timestamptz, max_points := ?)",
            [site, point, start, end, max_points]).fetchall()
    except duckdb.CatalogException as exc:
        raise ChartError(f"the warehouse has no series() macro (built before it existed?): "
                         f"{exc}") from None
    for bucket_start, avg, lo, hi, n, resolution in rows:
        series.resolution = str(resolution)
        series.buckets.append(Bucket(_utc(bucket_start), _number(avg), _number(lo),
                                     _number(hi), None if n is None else int(n)))
    gaps = con.execute(
        "select gap_start, gap_end from point_gaps where site = ? and point = ? "
        "and gap_start < ?::timestamptz + interval 2 day "
        "and (gap_end is null or gap_end > ?::timestamptz - interval 2 day) "
        "order by gap_start", [site, point, end, start]).fetchall()
    series.gaps = [(_utc(a), None if b is None else _utc(b)) for a, b in gaps]
    return series
