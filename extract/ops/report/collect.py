"""Reading the report's data from the warehouse (opened read-only) and dbt's
``run_results.json``."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb
import pyarrow as pa

from .. import intervals
from . import lookat, summary
from .model import (
    EPOCH,
    EQUIPMENT_ROWS,
    HEATMAP_MAX_ROWS,
    LOOK_MAX,
    MISMATCH_ROWS,
    REQUIRED_COLUMNS,
    SITE_PAGES,
    STATUS_ORDER,
    TEST_COMMANDS,
    TEST_STATUSES,
    TIMELINE_MAX_LANES,
    WORST_POINTS,
    Cell,
    DbtTestResult,
    Gap,
    PointRow,
    ReportData,
    ReportError,
    RunResults,
    SitePage,
    SiteSummary,
    Window,
)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise ReportError(
            f"no warehouse at {path}: build it first (`make run`, or `dbt build "
            "--project-dir dbt_project --profiles-dir .`)")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise ReportError(
            f"cannot open {path} read-only: {exc}. While a scheduled build holds the file, "
            "report on the published snapshot instead (published/current.duckdb)") from None
    # no progress bar on stderr: the report is a step of the main job, which logs
    con.execute("set enable_progress_bar = false")
    return con


def _relations(con: duckdb.DuckDBPyConnection,
               path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The quoted relation name and the schema of every required table; ReportError names
    what is missing."""
    rows = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()").fetchall()
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for schema, table, column in rows:
        found[str(table)][str(schema)].add(str(column))
    relations: dict[str, str] = {}
    schemas_of: dict[str, str] = {}
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
        schemas_of[table] = schema
    if missing_tables or missing_columns:
        what = []
        if missing_tables:
            what.append("missing table(s) " + ", ".join(missing_tables))
        if missing_columns:
            what.append("missing column(s) " + ", ".join(missing_columns))
        raise ReportError(
            f"{path} is not a built warehouse ({'; '.join(what)}): run `make run` or `dbt "
            "build --project-dir dbt_project --profiles-dir .` first")
    return relations, schemas_of


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


def load(warehouse: Path, *, as_of: datetime, days: int, run_results: Path | None,
         max_rows: int = HEATMAP_MAX_ROWS, worst: int = WORST_POINTS,
         site_pages: int = SITE_PAGES) -> ReportData:
    """Everything the pages show, read from the warehouse (read-only) and run_results.json.

    The per-point work is aggregated in DuckDB (:mod:`.summary`); what comes back to Python
    is bounded by what is drawn: ``max_rows`` heatmap rows and ``worst`` table rows per
    page, the timeline's lanes, every site's table row and ``site_pages`` site pages."""
    con = _connect(warehouse)
    try:
        rel, schemas_of = _relations(con, warehouse)
        # optional: a warehouse built before observed intervals has no such columns
        mismatch_missing = intervals.missing_columns(con, schemas_of["points"])
        mismatches = intervals.read_mismatches(con, schemas_of["points"])
        zones = [str(z) for (z,) in con.execute(
            f"select distinct timezone from {rel['sites']} union "
            f"select distinct timezone from {rel['points']}").fetchall() if z is not None]
        window = _window(as_of, days, zones)
        summary.summarise_points(con, rel, window)
        points = summary.worst_points(con, max(max_rows, worst, LOOK_MAX))
        in_scope, with_gaps = summary.counts(con)
        never_count, never = summary.never_reported(con, rel, WORST_POINTS)
        lanes = summary.most_gap_time(con, TIMELINE_MAX_LANES)
        sites = summary.sites(con, rel)
        equipment_total, equipment = summary.equipment(con, EQUIPMENT_ROWS)
        chosen = _page_sites(sites, site_pages)
        sites = [replace(s, page=page_name(s.site)) if s.site in chosen else s for s in sites]
        pages = [_site_page(con, s, max(max_rows, worst)) for s in sites if s.page]
        drawn = points[:max_rows] + [r for p in pages for r in p.points[:max_rows]]
        _fill_cells(con, rel, window, drawn)
        _fill_bars(con, rel, window, lanes)
        looks = lookat.collect(con, rel, window, points)
    finally:
        con.close()
    return ReportData(
        warehouse=warehouse, generated_at=datetime.now(UTC), window=window, points=points,
        lanes=lanes, sites=sites, never_reported=never,
        run_results=read_run_results(run_results), look=looks, in_scope=in_scope,
        with_gaps=with_gaps, never_count=never_count, equipment=equipment,
        equipment_total=equipment_total, pages=pages, mismatches=mismatches[:MISMATCH_ROWS],
        mismatch_count=len(mismatches), mismatch_missing=mismatch_missing)


