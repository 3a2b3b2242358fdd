"""The report's aggregates, computed in DuckDB: one summary row per point in scope (a temp
table of the read-only session), then per site and per equipment, and the worst points.

Python receives only what the page draws: the sites (one table row each), a bounded number
of equipment rows and the worst points, never one row per point of the fleet.
The equipment of a point is the SQL twin of :func:`.markup.row_label`'s (the nearest
segment of the name, split at ``/`` and ``.``, before the last one, that is not a driver
path word or the site); ``tests/test_report_scale.py`` checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import duckdb

from .markup import FILLER_SEGMENTS
from .model import (
    EPOCH,
    LOOK_COVERAGE_BELOW,
    EquipmentSummary,
    PointRow,
    SiteSummary,
    Window,
)

POINTS_TABLE = "report_point_summary"  # the temp table of one row per point in scope


def _quoted(words: Iterable[str]) -> str:
    return ", ".join("'" + w.replace("'", "''") + "'" for w in sorted(words))


def equipment_sql(point: str = "point", site: str = "site") -> str:
    """A SQL expression for the equipment segment of ``point`` ('' when there is none)."""
    parts = f"list_filter(regexp_split_to_array({point}, '[/.]'), x -> x <> '')"
    return (f"coalesce(list_filter(({parts})[1:len({parts}) - 1], "
            f"x -> lower(x) not in ({_quoted(FILLER_SEGMENTS)}) and x <> {site})[-1], '')")


def _us(t: datetime) -> int:
    delta = t - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def summarise_points(con: duckdb.DuckDBPyConnection, rel: dict[str, str],
                     window: Window) -> None:
    """Create the temp table of the points in scope: a sample or a gap in the window, each
    with its gap totals, mean coverage over the window's complete days (each day capped at
    100%, a day without a row 0; the day in progress only when there is nothing else),
    days without samples and its equipment."""
    lo, hi = _us(window.start), _us(window.as_of)
    overlap = f"epoch_us(gap_start) < {hi} and (gap_end is null or epoch_us(gap_end) > {lo})"
    clipped = (f"least(coalesce(epoch_us(gap_end), {hi}), {hi}) "
               f"- greatest(epoch_us(gap_start), {lo})")
    con.execute(f"drop table if exists {POINTS_TABLE}")
    con.execute(
        f"""
        create temp table {POINTS_TABLE} as
        with zones as (
            select distinct name from pg_timezone_names()
        ),
        days as (
            select unnest($days::date[]) as day
        ),
        gaps as (
            select site, point, count(*) as gaps, sum({clipped}) / 1e6 as gap_seconds,
                   min(case when is_open then gap_start end) as open_since
            from {rel['point_gaps']}
            where {overlap}
            group by site, point
        ),
        known as (
            select p.site, p.point, p.timezone, coalesce(z.name, 'UTC') as zone,
                   p.collect_interval, p.first_sample_ts, p.last_sample_ts
            from {rel['points']} as p
            left join zones as z on z.name = p.timezone
            where p.first_sample_ts is not null
        ),
        scope as (
            select k.*, coalesce(g.gaps, 0) as gaps,
                   coalesce(g.gap_seconds, 0.0) as gap_seconds, g.open_since,
                   cast(timezone(k.zone, k.first_sample_ts) as date) as first_day,
                   cast(timezone(k.zone, $as_of::timestamptz) as date) as today
            from known as k
            left join gaps as g on g.site = k.site and g.point = k.point
            where (k.last_sample_ts is not null and k.first_sample_ts <= $as_of::timestamptz
                   and k.last_sample_ts >= $start::timestamptz)
               or g.gaps is not null
        ),
        zone_days as (  -- whether each local day of each zone in use has ended
            select z.zone, d.day,
                   timezone(z.zone, cast(d.day + 1 as timestamp)) <= $as_of::timestamptz
                       as is_complete
            from (select distinct zone from known) as z, days as d
        ),
        cells as (
            select s.site, s.point,
                   least(coalesce(q.coverage, 0.0), 1.0) as capped,
                   coalesce(q.coverage, 0.0) = 0 as is_empty, d.is_complete
            from scope as s
            join zone_days as d
                on d.zone = s.zone and d.day between s.first_day and s.today
            left join {rel['data_quality_daily']} as q
                on q.site = s.site and q.point = s.point and q.day = d.day
        ),
        means as (
            select site, point,
                   coalesce(avg(capped) filter (where is_complete), avg(capped))
                       as mean_coverage,
                   count(*) filter (where is_complete and is_empty) as empty_days
            from cells
            group by site, point
        )
        select s.site, s.point, s.timezone, s.collect_interval, s.first_sample_ts,
               s.last_sample_ts, s.gaps, s.gap_seconds, s.open_since, m.mean_coverage,
               coalesce(m.empty_days, 0) as empty_days,
               {equipment_sql('s.point', 's.site')} as equipment
        from scope as s
        left join means as m on m.site = s.site and m.point = s.point
        """,
        {"days": window.days, "as_of": window.as_of, "start": window.start})


WORST_ORDER = "mean_coverage asc nulls last, gap_seconds desc, site, point"

_POINT_COLUMNS = ("site, point, timezone, collect_interval, epoch_us(first_sample_ts), "
                  "epoch_us(last_sample_ts), gaps, gap_seconds, epoch_us(open_since), "
                  "mean_coverage, empty_days")


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=int(micros))


def _point_row(r: Sequence[Any]) -> PointRow:
    site, point, tz, interval, first_us, last_us, gaps, secs, open_us, mean, empty = r
    return PointRow(str(site), str(point), str(tz), float(interval or 0), _instant(first_us),
                    _instant(last_us), gaps_in_window=int(gaps), gap_seconds=float(secs or 0),
                    open_since=_instant(open_us),
                    mean_coverage=None if mean is None else float(mean),
                    empty_days=int(empty or 0))


def worst_points(con: duckdb.DuckDBPyConnection, limit: int, *,
                 site: str | None = None) -> list[PointRow]:
    """The ``limit`` points of lowest mean coverage (then most gap time), of one site or
    all."""
    where = "where site = $site" if site is not None else ""
    params: dict[str, Any] = {"n": limit} | ({"site": site} if site is not None else {})
    rows = con.execute(f"select {_POINT_COLUMNS} from {POINTS_TABLE} {where} "
                       f"order by {WORST_ORDER} limit $n", params).fetchall()
    return [_point_row(r) for r in rows]


def most_gap_time(con: duckdb.DuckDBPyConnection, limit: int) -> list[PointRow]:
    """The gap timeline's lanes: the points with the most gap time in the window."""
    rows = con.execute(f"select {_POINT_COLUMNS} from {POINTS_TABLE} where gaps > 0 "
                       "order by gap_seconds desc, site, point limit ?", [limit]).fetchall()
    return [_point_row(r) for r in rows]


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(points in scope, points with a gap in the window)."""
    n, with_gaps = con.execute(
        f"select count(*), count(*) filter (where gaps > 0) from {POINTS_TABLE}").fetchone() \
        or (0, 0)
    return int(n), int(with_gaps)


def never_reported(con: duckdb.DuckDBPyConnection, rel: dict[str, str],
                   limit: int) -> tuple[int, list[tuple[str, str]]]:
    """How many points never reported a sample, and the first ``limit`` of them."""
    (n,) = con.execute(f"select count(*) from {rel['points']} "
                       "where first_sample_ts is null").fetchone() or (0,)
    rows = con.execute(f"select site, point from {rel['points']} where first_sample_ts is null "
                       "order by site, point limit ?", [limit]).fetchall()
    return int(n), [(str(s), str(p)) for s, p in rows]


def sites(con: duckdb.DuckDBPyConnection, rel: dict[str, str]) -> list[SiteSummary]:
    """Every site: zone, points, points in the window, mean coverage, points below the
    look-at threshold, latest sample, open gaps."""
    rows = con.execute(
        f"""
        with listed as (
            select site, any_value(timezone) as timezone from {rel['sites']} group by site
        ),
        counted as (
            select site, min(timezone) as timezone, count(*) as points,
                   max(last_sample_ts) as last_sample
            from {rel['points']} group by site
        ),
        scoped as (
            select site, count(*) as in_window, avg(mean_coverage) as mean_coverage,
                   count(*) filter (where mean_coverage < {LOOK_COVERAGE_BELOW}) as below,
                   sum(empty_days) as empty_days
            from {POINTS_TABLE} group by site
        ),
        open_gaps as (
            select site, count(*) as open_gaps from {rel['point_gaps']} where is_open
            group by site
        ),
        every_site as (
            select site from listed union select site from counted
        )
        select e.site, coalesce(l.timezone, c.timezone, 'UTC'), coalesce(c.points, 0),
               coalesce(s.in_window, 0), s.mean_coverage, coalesce(s.below, 0),
               coalesce(s.empty_days, 0), epoch_us(c.last_sample),
               coalesce(o.open_gaps, 0)
        from every_site as e
        left join listed as l on l.site = e.site
        left join counted as c on c.site = e.site
        left join scoped as s on s.site = e.site
        left join open_gaps as o on o.site = e.site
        order by e.site""").fetchall()
    return [SiteSummary(str(site), str(tz), int(n), int(inw),
                        None if mean is None else float(mean), int(below), int(empty),
                        _instant(last_us), int(open_))
            for site, tz, n, inw, mean, below, empty, last_us, open_ in rows]


def equipment(con: duckdb.DuckDBPyConnection, limit: int, *,
              site: str | None = None) -> tuple[int, list[EquipmentSummary]]:
    """How many (site, equipment) groups there are, and the ``limit`` of lowest mean
    coverage, of one site or all."""
    where = "where site = $site" if site is not None else ""
    params: dict[str, Any] = {"n": limit} | ({"site": site} if site is not None else {})
    rows = con.execute(
        f"""
        with grouped as (
            select site, equipment, count(*) as points, avg(mean_coverage) as mean_coverage,
                   min(mean_coverage) as worst,
                   count(*) filter (where mean_coverage < {LOOK_COVERAGE_BELOW}) as below,
                   count(open_since) as open_gaps, sum(gap_seconds) as gap_seconds,
                   epoch_us(max(last_sample_ts)) as last_us,
                   count(*) over () as groups
            from {POINTS_TABLE} {where}
            group by site, equipment
        )
        select * from grouped
        order by mean_coverage asc nulls last, gap_seconds desc, site, equipment
        limit $n""", params).fetchall()
    total = int(rows[0][-1]) if rows else 0
    return total, [
        EquipmentSummary(str(s), str(eq), int(n), None if mean is None else float(mean),
                         None if worst is None else float(worst), int(below), int(open_),
                         float(secs or 0.0), _instant(last_us))
        for s, eq, n, mean, worst, below, open_, secs, last_us, _groups in rows]
