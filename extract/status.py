"""``python -m extract status``: is the pipeline healthy? One screen or JSON, and an exit status.

It only reads: the checkpoints and run summaries in the lake, the sizes of the lake's
files, and the warehouse opened read-only (by default the published snapshot, which no
build ever opens). It writes nothing, takes no lock, and never reads the API key.

Exit status for monitoring (the rules are in :data:`EXIT_HELP` and docs/status.md):
0 healthy, 1 warning, 2 critical.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from .config import Settings
from .lake import Lake, read_json
from .publish import current_snapshot
from .sync import read_checkpoint

if TYPE_CHECKING:
    import duckdb

OK, WARNING, CRITICAL = 0, 1, 2
LEVEL_NAMES = {OK: "ok", WARNING: "warning", CRITICAL: "critical"}
DEFAULT_MAX_LAG = timedelta(minutes=30)
GAP_WINDOW = timedelta(days=7)
#: run summaries read, newest first, while looking for each site's last run
MAX_RUN_FILES = 1000
#: the command of gap-repair runs (extract/repair.py); their failures are warnings
REPAIR = "repair"
SNAPSHOT_NAME = re.compile(r"^warehouse-(?P<run_id>.+)\.duckdb$")

HELP = "show the pipeline's health: checkpoints, last runs, freshness, gaps, tiers"
DESCRIPTION = """\
Per site: the checkpoint and its lag, the last run's result, the newest sample in the
warehouse, open gaps and the gap time of the last 7 days. Overall: the last main job and
run, the warehouse's tables, the hot and cold tiers, the landing lake, the published
snapshot. Read-only: the warehouse is opened read-only (by default the published
snapshot), no lock is taken, nothing is written. Lags and ages are measured against --now.
"""
EXIT_HELP = """\
exit status (for monitoring; docs/status.md has the details):
  0  healthy: none of the below
  1  warning: a synced site's checkpoint, or its newest sample in the warehouse, lags
     --now by more than --max-lag (or it has no sample there); a site has open gaps; the
     last main job reported warnings (e.g. quarantined samples); the newest run, when not
     part of that job, quarantined samples or was a failed gap repair; a warehouse was
     read but there is no published snapshot
  2  critical: nothing synced yet (no checkpoint at all); no warehouse could be read
     (none built yet, unreadable, or locked by a writer with no published snapshot to
     fall back on); the last main job needs attention (a failed site, sync, dbt build or
     cold-tier move); the newest run, when not part of that job, failed; a site's last
     sync/backfill/import failed; a checkpoint is unreadable; an active cold-tier file is
     missing. Also: bad options, or status itself failed.
"""


# --------------------------------------------------------------------------- the report


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
class Tiers:
    hot: HotTier = field(default_factory=HotTier)
    cold: ColdTier = field(default_factory=ColdTier)
    raw: LakeDir = field(default_factory=LakeDir)
    quarantine: QuarantineDir = field(default_factory=QuarantineDir)


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


# --------------------------------------------------------------------------- collecting


def default_lake() -> Path:
    """``LAKE_DIR``, default ``lake``, as the extractor reads it.

    Only LAKE_DIR is handed to :class:`Settings`: the rest of the configuration (the API
    key included) is none of status's business, and a bad tuning variable must not hide
    the pipeline's health.
    """
    return Settings.from_env({"LAKE_DIR": os.environ.get("LAKE_DIR", "")}).lake


def default_build_warehouse() -> Path:
    from .mainjob import warehouse_path

    return warehouse_path()


def collect_status(lake: Path, *, warehouse: Path | None = None,
                   published_dir: Path | None = None,
                   max_lag: timedelta = DEFAULT_MAX_LAG,
                   now: datetime | None = None) -> Status:
    """Gather the whole report. ``warehouse=None`` reads the published snapshot if there is
    one, else ``WAREHOUSE_PATH``; ``published_dir=None`` is ``PUBLISHED_DIR``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    lake = Path(lake)
    published = _published(current_snapshot(published_dir), now)
    sites: dict[str, SiteStatus] = {}
    problems: list[Problem] = []

    _read_checkpoints(Lake(lake), sites, now, max_lag)
    last_run = _read_runs(lake / "state" / "runs", sites)
    last_job = _read_last_job(lake / "state" / "jobs")
    tiers = Tiers(raw=_dir_usage(lake / "raw"), quarantine=_quarantine_usage(lake / "quarantine"))

    import duckdb  # here: every sync imports this module (for its command line)

    info, con = _open_warehouse(warehouse, published)
    if con is not None:
        try:
            _read_warehouse(con, info, tiers, sites, now, max_lag)
        except duckdb.Error as e:  # reported as critical; the lake's part still shows
            info.error = f"reading {info.path} failed: {e}"
        finally:
            con.close()

    status = Status(now=now, lake=lake, max_lag_s=max_lag.total_seconds(),
                    sites=[sites[name] for name in sorted(sites)], last_run=last_run,
                    last_job=last_job, warehouse=info, tiers=tiers, published=published,
                    problems=problems)
    problems.extend(sorted(assess(status), key=lambda p: p.level != "critical"))
    return status


