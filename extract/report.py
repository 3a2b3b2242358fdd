"""A static data-quality report of the warehouse: one self-contained HTML file.

``python -m extract.report --warehouse W --out report/index.html`` opens the DuckDB file
read-only and writes a single page with no script, no external resource and no server:
a coverage heatmap (points x local days), a gap timeline, freshness per site, the worst
points and the dbt test results of the last build (``run_results.json``). Every chart is
inline SVG; every name from the warehouse is HTML-escaped. See ``docs/report.md``.

Exit status of :func:`main`: 0 written, 2 the warehouse cannot be reported on (no file,
not built, locked by a build) or bad arguments.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

EXIT_OK, EXIT_UNUSABLE = 0, 2
DEFAULT_DAYS = 30
DEFAULT_OUT = Path("report") / "index.html"
DEFAULT_RUN_RESULTS = Path("dbt_project") / "target" / "run_results.json"
HEATMAP_MAX_ROWS = 200  # points drawn in the heatmap (worst first)
WORST_POINTS = 20
TIMELINE_MAX_LANES = 60  # points drawn in the gap timeline (most gap time first)
TIMELINE_MERGE_PX = 3.0  # gaps closer than this on the timeline are drawn as one bar
FRESH_LATE = timedelta(hours=2)  # the thresholds of `dbt source freshness` (docs/warehouse.md)
FRESH_STALE = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# What the report reads; anything missing is named in one error (a warehouse never built).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "sites": ("site", "timezone"),
    "points": ("site", "point", "timezone", "collect_interval", "first_sample_ts",
               "last_sample_ts"),
    "data_quality_daily": ("site", "point", "day", "expected", "actual", "numeric",
                           "coverage", "quality_score"),
    "point_gaps": ("site", "point", "gap_start", "gap_end", "missing_expected", "is_open"),
}

# Coverage colour bins, checked in order: (exclusive upper bound, colour, legend label).
COVERAGE_BINS: tuple[tuple[float, str, str], ...] = (
    (1e-12, "#67001f", "0 (no numeric sample)"),
    (0.5, "#d6604d", "below 50%"),
    (0.8, "#f4a582", "50 to 80%"),
    (0.95, "#fee08b", "80 to 95%"),
    (0.99, "#a6d96a", "95 to 99%"),
    (1.05, "#1a9850", "99 to 105%"),
    (math.inf, "#4393c3", "over 105% (faster than configured)"),
)
NO_DATA_COLOUR = "#e8e8e8"
GAP_COLOUR = "#d6604d"
OPEN_GAP_COLOUR = "#762a83"


class ReportError(Exception):
    """The warehouse cannot be reported on: no file, tables missing, or it is locked."""


# -- what the report shows ----------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The reported period: ``days`` local days ending with the day that holds ``as_of``."""

    as_of: datetime
    first_day: date
    last_day: date
    start: datetime  # the earliest local midnight of first_day among the sites' zones

    @property
    def days(self) -> list[date]:
        n = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(n)]


@dataclass(frozen=True)
class Cell:
    """One (point, local day) of the heatmap; ``coverage`` None when nothing was expected."""

    day: date
    coverage: float | None
    actual: int = 0
    expected: float | None = None
    quality: float | None = None
    note: str = ""  # why coverage is None, or that the day is still in progress
    complete: bool = True  # the local day ended at or before as_of


@dataclass(frozen=True)
class Gap:
    """A row of point_gaps."""

    site: str
    point: str
    start: datetime
    end: datetime | None  # None: open (the point has not reported since)
    missing_expected: float

    def shown(self, window: Window) -> tuple[datetime, datetime]:
        """The part of the gap inside ``[window.start, window.as_of]``."""
        end = window.as_of if self.end is None else min(self.end, window.as_of)
        return max(self.start, window.start), end


