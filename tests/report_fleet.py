"""A synthetic fleet for the report at scale: the marts the report reads (sites, points,
data_quality_daily, point_gaps, samples_1h, samples_1d) written directly as DuckDB tables,
not built through dbt (a 50,000-point build would take minutes; the report only reads
these columns). Used by ``tests/test_report_scale.py`` and ``bench/bench_report.py``.

The rows are made in Python (:func:`make_fleet`) so a test can compute what the report
must show from the very rows it wrote, independently of the report's SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

ZONES = ("UTC", "America/New_York", "Europe/Berlin")
POINTS_PER_EQUIPMENT = 10


@dataclass(frozen=True)
class FleetPoint:
    site: str
    point: str
    timezone: str
    equipment: str
    first: datetime | None
    last: datetime | None


@dataclass
class Fleet:
    as_of: datetime
    days: int  # the report's window
    sites: list[tuple[str, str]] = field(default_factory=list)  # (site, timezone)
    points: list[FleetPoint] = field(default_factory=list)
    quality: dict[tuple[str, str, date], float] = field(default_factory=dict)  # coverage
    gaps: list[tuple[str, str, datetime, datetime | None, float]] = field(
        default_factory=list)  # (site, point, start, end or None when open, missing)


def site_name(s: int) -> str:
    return f"site-{s:04d}"


def point_name(j: int) -> tuple[str, str]:
    """(point, its equipment): a driver path for odd j, a dotted name for even j."""
    equipment = f"ahu-{j // POINTS_PER_EQUIPMENT:03d}"
    if j % 2:
        return f"Drivers/BACnetNetwork/{equipment}/points/sensor-{j:05d}", equipment
    return f"{equipment}.sensor-{j:05d}", equipment


def local_days(as_of: datetime, days: int) -> list[date]:
    last = max(as_of.astimezone(ZoneInfo(z)).date() for z in ZONES)
    return [last - timedelta(days=days - 1 - i) for i in range(days)]


def make_fleet(n_sites: int, per_site: int, *, as_of: datetime, days: int) -> Fleet:
    """``n_sites`` x ``per_site`` points with known coverage, gaps, late starters, points
    out of the window and points that never reported."""
    fleet = Fleet(as_of=as_of, days=days)
    window = local_days(as_of, days)
    history = [window[0] - timedelta(days=1), *window]  # a day before the window too
    for s in range(n_sites):
        site, zone = site_name(s), ZONES[s % len(ZONES)]
        fleet.sites.append((site, zone))
        tz = ZoneInfo(zone)
        for j in range(per_site):
            i = s * per_site + j
            point, equipment = point_name(j)
            if i % 211 == 5:  # never reported
                fleet.points.append(FleetPoint(site, point, zone, equipment, None, None))
                continue
            first = as_of - timedelta(days=40)
            last = as_of - timedelta(minutes=i % 5)
            if i % 331 == 7:  # silent since before the window, no gap: out of scope
                last = as_of - timedelta(days=days + 5)
            if i % 97 == 3:  # started during the window's last day
                first = as_of - timedelta(hours=9)
            if i % 50 == 1:  # stopped 3 hours ago: an open gap
                last = as_of - timedelta(hours=3)
                fleet.gaps.append((site, point, last, None, 180.0))
            if i % 7 == 0:  # a closed 2-hour gap, 6 hours before as of
                start = as_of - timedelta(hours=6)
                fleet.gaps.append((site, point, start, start + timedelta(hours=2), 120.0))
            fleet.points.append(FleetPoint(site, point, zone, equipment, first, last))
            if i % 331 == 7:
                continue
            first_day = first.astimezone(tz).date()
            for d, day in enumerate(history):
                if day < first_day or (i + d) % 13 == 0:  # no row: a day without samples
                    continue
                fleet.quality[(site, point, day)] = ((i * 7919 + d * 104729) % 1009) / 900
    return fleet


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, pa.Array]) -> None:
    arrow = pa.table(columns)  # noqa: F841 - read by DuckDB's replacement scan
    con.execute(f"create table {name} as select * from arrow")


def write_warehouse(fleet: Fleet, path: Path) -> Path:
    """The fleet as a DuckDB file shaped like the built warehouse's marts."""
    ts = pa.timestamp("us", tz="UTC")
    con = duckdb.connect(str(path))
    try:
        _table(con, "sites", {"site": pa.array([s for s, _ in fleet.sites]),
                              "timezone": pa.array([z for _, z in fleet.sites])})
        pts = fleet.points
        _table(con, "points", {
            "site": pa.array([p.site for p in pts]), "point": pa.array([p.point for p in pts]),
            "timezone": pa.array([p.timezone for p in pts]),
            "collect_interval": pa.array([60] * len(pts), pa.int32()),
            "first_sample_ts": pa.array([p.first for p in pts], ts),
            "last_sample_ts": pa.array([p.last for p in pts], ts)})
        keys = list(fleet.quality)
        coverage = [fleet.quality[k] for k in keys]
        _table(con, "quality_rows", {
            "site": pa.array([k[0] for k in keys]), "point": pa.array([k[1] for k in keys]),
            "day": pa.array([k[2] for k in keys], pa.date32()),
            "coverage": pa.array(coverage, pa.float64())})
        con.execute("""
            create table data_quality_daily as
            select site, point, day, 1440.0 as expected,
                   cast(round(coverage * 1440) as bigint) as actual,
                   cast(round(coverage * 1440) as bigint) as numeric, coverage,
                   least(coverage, 1.0) as quality_score
            from quality_rows;
            drop table quality_rows""")
        g = fleet.gaps
        _table(con, "point_gaps", {
            "site": pa.array([r[0] for r in g], pa.string()),
            "point": pa.array([r[1] for r in g], pa.string()),
            "gap_start": pa.array([r[2] for r in g], ts),
            "gap_end": pa.array([r[3] for r in g], ts),
            "missing_expected": pa.array([r[4] for r in g], pa.float64()),
            "is_open": pa.array([r[3] is None for r in g], pa.bool_())})
        _ladder(con, fleet)
    finally:
        con.close()
    return path


def _ladder(con: duckdb.DuckDBPyConnection, fleet: Fleet) -> None:
    """samples_1h (the last day's hours) and samples_1d (the window's days), a sine per
    point, so "Points to look at" has ranges to judge."""
    hour0 = (fleet.as_of - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    days = local_days(fleet.as_of, fleet.days + 2)
    con.execute("""
        create table samples_1h as
        with p as (select site, point, row_number() over () as k from points
                   where first_sample_ts is not null)
        select site, point, ?::timestamptz + h * interval 1 hour as bucket_start,
               60 as n, 20 + (k % 7) + sin(h) as "min", 22 + (k % 7) + sin(h) as "max",
               21 + (k % 7) + sin(h) as "avg"
        from p, range(25) as r(h)""", [hour0])
    con.execute("""
        create table samples_1d as
        with p as (select site, point, row_number() over () as k from points
                   where first_sample_ts is not null)
        select site, point, d.day, 1440 as n, 19.5 + (k % 7) as "min",
               22.5 + (k % 7) + (case when k % 1000 = 0 then 0 else 1 end) as "max",
               21 + (k % 7) as "avg"
        from p, (select unnest(?::date[]) as day) as d""", [days])


def as_of_default() -> datetime:
    return datetime(2026, 1, 16, 12, 0, tzinfo=UTC)
