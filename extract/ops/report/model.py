"""What the report shows: the window, per-point rows, gaps, freshness and dbt test results,
as plain dataclasses, with the report's thresholds and colours."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ..chart.model import Series
from ..intervals import IntervalMismatch

EXIT_OK, EXIT_UNUSABLE = 0, 2


DEFAULT_DAYS = 30


DEFAULT_OUT = Path("report") / "index.html"


DEFAULT_RUN_RESULTS = Path("dbt_project") / "target" / "run_results.json"


HEATMAP_MAX_ROWS = 200  # points drawn in the heatmap (worst first), on each page


WORST_POINTS = 20  # rows of the worst-points table (--worst), on each page


SITE_PAGES = 50  # sites with a page of their own (--site-pages), worst first


EQUIPMENT_ROWS = 50  # rows of an equipment table (the worst), on each page


MISMATCH_ROWS = 20  # rows of "Interval mismatches" (the farthest off), on the main page


LOOK_MAX = 6  # charts in "Points to look at"


LOOK_PER_KIND = 3  # of the worst coverage, and of the most deviating range (unless fewer)


LOOK_COVERAGE_BELOW = 0.99  # a point is "worst coverage" below this mean coverage


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
    cells: list[Cell] = field(default_factory=list)  # only for the rows drawn
    gaps_in_window: int = 0
    gap_seconds: float = 0.0
    open_since: datetime | None = None
    bars: list[Gap] = field(default_factory=list)  # its gaps in the window (timeline lanes)
    # mean of min(coverage, 1) over the complete days (the day in progress only counts
    # when there is nothing else); None when no day of the window expected samples
    mean_coverage: float | None = None
    empty_days: int = 0  # complete days without a numeric sample

    @property
    def label(self) -> str:
        return f"{self.site} / {self.point}"


@dataclass(frozen=True)
class SiteSummary:
    """A row of the site table (its freshness, and its points' coverage)."""

    site: str
    timezone: str
    points: int  # in `points`
    in_window: int  # a sample or a gap in the window
    mean_coverage: float | None  # the mean of its points' mean coverage
    below: int  # points with a mean coverage below LOOK_COVERAGE_BELOW
    empty_days: int  # point-days without a numeric sample
    last_sample: datetime | None
    open_gaps: int
    page: str | None = None  # the file name of its page, when one is written


@dataclass(frozen=True)
class EquipmentSummary:
    """The points of one equipment of a site (the equipment segment of their names)."""

    site: str
    equipment: str  # '' when the names have no equipment segment
    points: int
    mean_coverage: float | None
    worst: float | None  # the lowest mean coverage of its points
    below: int
    open_gaps: int
    gap_seconds: float
    last_sample: datetime | None


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
class LookAt:
    """A point of "Points to look at" and its chart."""

    site: str
    point: str
    reasons: list[str]  # "coverage", "range"
    detail: str
    score: float | None = None  # the range deviation, in typical daily ranges
    series: Series | None = None
    problem: str = ""  # why there is no chart


@dataclass
class SitePage:
    """What a site's own page shows (bounded like the main page)."""

    site: SiteSummary
    points: list[PointRow]  # its worst, with cells for the heatmap's rows
    equipment: list[EquipmentSummary]
    equipment_total: int


@dataclass
class ReportData:
    warehouse: Path
    generated_at: datetime
    window: Window
    points: list[PointRow]  # the worst in scope, worst first (bounded)
    lanes: list[PointRow]  # the gap timeline's, most gap time first
    sites: list[SiteSummary]
    never_reported: list[tuple[str, str]]  # the first of them
    run_results: RunResults
    look: list[LookAt] = field(default_factory=list)  # "Points to look at"
    in_scope: int = 0  # points with a sample or a gap in the window
    with_gaps: int = 0  # of them, with a gap in the window
    never_count: int = 0
    equipment: list[EquipmentSummary] = field(default_factory=list)  # the worst, fleet-wide
    equipment_total: int = 0
    pages: list[SitePage] = field(default_factory=list)
    # "Interval mismatches": the farthest off (bounded), how many in all, and the columns of
    # `points` an older warehouse lacks (then nothing can be listed)
    mismatches: list[IntervalMismatch] = field(default_factory=list)
    mismatch_count: int = 0
    mismatch_missing: list[str] = field(default_factory=list)


STATUS_ORDER = ("error", "fail", "warn", "runtime error", "skipped", "pass", "success")


TEST_COMMANDS = ("build", "test", "retry")  # the dbt commands whose results hold test runs


TEST_STATUSES = ("pass", "warn", "fail", "error")