def _site(sites: dict[str, SiteStatus], name: str) -> SiteStatus:
    if name not in sites:
        sites[name] = SiteStatus(name)
    return sites[name]


def _read_checkpoints(lake: Lake, sites: dict[str, SiteStatus], now: datetime,
                      max_lag: timedelta) -> None:
    directory = lake.root / "state" / "checkpoints"
    if not directory.is_dir():
        return
    for path in sorted(directory.glob("*.json")):
        s = _site(sites, path.stem)
        s.synced = True
        try:
            s.checkpoint = read_checkpoint(lake, path.stem)
        except Exception as e:  # noqa: BLE001 - reported, not raised: one bad file is one site
            s.checkpoint_error = f"{type(e).__name__}: {e}"
            continue
        if s.checkpoint is None:
            s.checkpoint_error = "empty checkpoint file"
            continue
        lag = now - s.checkpoint
        s.checkpoint_lag_s = lag.total_seconds()
        s.checkpoint_stale = lag > max_lag


def _instant(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError:
        return None


def _count(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    return value if isinstance(value, int) else 0


def _run_info(doc: dict[str, Any], fallback_id: str) -> RunInfo:
    started, finished = _instant(doc.get("started_at")), _instant(doc.get("finished_at"))
    site_docs = [s for s in doc.get("sites") or [] if isinstance(s, dict)]
    totals = doc.get("totals")
    totals = totals if isinstance(totals, dict) else {}
    return RunInfo(
        run_id=str(doc.get("run_id") or fallback_id), command=str(doc.get("command") or "?"),
        ok=doc.get("ok") is True, error=doc.get("error"), started_at=started,
        finished_at=finished,
        duration_s=(finished - started).total_seconds() if started and finished else None,
        landed=_count(totals, "landed"), quarantined=_count(totals, "quarantined"),
        sites=[str(s.get("site")) for s in site_docs],
        failed_sites=[str(s.get("site")) for s in site_docs if s.get("ok") is not True])


def _newest_docs(directory: Path, limit: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(run id, document) of the newest JSON summaries in ``directory``, newest first.

    Run ids sort in time order, so file names do too. Files are written atomically, so
    one that cannot be read is not half-written but foreign: it is skipped.
    """
    if not directory.is_dir():
        return
    names = sorted((p.name for p in directory.glob("*.json")), reverse=True)
    for name in names[:limit]:
        try:
            doc = read_json(directory / name)
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict):
            yield name.removesuffix(".json"), doc


def _read_runs(directory: Path, sites: dict[str, SiteStatus]) -> RunInfo | None:
    """The newest run summary, and for each site the newest sync, backfill or import run
    that names it (gap-repair runs are left out: the main job reports their failures).

    Reading stops once every checkpointed site is found, or after MAX_RUN_FILES summaries.
    """
    wanted = {name for name, s in sites.items() if s.synced}
    last: RunInfo | None = None
    for run_id, doc in _newest_docs(directory, MAX_RUN_FILES):
        run = _run_info(doc, run_id)
        last = last or run
        if run.command == REPAIR:
            continue
        for entry in doc.get("sites") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("site"), str):
                continue
            s = _site(sites, entry["site"])
            s.synced = s.synced or run.command == "sync"
            if s.last_run is None:
                s.last_run = SiteRun(
                    run_id=run.run_id, command=run.command, ok=entry.get("ok") is True,
                    error=entry.get("error"), landed=_count(entry, "landed"),
                    quarantined=_count(entry, "quarantined"),
                    finished_at=run.finished_at or run.started_at)
            wanted.discard(s.site)
        if not wanted:
            break
    return last


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _read_last_job(directory: Path) -> JobInfo | None:
    """The newest main-job summary (written at the end of ``python -m extract run``)."""
    for run_id, doc in _newest_docs(directory, 1):
        started = _instant(doc.get("started_at"))
        seconds = doc.get("seconds")
        duration = float(seconds) if isinstance(seconds, int | float) else None
        published = doc.get("published")
        return JobInfo(
            run_id=str(doc.get("run_id") or run_id), ok=doc.get("ok") is True,
            started_at=started,
            finished_at=started + timedelta(seconds=duration)
            if started and duration is not None else None,
            duration_s=duration, problems=_texts(doc.get("problems")),
            warnings=_texts(doc.get("warnings")),
            published=published if isinstance(published, str) else None)
    return None


def _parquet_files(root: Path) -> list[Path]:
    """Visible Parquet files under ``root`` (temporary dot-files excluded)."""
    if not root.is_dir():
        return []
    out = []
    for dirpath, _dirs, files in os.walk(root):
        out += [Path(dirpath) / f for f in files
                if f.endswith(".parquet") and not f.startswith(".")]
    return out


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _dir_usage(root: Path) -> LakeDir:
    sizes = [_size(p) for p in _parquet_files(root)]
    return LakeDir(files=len(sizes), bytes=sum(s or 0 for s in sizes))


def _quarantine_usage(root: Path) -> QuarantineDir:
    files = _parquet_files(root)
    rows = 0
    for f in files:
        try:
            rows += pq.read_metadata(f).num_rows
        except (OSError, ValueError):
            continue
    return QuarantineDir(files=len(files), bytes=sum(_size(f) or 0 for f in files), rows=rows)


def _published(current: Path, now: datetime) -> PublishedInfo:
    info = PublishedInfo(path=current, exists=current.exists())
    if not info.exists:
        return info
    info.target = current.resolve()
    m = SNAPSHOT_NAME.match(info.target.name)
    info.run_id = m.group("run_id") if m else None
    try:
        info.published_at = datetime.fromtimestamp(info.target.stat().st_mtime, UTC)
        info.age_s = (now - info.published_at).total_seconds()
    except OSError:
        pass
    return info


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    return con


def _is_lock_error(e: duckdb.Error) -> bool:
    return "lock" in str(e).lower()


def _open_warehouse(requested: Path | None, published: PublishedInfo
                    ) -> tuple[WarehouseInfo, duckdb.DuckDBPyConnection | None]:
    """Open the warehouse read-only: --warehouse, else the published snapshot, else the
    build file; a file locked by a writer falls back to the published snapshot."""
    import duckdb

    snapshot = published.target if published.exists else None
    path = requested.resolve() if requested is not None else (
        snapshot or default_build_warehouse())
    info = WarehouseInfo(requested=path, is_published_snapshot=path == snapshot)
    if not path.exists():
        info.error = f"no warehouse at {path}: nothing built yet (python -m extract run)"
        return info, None
    try:
        con = _connect(path)
    except duckdb.Error as e:
        if not _is_lock_error(e):
            info.error = f"cannot open {path}: {e}"
            return info, None
        if snapshot is None or snapshot == path:
            info.error = (f"{path} is locked by a writer (a build is running) and there is "
                          "no published snapshot to read instead")
            return info, None
        info.note = (f"{path} is locked by a writer (a build is running); "
                     f"read the published snapshot {snapshot} instead")
        try:
            con = _connect(snapshot)
        except duckdb.Error as e2:
            info.error = f"cannot open the published snapshot {snapshot}: {e2}"
            return info, None
        path, info.is_published_snapshot = snapshot, True
    info.path = path
    info.file_bytes = _size(path)
    info.wal_bytes = _size(path.with_name(path.name + ".wal"))
    return info, con


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return None if row is None else row[0]


def _utc(value: Any) -> datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_warehouse(con: duckdb.DuckDBPyConnection, info: WarehouseInfo, tiers: Tiers,
                    sites: dict[str, SiteStatus], now: datetime, max_lag: timedelta) -> None:
    names = [r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() "
        "and schema_name = 'main' and not temporary order by table_name").fetchall()]
    block_size = _scalar(con, "select block_size from pragma_database_size() "
                              "where database_name = current_database()")
    for name in names:
        rows = _scalar(con, f"select count(*) from {_quote(name)}")
        blocks = _scalar(con, "select count(distinct block_id) from pragma_storage_info(?) "
                              "where persistent and block_id >= 0", [name])
        info.tables.append(TableInfo(name, int(rows), int(blocks) * int(block_size)
                                     if blocks is not None and block_size else None))
    rows_of = {t.name: t.rows for t in info.tables}
    tiers.hot.rows = rows_of.get("samples")
    if "cold_files" in rows_of:
        _read_cold(con, tiers.cold)
    if "points" in rows_of:
        for site, points, newest in con.execute(
                "select site, count(*), max(last_sample_ts) from points group by site"
                ).fetchall():
            s = _site(sites, site)
            s.points = int(points)
            s.newest_sample = _utc(newest)
        for s in sites.values():
            if s.newest_sample is not None:
                age = now - s.newest_sample
                s.newest_sample_age_s = age.total_seconds()
                s.samples_stale = s.synced and age > max_lag
            else:
                s.samples_stale = s.synced
    if "point_gaps" in rows_of:
        for s in sites.values():
            s.open_gaps, s.gap_seconds_7d = 0, 0.0
        for site, open_gaps, oldest, seconds in con.execute(
                """
                select site,
                       count(*) filter (where is_open),
                       min(gap_start) filter (where is_open),
                       coalesce(sum(greatest(0, epoch(least(gap_start + duration, $now))
                                               - epoch(greatest(gap_start, $since)))), 0)
                from point_gaps
                where is_open or (gap_start < $now and gap_start + duration > $since)
                group by site""", {"now": now, "since": now - GAP_WINDOW}).fetchall():
            s = _site(sites, site)
            s.open_gaps = int(open_gaps)
            s.oldest_open_gap_start = _utc(oldest)
            s.gap_seconds_7d = float(seconds)


def _read_cold(con: duckdb.DuckDBPyConnection, cold: ColdTier) -> None:
    files = con.execute("select path, active, n_rows from cold_files").fetchall()
    active = [(Path(p), n) for p, is_active, n in files if is_active]
    superseded = [Path(p) for p, is_active, _ in files if not is_active]
    cold.files = len(active)
    cold.rows = sum(int(n) for _, n in active)
    sizes = {p: _size(p) for p, _ in active}
    cold.bytes = sum(s or 0 for s in sizes.values())
    cold.missing_files = sorted(str(p) for p, s in sizes.items() if s is None)
    cold.superseded_files = len(superseded)
    cold.superseded_bytes = sum(_size(p) or 0 for p in superseded)
    cold.cold_until = _utc(_scalar(con, "select max(cold_until) from cold_state"))


# --------------------------------------------------------------------------- judging


def _part_of(run: RunInfo, job: JobInfo | None) -> bool:
    """Whether ``run`` was started by the main job ``job`` (its sync or its gap repair):
    then the job's verdict covers it."""
    if job is None or job.finished_at is None or run.started_at is None:
        return False
    return run.run_id >= job.run_id and run.started_at <= job.finished_at


def assess(status: Status) -> list[Problem]:
    """The problems, by the rules of EXIT_HELP."""
    out: list[Problem] = []

    def critical(message: str, site: str | None = None) -> None:
        out.append(Problem("critical", message, site))

    def warning(message: str, site: str | None = None) -> None:
        out.append(Problem("warning", message, site))

    lag = _fmt_span(status.max_lag_s)
    if not any(s.checkpoint is not None or s.checkpoint_error for s in status.sites):
        critical(f"nothing synced yet: no checkpoint in {status.lake / 'state' / 'checkpoints'}")
    wh = status.warehouse
    if wh.error:
        critical(wh.error)
    elif not status.published.exists:
        warning(f"no published snapshot at {status.published.path}: analysts see nothing")
    job, run = status.last_job, status.last_run
    if job is not None and not job.ok:
        critical(f"last main job {job.run_id} needs attention: "
                 + ("; ".join(job.problems) or "no problem text"))
    if job is not None and job.warnings:
        warning(f"last main job {job.run_id}: " + "; ".join(job.warnings))
    if run is not None and not _part_of(run, job):
        if not run.ok:
            why = run.error or (f"{len(run.failed_sites)} of {len(run.sites)} sites failed "
                                f"({', '.join(run.failed_sites)})")
            (warning if run.command == REPAIR else critical)(
                f"last run {run.run_id} ({run.command}) failed: {why}")
        if run.quarantined:
            warning(f"last run {run.run_id} ({run.command}) quarantined "
                    + _plural(run.quarantined, "sample"))
    for s in status.sites:
        if s.checkpoint_error:
            critical(f"unreadable checkpoint: {s.checkpoint_error}", s.site)
        r = s.last_run
        if r is not None and not r.ok:
            critical(f"last {r.command} run {r.run_id} failed: {r.error or 'no error text'}",
                     s.site)
        if s.checkpoint_stale and s.checkpoint is not None:
            warning(f"synced through {_fmt_time(s.checkpoint)}, "
                    f"{_fmt_span(s.checkpoint_lag_s)} before now (more than {lag})", s.site)
        if wh.path is not None and s.samples_stale:
            if s.newest_sample is None:
                warning("no sample in the warehouse", s.site)
            else:
                warning(f"newest sample in the warehouse is {_fmt_span(s.newest_sample_age_s)}"
                        f" old (more than {lag})", s.site)
        if s.open_gaps:
            since = (f", the oldest since {_fmt_time(s.oldest_open_gap_start)}"
                     if s.oldest_open_gap_start else "")
            warning(f"{_plural(s.open_gaps, 'open gap')} (points that stopped reporting"
                    f"{since})", s.site)
    if status.tiers.cold.missing_files:
        files = status.tiers.cold.missing_files
        critical(f"{len(files)} active cold-tier file(s) missing, e.g. {files[0]}")
    return out


# --------------------------------------------------------------------------- rendering


def _fmt_span(seconds: float | None) -> str:
    """``45s``, ``5m``, ``5m03s``, ``2h``, ``2h05m``, ``3d``, ``3d04h``; negative with ``-``."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60),
                                      ("m", 60, "s", 1)):
        if s >= size:
            whole, rest = divmod(s, size)
            part = rest // sub_size
            return f"{sign}{whole}{unit}" + (f"{part:02d}{sub}" if part else "")
    return f"{sign}{s}s"


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _fmt_time(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


def _fmt_count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def render(status: Status) -> str:
    """The report as one screen of text."""
    lines: list[str] = []
    add = lines.append
    add(f"status {status.level.upper()} (exit {status.exit_code}) at {_fmt_time(status.now)}"
        f"; max lag {_fmt_span(status.max_lag_s)}; lake {status.lake}")
    if not status.problems:
        add("problems   none")
    for p in status.problems:
        where = f"{p.site}: " if p.site else ""
        add(f"  {p.level.upper():<8} " + _clip(where + p.message, 150))

    job = status.last_job
    if job is not None:
        took = f" in {_fmt_span(job.duration_s)}" if job.duration_s is not None else ""
        add(f"last job   {job.run_id} {'ok' if job.ok else 'NEEDS ATTENTION'}{took}, "
            f"started {_fmt_time(job.started_at)}; {_plural(len(job.problems), 'problem')}, "
            f"{_plural(len(job.warnings), 'warning')}")
    run = status.last_run
    if run is None:
        add("last run   none (no run summary in the lake: nothing synced yet)")
    else:
        took = f" in {_fmt_span(run.duration_s)}" if run.duration_s is not None else ""
        add(f"last run   {run.run_id} {run.command} {'ok' if run.ok else 'FAILED'}{took}, "
            f"finished {_fmt_time(run.finished_at)}; {_fmt_count(run.landed)} landed, "
            f"{_fmt_count(run.quarantined)} quarantined, {len(run.sites)} sites"
            + (f" ({len(run.failed_sites)} failed)" if run.failed_sites else ""))

    if status.sites:
        width = max(len("site"), *(len(s.site) for s in status.sites))
        add(f"  {'site':<{width}}  {'synced through':<20}  {'lag':>6}  {'last run':<22}  "
            f"{'newest sample':<20}  {'age':>6}  {'points':>6}  {'open gaps':>9}  "
            f"{'gaps 7d':>7}")
        for s in status.sites:
            add(f"  {s.site:<{width}}  {_site_checkpoint(s):<20}  "
                f"{_fmt_span(s.checkpoint_lag_s):>6}  {_site_run(s):<22}  "
                f"{_fmt_time(s.newest_sample):<20}  {_fmt_span(s.newest_sample_age_s):>6}  "
                f"{_fmt_count(s.points):>6}  {_fmt_count(s.open_gaps):>9}  "
                f"{_fmt_span(s.gap_seconds_7d):>7}")
    else:
        add("sites      none: nothing synced yet")

    wh = status.warehouse
    if wh.path is None:
        add(f"warehouse  none: {wh.error}")
    else:
        kind = "published snapshot" if wh.is_published_snapshot else "build file"
        add(f"warehouse  {wh.path} ({kind}), {_fmt_bytes(wh.file_bytes)}"
            + (f" + {_fmt_bytes(wh.wal_bytes)} WAL" if wh.wal_bytes else ""))
        if wh.note:
            add(f"           note: {wh.note}")
        tables = ", ".join(f"{t.name} {_fmt_count(t.rows)}" for t in wh.tables)
        add(textwrap.fill(f"rows: {tables}", width=100, initial_indent=" " * 11,
                          subsequent_indent=" " * 11))

    t = status.tiers
    cold = (f"cold {_fmt_count(t.cold.rows)} rows in {_fmt_count(t.cold.files)} files, "
            f"{_fmt_bytes(t.cold.bytes)}, until {_fmt_time(t.cold.cold_until)}")
    add(f"tiers      hot {_fmt_count(t.hot.rows)} rows | {cold}")
    add(f"lake       raw {_fmt_count(t.raw.files)} files, {_fmt_bytes(t.raw.bytes)} | "
        f"quarantine {_fmt_count(t.quarantine.files)} files, "
        f"{_fmt_bytes(t.quarantine.bytes)}, {_fmt_count(t.quarantine.rows)} samples")

    pub = status.published
    if pub.exists:
        add(f"published  run {pub.run_id or '?'} at {_fmt_time(pub.published_at)} "
            f"(age {_fmt_span(pub.age_s)}): {pub.path}")
    else:
        add(f"published  none at {pub.path}")
    return "\n".join(lines)


def _site_checkpoint(s: SiteStatus) -> str:
    if s.checkpoint_error:
        return "UNREADABLE"
    return _fmt_time(s.checkpoint) if s.checkpoint else "-"


def _site_run(s: SiteStatus) -> str:
    r = s.last_run
    if r is None:
        return "-"
    if not r.ok:
        return f"FAILED {r.command}"
    return f"ok {r.command}, {_fmt_count(r.landed)} new"


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options, description and exit-status help of ``python -m extract status``."""
    from .cli import _duration, _instant  # the project's one converter (cli imports us)

    parser.description = DESCRIPTION
    parser.epilog = EXIT_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON object (fields: docs/status.md)")
    parser.add_argument("--max-lag", type=_duration("--max-lag"), default=DEFAULT_MAX_LAG,
                        metavar="DURATION",
                        help="a site whose checkpoint or newest sample lags --now by more "
                             "than this is stale (default 30m)")
    parser.add_argument("--warehouse", type=Path, metavar="PATH",
                        help="DuckDB file to read, read-only (default: the published "
                             "snapshot PUBLISHED_DIR/current.duckdb if it exists, else "
                             "WAREHOUSE_PATH); a file locked by a writer falls back to the "
                             "published snapshot")
    parser.add_argument("--lake", type=Path, help="lake root (default: $LAKE_DIR or lake)")
    parser.add_argument("--now", type=_instant("--now"), metavar="INSTANT",
                        help="measure lags and ages against this instant, ISO 8601 "
                             "(default: the current time; for reproducible reports)")


def run(args: argparse.Namespace) -> int:
    """Print the report (text or --json) and return its exit status."""
    try:
        status = collect_status(args.lake or default_lake(), warehouse=args.warehouse,
                                max_lag=args.max_lag, now=args.now)
    except Exception as e:  # noqa: BLE001 - monitoring must see a failure as critical
        print(f"error: status could not be collected: {type(e).__name__}: {e}",
              file=sys.stderr)
        return CRITICAL
    print(json.dumps(status.to_dict(), indent=2) if args.json else render(status))
    return exit_code(status)


def main(argv: list[str] | None = None) -> int:
    """``python -m extract.status``: the same command without going through cli.py."""
    parser = argparse.ArgumentParser(prog="python -m extract status", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
