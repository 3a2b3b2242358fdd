"""Collecting the status: checkpoints and run summaries from the lake, file sizes, and the
warehouse opened read-only (by default the published snapshot). Reads only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...landing.checkpoint import read_checkpoint
from ...landing.damaged import DAMAGED, damaged_notes
from ...landing.lake import Lake, read_json
from ...landing.usage import tree_usage
from ...warehouse.prunelog import read_totals
from ...warehouse.publish import current_snapshot

if TYPE_CHECKING:
    import duckdb
from .intervals import read_mismatches
from .model import (
    DEFAULT_MAX_LAG,
    GAP_WINDOW,
    MAX_RUN_FILES,
    REPAIR,
    SNAPSHOT_NAME,
    ColdTier,
    DamagedDir,
    JobInfo,
    LakeDir,
    Problem,
    PublishedInfo,
    QuarantineDir,
    RunInfo,
    SiteRun,
    SiteStatus,
    Status,
    Tiers,
    WarehouseInfo,
)
from .rules import assess
from .tables import read_tables


def collect_status(lake: Path, *, warehouse: Path | None = None,
                   published_dir: Path = Path("published"),
                   build_warehouse: Path = Path("warehouse.duckdb"),
                   max_lag: timedelta = DEFAULT_MAX_LAG,
                   now: datetime | None = None) -> Status:
    """Gather the whole report. ``warehouse=None`` reads the published snapshot of
    ``published_dir`` if there is one, else the build's file ``build_warehouse``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    lake = Path(lake)
    published = _published(current_snapshot(published_dir), now)
    sites: dict[str, SiteStatus] = {}
    problems: list[Problem] = []

    unreadable: list[str] = []
    _read_checkpoints(Lake(lake), sites, now, max_lag)
    last_run = _read_runs(lake / "state" / "runs", sites, unreadable)
    last_job = _read_last_job(lake / "state" / "jobs", unreadable)
    raw, quarantine = _lake_usage(lake)
    tiers = Tiers(raw=raw, quarantine=quarantine, damaged=_damaged_usage(lake),
                  retention=read_totals(lake))

    import duckdb  # here: every sync imports this module (for its command line)

    info, con = _open_warehouse(warehouse, published, build_warehouse)
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
                    problems=problems, unreadable_state=unreadable)
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


def _newest_docs(directory: Path, limit: int, unreadable: list[str]
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(run id, document) of the newest JSON summaries in ``directory``, newest first.

    Run ids sort in time order, so file names do too. One that cannot be read (truncated
    by a full disk, say) is skipped and named in ``unreadable`` (reported as a warning).
    """
    if not directory.is_dir():
        return
    names = sorted((p.name for p in directory.glob("*.json")), reverse=True)
    for name in names[:limit]:
        try:
            doc = read_json(directory / name)
        except (OSError, ValueError) as e:
            unreadable.append(f"{directory / name}: {type(e).__name__}: {e}")
            continue
        if isinstance(doc, dict):
            yield name.removesuffix(".json"), doc
        else:
            unreadable.append(f"{directory / name}: not a JSON object")


def _read_runs(directory: Path, sites: dict[str, SiteStatus], unreadable: list[str]
               ) -> RunInfo | None:
    """The newest run summary, and for each site the newest sync, backfill or import run
    that names it (gap-repair runs are left out: the main job reports their failures).

    Reading stops once every checkpointed site is found, or after MAX_RUN_FILES summaries.
    """
    wanted = {name for name, s in sites.items() if s.synced}
    last: RunInfo | None = None
    for run_id, doc in _newest_docs(directory, MAX_RUN_FILES, unreadable):
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


def _read_last_job(directory: Path, unreadable: list[str]) -> JobInfo | None:
    """The newest readable main-job summary (written at the end of ``python -m extract
    run``); newer ones that cannot be read are named in ``unreadable``."""
    for run_id, doc in _newest_docs(directory, MAX_RUN_FILES, unreadable):
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


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


def _lake_usage(lake: Path) -> tuple[LakeDir, QuarantineDir]:
    """raw/ and quarantine/: the writers' summaries, and a listing of what changed since
    (extract/landing/usage.py), equal to listing every file."""
    raw, bad = tree_usage(lake, "raw"), tree_usage(lake, "quarantine")
    return (LakeDir(files=raw.files, bytes=raw.bytes),
            QuarantineDir(files=bad.files, bytes=bad.bytes, rows=bad.rows))


def _damaged_usage(lake: Path) -> DamagedDir:
    files = [p for p in (lake / DAMAGED).rglob("*") if p.is_file()
             and not p.name.endswith(".json")] if (lake / DAMAGED).is_dir() else []
    return DamagedDir(files=len(files), bytes=sum(_size(f) or 0 for f in files),
                      notes=damaged_notes(lake))


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


def _open_warehouse(requested: Path | None, published: PublishedInfo, build: Path
                    ) -> tuple[WarehouseInfo, duckdb.DuckDBPyConnection | None]:
    """Open the warehouse read-only: --warehouse, else the published snapshot, else the
    build file; a file locked by a writer falls back to the published snapshot."""
    import duckdb

    snapshot = published.target if published.exists else None
    path = requested.resolve() if requested is not None else (
        snapshot or build.resolve())
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


def _read_warehouse(con: duckdb.DuckDBPyConnection, info: WarehouseInfo, tiers: Tiers,
                    sites: dict[str, SiteStatus], now: datetime, max_lag: timedelta) -> None:
    read_tables(con, info)
    rows_of = {t.name: t.rows for t in info.tables}
    tiers.hot.rows = rows_of.get("samples")
    if "cold_files" in rows_of:
        _read_cold(con, tiers.cold)
    if "points" in rows_of:
        info.interval_mismatches = read_mismatches(con)
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
