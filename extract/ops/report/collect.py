"""Reading the report's data from the warehouse (opened read-only) and dbt's
``run_results.json``."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from . import lookat
from .model import (
    EPOCH,
    REQUIRED_COLUMNS,
    STATUS_ORDER,
    TEST_COMMANDS,
    TEST_STATUSES,
    TIMELINE_MAX_LANES,
    Cell,
    DbtTestResult,
    Gap,
    PointRow,
    ReportData,
    ReportError,
    RunResults,
    SiteFreshness,
    Window,
)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise ReportError(
            f"no warehouse at {path}: build it first (`make run`, or `dbt build "
            "--project-dir dbt_project --profiles-dir .`)")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(
            f"cannot open {path} read-only: {exc}. While a scheduled build holds the file, "
            "report on the published snapshot instead (published/current.duckdb)") from None


def _relations(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    """The quoted relation name of every required table; ReportError names what is missing."""
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()").fetchall()
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for schema, table, column in rows:
        found[str(table)][str(schema)].add(str(column))
    relations: dict[str, str] = {}
    missing_tables: list[str] = []
    missing_columns: list[str] = []
    for table, columns in REQUIRED_COLUMNS.items():
        schemas = found.get(table)
        if not schemas:
            missing_tables.append(table)
            continue
        schema = "main" if "main" in schemas else sorted(schemas)[0]
        missing_columns += [f"{table}.{c}" for c in columns if c not in schemas[schema]]
        relations[table] = '"{}"."{}"'.format(schema.replace('"', '""'), table)
    if missing_tables or missing_columns:
        what = []
        if missing_tables:
            what.append("missing table(s) " + ", ".join(missing_tables))
        if missing_columns:
            what.append("missing column(s) " + ", ".join(missing_columns))
        raise ReportError(
            f"{path} is not a built warehouse ({'; '.join(what)}): run `make run` or `dbt "
            "build --project-dir dbt_project --profiles-dir .` first")
    return relations


def _instant(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=int(micros))


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _window(as_of: datetime, days: int, zones: Iterable[str]) -> Window:
    tzs = [_zone(z) for z in set(zones)] or [ZoneInfo("UTC")]
    last_day = max(as_of.astimezone(tz).date() for tz in tzs)
    first_day = last_day - timedelta(days=days - 1)
    start = min(_local_midnight(first_day, tz) for tz in tzs)
    return Window(as_of=as_of, first_day=first_day, last_day=last_day, start=start)


def _us(t: datetime) -> int:
    delta = t - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def load(warehouse: Path, *, as_of: datetime, days: int, run_results: Path | None) -> ReportData:
    """Everything the page shows, read from the warehouse (read-only) and run_results.json."""
    con = _connect(warehouse)
    try:
        rel = _relations(con, warehouse)
        site_rows = con.execute(
            f"select site, timezone from {rel['sites']} order by site").fetchall()
        point_rows = con.execute(
            f"select site, point, timezone, collect_interval, epoch_us(first_sample_ts), "
            f"epoch_us(last_sample_ts) from {rel['points']} order by site, point").fetchall()
        window = _window(as_of, days, [str(r[1]) for r in site_rows]
                         + [str(r[2]) for r in point_rows])
        lo, hi = _us(window.start), _us(window.as_of)
        overlap = (f"epoch_us(gap_start) < {hi} and "
                   f"(gap_end is null or epoch_us(gap_end) > {lo})")
        clipped = (f"least(coalesce(epoch_us(gap_end), {hi}), {hi}) "
                   f"- greatest(epoch_us(gap_start), {lo})")
        gap_stats = con.execute(
            f"select site, point, count(*), sum({clipped}) / 1e6, "
            f"min(case when is_open then epoch_us(gap_start) end) "
            f"from {rel['point_gaps']} where {overlap} group by site, point").fetchall()
        quality_rows = con.execute(
            f"select site, point, day, coverage, actual, expected, quality_score "
            f"from {rel['data_quality_daily']} where day >= ? and day <= ?",
            [window.first_day, window.last_day]).fetchall()
        open_rows = con.execute(
            f"select site, count(*) from {rel['point_gaps']} where is_open group by site"
        ).fetchall()

        points, never = _point_rows(point_rows, gap_stats, quality_rows, window)
        lanes = sorted((r for r in points if r.gaps_in_window),
                       key=lambda r: (-r.gap_seconds, r.site, r.point))[:TIMELINE_MAX_LANES]
        # only the lanes' gaps are read: a flapping fleet has millions of them
        lane_keys = [f"{r.site}\x1f{r.point}" for r in lanes]
        gap_rows = con.execute(
            f"select site, point, epoch_us(gap_start), epoch_us(gap_end), missing_expected "
            f"from {rel['point_gaps']} where {overlap} and site || chr(31) || point in "
            f"(select unnest(?::varchar[])) order by site, point, gap_start",
            [lane_keys]).fetchall() if lane_keys else []
        looks = lookat.collect(con, rel, window, points)
    finally:
        con.close()

    by_point: dict[tuple[str, str], list[Gap]] = defaultdict(list)
    for site, point, start_us, end_us, missing in gap_rows:
        start = _instant(start_us)
        assert start is not None
        by_point[(str(site), str(point))].append(
            Gap(str(site), str(point), start, _instant(end_us), float(missing or 0.0)))
    for row in lanes:
        row.bars = by_point.get((row.site, row.point), [])
    return ReportData(
        warehouse=warehouse, generated_at=datetime.now(UTC), window=window, points=points,
        lanes=lanes, sites=_freshness(site_rows, point_rows, open_rows),
        never_reported=never, run_results=read_run_results(run_results), look=looks)


def _point_rows(
    point_rows: Sequence[tuple[Any, ...]],
    gap_stats: Sequence[tuple[Any, ...]],
    quality_rows: Sequence[tuple[Any, ...]],
    window: Window,
) -> tuple[list[PointRow], list[tuple[str, str]]]:
    """The points in scope (a sample or a gap in the window), worst first, and the points
    that never reported."""
    quality = {(str(s), str(p), d): (cov, actual, expected, score)
               for s, p, d, cov, actual, expected, score in quality_rows}
    stats = {(str(s), str(p)): (int(n), float(secs or 0.0), _instant(open_us))
             for s, p, n, secs, open_us in gap_stats}
    points: list[PointRow] = []
    never: list[tuple[str, str]] = []
    for site, point, tz, interval, first_us, last_us in point_rows:
        key = (str(site), str(point))
        first, last = _instant(first_us), _instant(last_us)
        if first is None:
            never.append(key)
            continue
        reported = last is not None and first <= window.as_of and last >= window.start
        if not reported and key not in stats:
            continue
        row = PointRow(key[0], key[1], str(tz), float(interval or 0), first, last)
        row.cells = _cells(row, window, quality)
        if key in stats:
            row.gaps_in_window, row.gap_seconds, row.open_since = stats[key]
        points.append(row)
    points.sort(key=_badness)
    return points, never


def _freshness(
    site_rows: Sequence[tuple[Any, ...]],
    point_rows: Sequence[tuple[Any, ...]],
    open_rows: Sequence[tuple[Any, ...]],
) -> list[SiteFreshness]:
    """Per site: its zone, points, latest sample of any point and open gaps."""
    last_by_site: dict[str, datetime] = {}
    count_by_site: Counter[str] = Counter()
    zone_by_site: dict[str, str] = {str(s): str(tz) for s, tz in site_rows}
    for site, _point, tz, _interval, _first_us, last_us in point_rows:
        count_by_site[str(site)] += 1
        zone_by_site.setdefault(str(site), str(tz))
        last = _instant(last_us)
        if last is not None and (str(site) not in last_by_site or last > last_by_site[str(site)]):
            last_by_site[str(site)] = last
    open_by_site = {str(s): int(n) for s, n in open_rows}
    return [SiteFreshness(site, zone_by_site[site], count_by_site[site],
                          last_by_site.get(site), open_by_site.get(site, 0))
            for site in sorted(zone_by_site)]


def _cells(row: PointRow, window: Window,
           quality: dict[tuple[str, str, date], tuple[Any, ...]]) -> list[Cell]:
    """The point's heatmap cells: data_quality_daily's coverage, 0 for a day with no sample,
    None before the point's first sample day or for a day not yet begun in its zone."""
    zone = _zone(row.timezone)
    assert row.first_sample is not None
    first_day = row.first_sample.astimezone(zone).date()
    today = window.as_of.astimezone(zone).date()
    cells = []
    for day in window.days:
        complete = _local_midnight(day + timedelta(days=1), zone) <= window.as_of
        if day > today:
            cells.append(Cell(day, None, note="the day has not begun in the site's zone"))
            continue
        if day < first_day:
            cells.append(Cell(day, None, note="before the point's first sample",
                              complete=complete))
            continue
        found = quality.get((row.site, row.point, day))
        if found is None:
            cells.append(Cell(day, 0.0, note="no sample that day", complete=complete))
            continue
        cov, actual, expected, score = found
        cells.append(Cell(day, float(cov or 0.0), int(actual or 0),
                          None if expected is None else float(expected),
                          None if score is None else float(score),
                          "" if complete else "day in progress", complete))
    return cells