@dataclass
class PointRow:
    """A point in the window: its heatmap cells and its gap totals in the window."""

    site: str
    point: str
    timezone: str
    interval: float
    first_sample: datetime | None
    last_sample: datetime | None
    cells: list[Cell] = field(default_factory=list)
    gaps_in_window: int = 0
    gap_seconds: float = 0.0
    open_since: datetime | None = None
    bars: list[Gap] = field(default_factory=list)  # its gaps in the window (timeline lanes)

    @property
    def label(self) -> str:
        return f"{self.site} / {self.point}"

    @property
    def mean_coverage(self) -> float | None:
        """Mean of min(coverage, 1) over the complete days (the day in progress only counts
        when there is nothing else); None when no day of the window expected samples."""
        known = [c for c in self.cells if c.coverage is not None]
        complete = [c for c in known if c.complete] or known
        if not complete:
            return None
        return math.fsum(min(c.coverage or 0.0, 1.0) for c in complete) / len(complete)

    @property
    def empty_days(self) -> int:
        return sum(1 for c in self.cells if c.coverage == 0.0 and c.complete)


@dataclass(frozen=True)
class SiteFreshness:
    site: str
    timezone: str
    points: int
    last_sample: datetime | None
    open_gaps: int


@dataclass(frozen=True)
class DbtTestResult:
    unique_id: str
    name: str
    kind: str  # "data test" or "unit test"
    status: str
    failures: int | None
    message: str


@dataclass
class RunResults:
    path: Path | None
    problem: str | None = None  # why there are no results to show
    generated_at: str = ""
    command: str = ""
    tests: list[DbtTestResult] = field(default_factory=list)
    other_statuses: Counter[str] = field(default_factory=Counter)  # models, hooks, ...


@dataclass
class ReportData:
    warehouse: Path
    generated_at: datetime
    window: Window
    points: list[PointRow]  # in scope, worst first
    lanes: list[PointRow]  # the gap timeline's, most gap time first
    sites: list[SiteFreshness]
    never_reported: list[tuple[str, str]]
    run_results: RunResults


# -- reading the warehouse ----------------------------------------------------------------


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
        never_reported=never, run_results=read_run_results(run_results))


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


STATUS_ORDER = ("error", "fail", "warn", "runtime error", "skipped", "pass", "success")
TEST_COMMANDS = ("build", "test", "retry")  # the dbt commands whose results hold test runs
TEST_STATUSES = ("pass", "warn", "fail", "error")


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


# -- rendering ------------------------------------------------------------------------------


def e(value: object) -> str:
    """HTML-escape text or an attribute value (quotes included)."""
    return html.escape(str(value), quote=True)


def _css(status: str) -> str:
    """A status as a CSS class suffix ("runtime error" -> "runtime-error")."""
    return "".join(c if c.isalnum() else "-" for c in status)


def coverage_colour(coverage: float | None) -> str:
    if coverage is None:
        return NO_DATA_COLOUR
    for upper, colour, _label in COVERAGE_BINS:
        if coverage < upper:
            return colour
    return COVERAGE_BINS[-1][1]


def _utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _iso(t: datetime) -> str:
    """An exact ISO 8601 UTC instant for data attributes (microseconds only when present)."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{t.microsecond:06d}Z" if t.microsecond else f"{text}Z"


def _duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _shorten(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _label_width(labels: Sequence[str]) -> int:
    longest = max((len(_shorten(s)) for s in labels), default=10)
    return int(min(max(longest * 6.6 + 16, 120), 440))


CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1400px; padding: 16px 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 6px; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dl.meta dt { color: #555; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
nav a { margin-right: 14px; }
.note { color: #555; font-size: 13px; max-width: 70em; }
.chart { overflow-x: auto; border: 1px solid #ddd; padding: 6px; }
svg text { font: 11px ui-monospace, "DejaVu Sans Mono", monospace; fill: #222; }
svg text.day.partial { font-style: italic; fill: #777; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; font-size: 12px; }
.legend span.swatch { display: inline-block; width: 14px; height: 12px; margin-right: 4px;
                      vertical-align: -2px; border: 1px solid #bbb; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { font-family: ui-monospace, monospace; white-space: nowrap; }
td.name.long { white-space: normal; word-break: break-all; max-width: 40em; }
td.when { white-space: nowrap; }
.status-pass, .status-success, .fresh { color: #1a7f37; }
.status-warn, .late { color: #9a6700; font-weight: 600; }
.status-fail, .status-error, .stale, .status-runtime-error { color: #b3261e; font-weight: 700; }
.missing { color: #b3261e; }
ul.counts { list-style: none; padding: 0; display: flex; gap: 16px; }
"""


