"""What ``status`` reports: plain dataclasses, the levels, and the exit status."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...warehouse.prunelog import Totals
from ..intervals import IntervalMismatch

if TYPE_CHECKING:
    pass


OK, WARNING, CRITICAL = 0, 1, 2


LEVEL_NAMES = {OK: "ok", WARNING: "warning", CRITICAL: "critical"}


DEFAULT_MAX_LAG = timedelta(minutes=30)


GAP_WINDOW = timedelta(days=7)


#: run summaries read, newest first, while looking for each site's last run
MAX_RUN_FILES = 1000


#: the command of gap-repair runs (extract/landing/repair.py); their failures are warnings
REPAIR = "repair"


SNAPSHOT_NAME = re.compile(r"^warehouse-(?P<run_id>.+)\.duckdb$")


@dataclass
class Problem:
    """One reason the status is not healthy."""

    level: str  # "warning" or "critical"
    message: str
    site: str | None = None


@dataclass
class RunInfo:
    """A run summary (``state/runs/<run_id>.json``), condensed."""

    run_id: str
    command: str
    ok: bool
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    landed: int
    quarantined: int
    sites: list[str]
    failed_sites: list[str]


@dataclass
class JobInfo:
    """The main job's own summary (``state/jobs/<run_id>.json``), condensed."""

    run_id: str
    ok: bool
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    problems: list[str]
    warnings: list[str]
    published: str | None


@dataclass
class SiteRun:
    """What the newest run that mentions a site did for it."""

    run_id: str
    command: str
    ok: bool
    error: str | None
    landed: int
    quarantined: int
    finished_at: datetime | None


@dataclass
class SiteStatus:
    site: str
    #: has a checkpoint or was named by a sync run (only those can be stale)
    synced: bool = False
    checkpoint: datetime | None = None
    checkpoint_lag_s: float | None = None
    checkpoint_stale: bool = False
    checkpoint_error: str | None = None
    last_run: SiteRun | None = None
    points: int | None = None
    newest_sample: datetime | None = None
    newest_sample_age_s: float | None = None
    samples_stale: bool = False
    open_gaps: int | None = None
    oldest_open_gap_start: datetime | None = None
    gap_seconds_7d: float | None = None


@dataclass
class TableInfo:
    name: str
    rows: int
    #: storage blocks of the table's column segments x block size; small tables share
    #: blocks, so they are over-counted
    approx_bytes: int | None
    #: set when approx_bytes is not the table as it is now: the publish's record of it,
    #: measured at this instant, before the table changed (its row count differs)
    approx_bytes_as_of: datetime | None = None


@dataclass
class SizesInfo:
    """Where the tables' ``approx_bytes`` come from."""

    #: "recorded": measured by the publish and read from the snapshot's
    #: ``_publish.table_sizes``; "measured": by this call (the file has no record)
    source: str | None = None
    #: when they were measured
    measured_at: datetime | None = None
    #: tables changed since the record (their approx_bytes are as of measured_at)
    changed_since: list[str] = field(default_factory=list)


@dataclass
class WarehouseInfo:
    #: the file asked for (--warehouse, else the default choice)
    requested: Path
    #: the file read; None when none could be read
    path: Path | None = None
    is_published_snapshot: bool = False
    note: str | None = None
    error: str | None = None
    file_bytes: int | None = None
    wal_bytes: int | None = None
    tables: list[TableInfo] = field(default_factory=list)
    sizes: SizesInfo = field(default_factory=SizesInfo)
    #: mismatched points (points.is_interval_mismatch), the farthest off first
    interval_mismatches: list[IntervalMismatch] = field(default_factory=list)


@dataclass
class HotTier:
    rows: int | None = None


@dataclass
class ColdTier:
    rows: int | None = None
    files: int | None = None
    bytes: int | None = None
    cold_until: datetime | None = None
    superseded_files: int | None = None
    superseded_bytes: int | None = None
    missing_files: list[str] = field(default_factory=list)


@dataclass
class LakeDir:
    files: int = 0
    bytes: int = 0


@dataclass
class QuarantineDir(LakeDir):
    rows: int = 0


@dataclass
class DamagedDir(LakeDir):
    """Files set aside in ``<lake>/damaged/`` (landing/damaged.py), with their notes."""

    notes: list[dict[str, Any]] = field(default_factory=list)


#: raw files deleted by the raw retention, from the lake's journal (state/retention/)
Retention = Totals


@dataclass
class Tiers:
    hot: HotTier = field(default_factory=HotTier)
    cold: ColdTier = field(default_factory=ColdTier)
    raw: LakeDir = field(default_factory=LakeDir)
    quarantine: QuarantineDir = field(default_factory=QuarantineDir)
    damaged: DamagedDir = field(default_factory=DamagedDir)
    retention: Retention = field(default_factory=Retention)


@dataclass
class PublishedInfo:
    path: Path
    exists: bool = False
    target: Path | None = None
    run_id: str | None = None
    published_at: datetime | None = None
    age_s: float | None = None


@dataclass
class Status:
    now: datetime
    lake: Path
    max_lag_s: float
    sites: list[SiteStatus]
    last_run: RunInfo | None
    last_job: JobInfo | None
    warehouse: WarehouseInfo
    tiers: Tiers
    published: PublishedInfo
    problems: list[Problem] = field(default_factory=list)
    #: run or job summaries that could not be read: ``<path>: <reason>``
    unreadable_state: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code(self)

    @property
    def level(self) -> str:
        return LEVEL_NAMES[exit_code(self)]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types: instants as ISO 8601 text, paths as text."""
        doc = _plain(asdict(self))
        assert isinstance(doc, dict)
        return {"level": self.level, "exit_code": self.exit_code, **doc}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def exit_code(status: Status) -> int:
    """2 if any problem is critical, 1 if any is a warning, else 0."""
    levels = {p.level for p in status.problems}
    return CRITICAL if "critical" in levels else WARNING if "warning" in levels else OK