def _site_page(con: duckdb.DuckDBPyConnection, site: SiteSummary, rows: int) -> SitePage:
    total, equipment = summary.equipment(con, EQUIPMENT_ROWS, site=site.site)
    return SitePage(site, summary.worst_points(con, rows, site=site.site), equipment, total)


def _page_sites(sites: Sequence[SiteSummary], n: int) -> set[str]:
    """The ``n`` sites that get a page: lowest mean coverage, then most open gaps."""
    ranked = sorted(sites, key=lambda s: (math.inf if s.mean_coverage is None
                                          else s.mean_coverage, -s.open_gaps, s.site))
    return {s.site for s in ranked[:n]}


def page_name(site: str) -> str:
    """The file name of a site's page: ``site-<name>.html``, the name made safe for a file
    (with a short hash of the real name when anything had to be replaced)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", site)[:80]
    if safe != site or not safe:
        safe += "-" + hashlib.sha1(site.encode("utf-8")).hexdigest()[:8]
    return f"site-{safe}.html"


def _keys_table(con: duckdb.DuckDBPyConnection, rows: Sequence[PointRow]) -> str:
    """A temp table of the rows' (site, point), passed as Arrow (a Python list parameter
    is converted item by item)."""
    keys = pa.table({"site": pa.array([r.site for r in rows], pa.string()),
                     "point": pa.array([r.point for r in rows], pa.string())})
    con.register("report_keys_arrow", keys)
    try:
        con.execute("create or replace temp table report_keys as "
                    "select distinct site, point from report_keys_arrow")
    finally:
        con.unregister("report_keys_arrow")
    return "report_keys"


def _fill_cells(con: duckdb.DuckDBPyConnection, rel: dict[str, str], window: Window,
                rows: Sequence[PointRow]) -> None:
    """The heatmap cells of the rows drawn (only theirs are read)."""
    if not rows:
        return
    keys = _keys_table(con, rows)
    quality_rows = con.execute(
        f"select q.site, q.point, q.day, q.coverage, q.actual, q.expected, q.quality_score "
        f"from {rel['data_quality_daily']} as q "
        f"semi join {keys} as k "
        f"on k.site = q.site and k.point = q.point "
        f"where q.day >= ? and q.day <= ?", [window.first_day, window.last_day]).fetchall()
    quality = {(str(s), str(p), d): (cov, actual, expected, score)
               for s, p, d, cov, actual, expected, score in quality_rows}
    for row in rows:
        row.cells = _cells(row, window, quality)


def _fill_bars(con: duckdb.DuckDBPyConnection, rel: dict[str, str], window: Window,
               lanes: Sequence[PointRow]) -> None:
    """The gaps of the timeline's lanes (only theirs: a flapping fleet has millions)."""
    if not lanes:
        return
    keys = _keys_table(con, lanes)
    lo, hi = window.start, window.as_of
    gap_rows = con.execute(
        f"select g.site, g.point, epoch_us(g.gap_start), epoch_us(g.gap_end), "
        f"g.missing_expected from {rel['point_gaps']} as g "
        f"semi join {keys} as k on k.site = g.site and k.point = g.point "
        f"where g.gap_start < ? and (g.gap_end is null or g.gap_end > ?) "
        f"order by g.site, g.point, g.gap_start", [hi, lo]).fetchall()
    by_point: dict[tuple[str, str], list[Gap]] = defaultdict(list)
    for site, point, start_us, end_us, missing in gap_rows:
        start = _instant(start_us)
        assert start is not None
        by_point[(str(site), str(point))].append(
            Gap(str(site), str(point), start, _instant(end_us), float(missing or 0.0)))
    for row in lanes:
        row.bars = by_point.get((row.site, row.point), [])


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