def _badness(row: PointRow) -> tuple[float, float, str, str]:
    """Sort key, worst first: lowest mean coverage, then most gap time in the window."""
    mean = row.mean_coverage
    return (math.inf if mean is None else mean, -row.gap_seconds, row.site, row.point)


def _test_name(unique_id: str) -> tuple[str, str]:
    """(kind, readable name) of a run result's unique_id (``test.pkg.name.hash``)."""
    parts = unique_id.split(".")
    if parts[0] == "unit_test":
        return "unit test", ".".join(parts[2:])
    rest = parts[2:]
    if len(rest) > 1 and len(rest[-1]) == 10 and all(c in "0123456789abcdef" for c in rest[-1]):
        rest = rest[:-1]  # the hash dbt appends to generic tests
    return "data test", ".".join(rest)


def read_run_results(path: Path | None) -> RunResults:
    """The test results of a dbt invocation's run_results.json (missing file: say so)."""
    if path is None:
        return RunResults(None, "no run_results.json was given (--run-results)")
    if not path.is_file():
        return RunResults(path, f"{path} does not exist (no dbt build has written it yet)")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        meta = doc.get("metadata", {})
        which = str((doc.get("args") or {}).get("which", ""))
        out = RunResults(path, None, str(meta.get("generated_at", "")),
                         "docs generate" if which == "generate" else which)
        for item in doc.get("results", []):
            uid = str(item.get("unique_id", ""))
            status = str(item.get("status", ""))
            if uid.startswith(("test.", "unit_test.")):
                kind, name = _test_name(uid)
                failures = item.get("failures")
                message = " ".join(str(item.get("message") or "").split())
                out.tests.append(DbtTestResult(
                    uid, name, kind, status,
                    None if failures is None else int(failures), message[:300]))
            else:
                out.other_statuses[f"{uid.split('.')[0]} {status}"] += 1
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        return RunResults(path, f"{path} could not be read as dbt run results: {exc}")
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    out.tests.sort(key=lambda t: (rank.get(t.status, 3), t.name))
    ran = (out.command in TEST_COMMANDS if out.command
           else any(t.status in TEST_STATUSES for t in out.tests))
    if not out.tests or not ran:
        # `dbt docs generate`, `compile` and `run` rewrite the file: tests compiled, not run
        out.problem = (f"{path} holds no test results: it was written by `dbt "
                       f"{out.command or '?'}`, not by `dbt build` or `dbt test`")
        out.tests = []
    return out