def render(data: ReportData, *, max_rows: int = HEATMAP_MAX_ROWS) -> str:
    """The whole page as one HTML string."""
    w = data.window
    tests = data.run_results.tests
    counts = Counter(t.status for t in tests)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none read"
    parts = [
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
        f"<title>Data quality report: {e(data.warehouse.name)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header id=\"summary\"><h1>Warehouse data-quality report</h1><dl class=\"meta\">",
        f"<dt>generated</dt><dd id=\"generated-at\">{e(_utc(data.generated_at))}</dd>",
        f"<dt>warehouse</dt><dd id=\"warehouse-path\">{e(data.warehouse)}</dd>",
        f"<dt>as of</dt><dd id=\"as-of\" data-as-of=\"{e(_iso(w.as_of))}\">"
        f"{e(_utc(w.as_of))}</dd>",
        f"<dt>window</dt><dd id=\"window\" data-first-day=\"{w.first_day}\" "
        f"data-last-day=\"{w.last_day}\">{len(w.days)} local days, {w.first_day} to "
        f"{w.last_day}</dd>",
        f"<dt>points</dt><dd>{len(data.points)} reported in the window, "
        f"{len(data.never_reported)} never reported, {len(data.sites)} sites</dd>",
        f"<dt>dbt tests</dt><dd>{e(summary)}</dd>",
        "</dl><nav><a href=\"#heatmap\">coverage</a><a href=\"#gaps\">gaps</a>"
        "<a href=\"#freshness\">freshness</a><a href=\"#worst\">worst points</a>"
        "<a href=\"#tests\">dbt tests</a></nav></header>",
        _heatmap_section(data, max_rows),
        _gaps_section(data),
        _freshness_section(data),
        _worst_section(data),
        _tests_section(data.run_results),
        "<footer id=\"end\" class=\"note\"><p>Written by <code>python -m extract.report</code>"
        " (docs/report.md). Times are UTC unless marked local.</p></footer>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def _legend() -> str:
    items = [f"<span><span class=\"swatch\" style=\"background:{colour}\"></span>{e(label)}"
             "</span>" for _upper, colour, label in COVERAGE_BINS]
    items.append(f"<span><span class=\"swatch\" style=\"background:{NO_DATA_COLOUR}\"></span>"
                 "nothing expected (before the first sample, or the day has not begun)</span>")
    return "<div class=\"legend\" id=\"coverage-legend\">" + "".join(items) + "</div>"


def _heatmap_section(data: ReportData, max_rows: int) -> str:
    w = data.window
    rows = data.points[:max_rows]
    left_out = len(data.points) - len(rows)
    days = w.days
    cell_w = max(18, min(36, 720 // max(len(days), 1)))
    cell_h, head_h = 16, 84
    label_w = _label_width([r.label for r in rows])
    width = label_w + len(days) * cell_w + 12
    height = head_h + len(rows) * cell_h + 6
    svg = [f"<svg id=\"coverage-heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\""
           f" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
           f"aria-label=\"coverage per point and local day\" data-rows=\"{len(rows)}\" "
           f"data-days=\"{len(days)}\">"]
    in_progress = any(not c.complete for r in rows for c in r.cells[-1:] if c.coverage is not None)
    for j, day in enumerate(days):
        x = label_w + j * cell_w + cell_w / 2 + 3
        partial = in_progress and day == w.last_day
        cls = "day partial" if partial else "day"
        svg.append(f"<text class=\"{cls}\" data-day=\"{day}\" transform=\"translate({x:.1f},"
                   f"{head_h - 5}) rotate(-90)\">{day:%a %m-%d}{' *' if partial else ''}"
                   f"<title>{day}</title></text>")
    for i, row in enumerate(rows):
        y = head_h + i * cell_h
        svg.append(f"<text class=\"label\" x=\"{label_w - 6}\" y=\"{y + cell_h - 3}\" "
                   f"text-anchor=\"end\" data-site=\"{e(row.site)}\" "
                   f"data-point=\"{e(row.point)}\">{e(_shorten(row.label))}"
                   f"<title>{e(row.label)}: mean coverage {_pct(row.mean_coverage)}</title>"
                   "</text>")
        for j, cell in enumerate(row.cells):
            x = label_w + j * cell_w
            coverage = "" if cell.coverage is None else f"{cell.coverage:.10g}"
            svg.append(
                f"<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cell_w - 1}\" "
                f"height=\"{cell_h - 1}\" fill=\"{coverage_colour(cell.coverage)}\" "
                f"data-site=\"{e(row.site)}\" data-point=\"{e(row.point)}\" "
                f"data-day=\"{cell.day}\" data-coverage=\"{coverage}\">"
                f"<title>{e(_cell_title(cell))}</title></rect>")
    svg.append("</svg>")
    note = (f"<p class=\"note\" id=\"heatmap-left-out\" data-left-out=\"{left_out}\">"
            f"{left_out} more points are not drawn: the heatmap shows the {len(rows)} with "
            "the lowest mean coverage (<code>--max-rows</code>).</p>"
            if left_out else "")
    return (
        "<section id=\"heatmap\"><h2>Coverage by point and local day</h2>"
        "<p class=\"note\">One row per point that reported in the window (or has a gap in "
        "it), worst first; one column per local calendar day of the point's site. A cell's "
        "colour is <code>data_quality_daily.coverage</code>: numeric samples / samples "
        "expected from the point's <code>collect_interval</code>, not clamped. A day without "
        "any sample is 0. Columns marked * are days still in progress at <i>as of</i> "
        "(their coverage is of the whole day so far). Hover a cell for its numbers.</p>"
        + _legend() + "<div class=\"chart\">" + "".join(svg) + "</div>" + note + "</section>")


def _cell_title(cell: Cell) -> str:
    """The tooltip of a heatmap cell (the point is the row's label, not repeated)."""
    if cell.coverage is None:
        return f"{cell.day}: {cell.note}"
    detail = f"{cell.day}: coverage {_pct(cell.coverage)}"
    if cell.expected is not None:
        detail += f", {cell.actual} of {cell.expected:g} samples"
        detail += f", quality {cell.quality:.3f}" if cell.quality is not None else ""
    return detail + (f" ({cell.note})" if cell.note else "")


def _gaps_section(data: ReportData) -> str:
    w = data.window
    with_gaps = sum(1 for r in data.points if r.gaps_in_window)
    shown = data.lanes
    intro = (
        "<section id=\"gaps\"><h2>Gap timeline</h2><p class=\"note\">One lane per point "
        "with a gap (<code>point_gaps</code>) in the window, most gap time first; the axis "
        f"runs from {e(_utc(w.start))} to <i>as of</i> ({e(_utc(w.as_of))}), ticks at UTC "
        f"midnight. <span style=\"color:{GAP_COLOUR}\">&#9632;</span> a closed gap, "
        f"<span style=\"color:{OPEN_GAP_COLOUR}\">&#9632;&#9654;</span> an open gap (the "
        "point has not reported since). Gaps closer together than "
        f"{TIMELINE_MERGE_PX:g} pixels are drawn as one bar whose tooltip counts them. "
        "Hover a bar for its times.</p>")
    if not shown:
        return intro + "<p id=\"no-gaps\">No gap in the window.</p></section>"
    label_w = _label_width([r.label for r in shown])
    plot_w = max(480, 1080 - label_w)
    lane_h, head_h = 16, 22
    width = label_w + plot_w + 24
    height = head_h + len(shown) * lane_h + 6
    span = max((w.as_of - w.start).total_seconds(), 1.0)

    def x_of(t: datetime) -> float:
        return label_w + (t - w.start).total_seconds() / span * plot_w

    svg = [f"<svg id=\"gap-timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" "
           f"height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
           "aria-label=\"gaps per point over the window\">"]
    midnights = []
    t = datetime(w.start.year, w.start.month, w.start.day, tzinfo=UTC)
    while t <= w.as_of:
        if t >= w.start:
            midnights.append(t)
        t += timedelta(days=1)
    every = max(1, math.ceil(len(midnights) / 15))
    for k, t in enumerate(midnights):
        x = x_of(t)
        svg.append(f"<line x1=\"{x:.1f}\" y1=\"{head_h - 4}\" x2=\"{x:.1f}\" y2=\"{height}\" "
                   "stroke=\"#ddd\"/>")
        if k % every == 0:
            svg.append(f"<text x=\"{x + 2:.1f}\" y=\"{head_h - 8}\">{t:%m-%d}</text>")
    for i, row in enumerate(shown):
        y = head_h + i * lane_h
        if i % 2 == 0:
            svg.append(f"<rect x=\"{label_w}\" y=\"{y}\" width=\"{plot_w}\" height=\"{lane_h}\" "
                       "fill=\"#f6f6f6\"/>")
        svg.append(f"<text class=\"label\" x=\"{label_w - 6}\" y=\"{y + lane_h - 4}\" "
                   f"text-anchor=\"end\" data-site=\"{e(row.site)}\" "
                   f"data-point=\"{e(row.point)}\">{e(_shorten(row.label))}<title>"
                   f"{e(row.label)}: {row.gaps_in_window} gaps, {_duration(row.gap_seconds)} "
                   "in the window</title></text>")
        for group in _merge_close(row.bars, w, x_of):
            first, last = group[0], group[-1]
            x0, x1 = x_of(first.shown(w)[0]), x_of(last.shown(w)[1])
            is_open = last.end is None
            density = _gap_fraction(group, w)
            svg.append(
                f"<rect class=\"gap{' open' if is_open else ''}\" x=\"{x0:.2f}\" "
                f"y=\"{y + 3}\" width=\"{max(x1 - x0, 2.0):.2f}\" height=\"{lane_h - 6}\" "
                f"fill=\"{OPEN_GAP_COLOUR if is_open else GAP_COLOUR}\" "
                f"data-site=\"{e(row.site)}\" data-point=\"{e(row.point)}\" "
                f"data-gap-start=\"{_iso(first.start)}\" "
                f"data-gap-end=\"{'' if last.end is None else _iso(last.end)}\" "
                f"data-gaps=\"{len(group)}\" data-open=\"{'true' if is_open else 'false'}\""
                + (f" fill-opacity=\"{max(density, 0.25):.2f}\"" if len(group) > 1 else "")
                + ">"
                f"<title>{e(_gap_title(row, group, w))}</title></rect>")
            if is_open:
                svg.append(f"<text class=\"open-marker\" x=\"{x1 + 1:.1f}\" "
                           f"y=\"{y + lane_h - 4}\" fill=\"{OPEN_GAP_COLOUR}\">&#9654;</text>")
    svg.append("</svg>")
    note = ""
    if with_gaps > len(shown):
        note = (f"<p class=\"note\" id=\"gaps-left-out\">{with_gaps - len(shown)} more points "
                "with gaps in the window are not drawn.</p>")
    return intro + "<div class=\"chart\">" + "".join(svg) + "</div>" + note + "</section>"


def _merge_close(gaps: Sequence[Gap], window: Window,
                 x_of: Callable[[datetime], float]) -> list[list[Gap]]:
    """Consecutive gaps (by start) less than TIMELINE_MERGE_PX apart on the axis, grouped."""
    groups: list[list[Gap]] = []
    right = -math.inf
    for gap in sorted(gaps, key=lambda g: g.start):
        lo, hi = gap.shown(window)
        if groups and x_of(lo) - right < TIMELINE_MERGE_PX and groups[-1][-1].end is not None:
            groups[-1].append(gap)
        else:
            groups.append([gap])
        right = max(right, x_of(hi))
    return groups


def _gap_fraction(group: Sequence[Gap], window: Window) -> float:
    """The share of a merged bar's span that is gap time (drawn as its opacity)."""
    spans = [g.shown(window) for g in group]
    total = math.fsum((hi - lo).total_seconds() for lo, hi in spans)
    span = (spans[-1][1] - spans[0][0]).total_seconds()
    return 1.0 if span <= 0 else min(total / span, 1.0)


def _gap_title(row: PointRow, group: Sequence[Gap], window: Window) -> str:
    first, last = group[0], group[-1]
    if len(group) > 1:
        total = math.fsum((g.shown(window)[1] - g.shown(window)[0]).total_seconds()
                          for g in group)
        end = "as of (the last is open)" if last.end is None else _utc(last.end)
        return (f"{row.label}\n{len(group)} gaps from {_utc(first.start)} to {end}: "
                f"{_duration(total)} of gap time ({_pct(_gap_fraction(group, window))} of "
                "the span; the bar's opacity)")
    if first.end is None:
        silent = (window.as_of - first.start).total_seconds()
        return (f"{row.label}\nOPEN gap since {_utc(first.start)}: no sample for "
                f"{_duration(silent)} at as of")
    length = (first.end - first.start).total_seconds()
    return (f"{row.label}\ngap {_utc(first.start)} to {_utc(first.end)} ({_duration(length)}, "
            f"about {first.missing_expected:.0f} samples missing)")


def _freshness_section(data: ReportData) -> str:
    as_of = data.window.as_of
    rows = []
    for s in data.sites:
        if s.last_sample is None:
            status, lag_text, lag_attr, bar = "stale", "never reported", "", 0.0
        else:
            lag = (as_of - s.last_sample).total_seconds()
            status = ("fresh" if lag < FRESH_LATE.total_seconds() else
                      "late" if lag < FRESH_STALE.total_seconds() else "stale")
            lag_text = _duration(lag) if lag >= 0 else "after as of"
            lag_attr = f"{lag:.0f}"
            bar = min(max(lag, 0.0) / (2 * FRESH_STALE.total_seconds()), 1.0)
        colour = {"fresh": "#1a9850", "late": "#e6a100", "stale": "#b3261e"}[status]
        last = "" if s.last_sample is None else _iso(s.last_sample)
        rows.append(
            f"<tr data-site=\"{e(s.site)}\" data-last-sample=\"{last}\" "
            f"data-lag-seconds=\"{lag_attr}\" data-status=\"{status}\">"
            f"<td class=\"name\">{e(s.site)}</td><td>{e(s.timezone)}</td>"
            f"<td class=\"num\">{s.points}</td>"
            f"<td>{e(_utc(s.last_sample)) if s.last_sample else 'never'}</td>"
            f"<td class=\"num\">{e(lag_text)}</td><td class=\"{status}\">{status}</td>"
            f"<td class=\"num\">{s.open_gaps}</td>"
            f"<td><svg width=\"160\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\">"
            f"<rect width=\"160\" height=\"10\" fill=\"#eee\"/><rect width=\"{160 * bar:.1f}\" "
            f"height=\"10\" fill=\"{colour}\"/></svg></td></tr>")
    body = "".join(rows) or "<tr><td colspan=\"8\">no site in the warehouse</td></tr>"
    return (
        "<section id=\"freshness\"><h2>Freshness per site</h2><p class=\"note\">The latest "
        "sample time of any point of the site (<code>points.last_sample_ts</code>) and its lag "
        f"behind <i>as of</i>: fresh under {_duration(FRESH_LATE.total_seconds())}, late under "
        f"{_duration(FRESH_STALE.total_seconds())}, stale beyond (the thresholds of "
        "<code>dbt source freshness</code>). Open gaps: points that stopped reporting. The "
        "bar is the lag on a 0 to 48 h scale.</p><table id=\"freshness-table\"><thead><tr>"
        "<th>site</th><th>zone</th><th>points</th><th>last sample</th><th>lag</th>"
        "<th>status</th><th>open gaps</th><th>lag</th></tr></thead><tbody>"
        + body + "</tbody></table></section>")


def _worst_section(data: ReportData) -> str:
    rows = []
    for rank, r in enumerate(data.points[:WORST_POINTS], start=1):
        mean = r.mean_coverage
        open_text = e(_utc(r.open_since)) if r.open_since else ""
        rows.append(
            f"<tr data-site=\"{e(r.site)}\" data-point=\"{e(r.point)}\" "
            f"data-mean-coverage=\"{'' if mean is None else repr(mean)}\" "
            f"data-gap-seconds=\"{r.gap_seconds:.0f}\"><td class=\"num\">{rank}</td>"
            f"<td class=\"name\">{e(r.site)}</td><td class=\"name long\">{e(r.point)}</td>"
            f"<td class=\"num\">{_pct(mean)}</td><td class=\"num\">{r.empty_days}</td>"
            f"<td class=\"num\">{r.gaps_in_window}</td>"
            f"<td class=\"num when\">{_duration(r.gap_seconds)}</td><td class=\"when\">"
            f"{open_text}</td><td class=\"when\">"
            f"{e(_utc(r.last_sample)) if r.last_sample else ''}</td></tr>")
    body = "".join(rows) or "<tr><td colspan=\"9\">no point reported in the window</td></tr>"
    never = ""
    if data.never_reported:
        names = ", ".join(e(f"{s} / {p}") for s, p in data.never_reported[:WORST_POINTS])
        more = len(data.never_reported) - WORST_POINTS
        never = (f"<p class=\"note\" id=\"never-reported\">{len(data.never_reported)} points "
                 f"in <code>points</code> have never reported a sample: {names}"
                 f"{f' and {more} more' if more > 0 else ''}.</p>")
    return (
        f"<section id=\"worst\"><h2>Worst points</h2><p class=\"note\">The {WORST_POINTS} "
        "points with the lowest mean coverage over the window's complete days (each day "
        "capped at 100%), then the most gap time.</p><table id=\"worst-points\"><thead><tr>"
        "<th>#</th><th>site</th><th>point</th><th>mean coverage</th><th>days without "
        "samples</th><th>gaps</th><th>gap time</th><th>open since</th><th>last sample</th>"
        "</tr></thead><tbody>" + body + "</tbody></table>" + never + "</section>")


def _tests_section(results: RunResults) -> str:
    head = "<section id=\"tests\"><h2>dbt test results</h2>"
    source = ""
    if results.path is not None and results.problem is None:
        source = (f"<p class=\"note\">From <code>{e(results.path)}</code> (dbt "
                  f"{e(results.command)}, generated {e(results.generated_at)}). Warn-severity "
                  "tests (e.g. <code>no_gaps</code> on <code>samples</code>) warn without "
                  "failing the build.</p>")
    if results.problem is not None:
        return (head + f"<p class=\"missing\" id=\"run-results-missing\">{e(results.problem)}"
                "</p></section>")
    counts = Counter(t.status for t in results.tests)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    items = "".join(
        f"<li data-status=\"{e(s)}\" data-count=\"{n}\"><span class=\"status-{_css(s)}\">"
        f"{e(s)}</span>: {n}</li>"
        for s, n in sorted(counts.items(), key=lambda kv: rank.get(kv[0], 3)))
    others = ", ".join(f"{n} {e(k)}" for k, n in sorted(results.other_statuses.items()))
    rows = "".join(
        f"<tr data-unique-id=\"{e(t.unique_id)}\" data-status=\"{e(t.status)}\">"
        f"<td class=\"name long\">{e(t.name)}</td><td>{e(t.kind)}</td>"
        f"<td class=\"status-{_css(t.status)}\">{e(t.status)}</td>"
        f"<td class=\"num\">{'' if t.failures is None else t.failures}</td>"
        f"<td>{e(t.message)}</td></tr>" for t in results.tests)
    return (head + source + f"<ul class=\"counts\" id=\"test-status-counts\">{items}</ul>"
            + (f"<p class=\"note\">Other nodes: {others}.</p>" if others else "")
            + "<table id=\"dbt-tests\"><thead><tr><th>test</th><th>kind</th><th>status</th>"
            "<th>failures</th><th>message</th></tr></thead><tbody>" + rows
            + "</tbody></table></section>")


# -- writing --------------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    """Write under a temporary name in the same directory, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_report(
    warehouse: Path | str,
    out: Path | str,
    *,
    run_results: Path | str | None = None,
    as_of: datetime | None = None,
    days: int = DEFAULT_DAYS,
    max_rows: int = HEATMAP_MAX_ROWS,
) -> Path:
    """Write the report of ``warehouse`` (opened read-only) to ``out``; return ``out``.

    ``as_of`` (default now; naive means UTC) ends the window of ``days`` local days.
    Raises :class:`ReportError` when the warehouse is missing, not built or locked.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    when = datetime.now(UTC) if as_of is None else as_of
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    data = load(Path(warehouse), as_of=when, days=days,
                run_results=None if run_results is None else Path(run_results))
    page = render(data, max_rows=max_rows)
    target = Path(out)
    _write_atomic(target, page)
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract.report",
        description=(
            "Write a static, self-contained HTML data-quality report of the warehouse:\n"
            "a coverage heatmap (points x local days), a gap timeline, freshness per site,\n"
            "the worst points and the dbt test results of the last build. The warehouse is\n"
            "opened read-only; the page has no script and loads nothing (no server needed)."),
        epilog=(
            "exit status: 0 written; 2 the warehouse is missing, not built (the missing\n"
            "tables are named) or locked by a running build, or bad arguments.\n"
            "See docs/report.md."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--warehouse", type=Path,
        default=Path(os.environ.get("WAREHOUSE_PATH") or "warehouse.duckdb"),
        help="the DuckDB file (default: $WAREHOUSE_PATH or warehouse.duckdb; while the "
             "schedule runs use published/current.duckdb)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the HTML file to write (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--run-results", type=Path, default=None,
        help="dbt's run_results.json of the last build (default: "
             f"{DEFAULT_RUN_RESULTS} when it exists)")
    parser.add_argument("--days", type=_positive, default=DEFAULT_DAYS,
                        help=f"local days in the window (default {DEFAULT_DAYS})")
    parser.add_argument("--as-of", type=_instant_arg, default=None,
                        help="end of the window, ISO 8601 (naive = UTC; default now)")
    parser.add_argument("--max-rows", type=_positive, default=HEATMAP_MAX_ROWS,
                        help=f"points drawn in the heatmap, worst first "
                             f"(default {HEATMAP_MAX_ROWS})")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"must be between 1 and 3660, got {value}")
    return value


def _instant_arg(text: str) -> datetime:
    from .config import parse_instant
    from .errors import ConfigError

    try:
        return parse_instant(text, "--as-of")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_results: Path | None = args.run_results
    if run_results is None and DEFAULT_RUN_RESULTS.is_file():
        run_results = DEFAULT_RUN_RESULTS
    try:
        out = write_report(args.warehouse, args.out, run_results=run_results,
                           as_of=args.as_of, days=args.days, max_rows=args.max_rows)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
