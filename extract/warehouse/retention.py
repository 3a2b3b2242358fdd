"""Raw retention: delete raw landed files whose every sample the cold tier already holds.

Optional (``ACE_RAW_RETENTION_DAYS``, unset: raw is kept for ever) and conservative
(docs/operations.md, "Raw retention"). A raw file ``raw/site=S/date=D/<run>-<n>.parquet``
is deleted only when all of these hold:

1. its date ``D`` is more than ``older_than_days`` before today (UTC);
2. the warehouse registers it (``int_landed_files``, kind ``raw``) and every incremental
   model has incorporated it (its ``file_id`` is at or below every position in
   ``model_progress``), so no incremental run will read it again;
3. for every row of the file, the active cold tier of this warehouse holds the row's key
   with the row itself or with a row that beats it under the winner rule (a copy that lost
   to another file's is not needed either): a full rebuild, which reads the cold tier and
   the remaining raw files, resolves every key to the same winner;
4. this warehouse owns the cold tier (``<lake>/cold/.owner.json``), and the file is not the
   newest raw file of the lake (the staging view's glob must match a file).

Quarantine, metadata and state files are never touched. Late files for old dates are kept
until the next tier move has merged them (their rows are not in the cold tier before),
imports and duplicates are judged row by row as above.

Crash-safe in three steps per batch: (a) the files' landed-row counts are written to a
Parquet file of the lake (``state/retention/landings/``, fsynced) and one transaction
records the files (``raw_pruned``, ``deleted_at`` null, naming that Parquet file); (b) the
files are deleted and their directories fsynced; (c) one transaction sets ``deleted_at``.
A run killed after (a) leaves recorded files that are either gone (the next run confirms
them) or still there (the next run forgets the record and judges them again); the rebuild
macro counts a recorded file's landings only once its file is gone, so a rebuild at any
moment counts each landed copy once. The lake's journal (``state/retention/<run_id>.json``,
:mod:`.prunelog`) is written last, for every confirmed deletion not yet journaled.

The lake-wide lock is held for the whole prune, and each site's lock while its files are
judged and deleted (a site another run is landing is skipped); the warehouse is opened
read-write, so no ``dbt build`` runs meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ..core.config import valid_retention_days
from ..core.schema import WINNER_ORDER
from ..landing.lake import fsync_dir, new_run_id, temp_path
from ..landing.locks import RunLocks, lake_wide
from . import prunelog
from .coldowner import OWNER_FILE
from .connect import connect, has_table
from .dbt import check_not_busy
from .tiers import _sql_str

log = logging.getLogger(__name__)

#: files judged per query (their rows are read into one temporary table)
BATCH_FILES = 200
#: the models whose positions must have passed a file before it may go
REQUIRED_MODELS = ("samples", "int_point_activity", "data_quality_daily")


class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``crash_at`` to simulate a process dying mid-prune."""


@dataclass
class PruneResult:
    older_than_days: int
    dry_run: bool
    cutoff: date | None = None
    cold_until: datetime | None = None
    checked: int = 0
    #: files deleted (or, in a dry run, that would be): path, site, date, bytes, rows
    deleted: list[dict[str, Any]] = field(default_factory=list)
    #: old enough, but some sample is not in the cold tier (yet)
    kept: list[str] = field(default_factory=list)
    #: deletions of a run that crashed, confirmed by this one
    recovered: int = 0
    skipped_sites: list[str] = field(default_factory=list)
    #: why nothing was judged (no warehouse, lock held, cold tier of another warehouse)
    skipped: str | None = None
    journal: str | None = None
    seconds: float = 0.0

    @property
    def bytes_freed(self) -> int:
        return sum(int(f["bytes"]) for f in self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {"older_than_days": self.older_than_days, "dry_run": self.dry_run,
                "cutoff": self.cutoff.isoformat() if self.cutoff else None,
                "checked": self.checked, "deleted": len(self.deleted),
                "bytes_freed": self.bytes_freed, "kept_not_in_cold": len(self.kept),
                "recovered": self.recovered, "skipped_sites": self.skipped_sites,
                "skipped": self.skipped, "journal": self.journal,
                "seconds": round(self.seconds, 2)}

    def render(self) -> str:
        if self.skipped:
            return f"raw retention: nothing done: {self.skipped}"
        verb = "would delete" if self.dry_run else "deleted"
        text = (f"raw retention ({self.older_than_days} days, dates before {self.cutoff}): "
                f"{verb} {len(self.deleted):,} of {self.checked:,} old raw files, "
                f"{self.bytes_freed / 1e6:,.1f} MB")
        if self.kept:
            text += (f"; kept {len(self.kept):,} with samples not in the cold tier yet, "
                     f"e.g. {self.kept[0]}")
        if self.recovered:
            text += f"; confirmed {self.recovered} deletions of an interrupted run"
        if self.skipped_sites:
            text += f"; sites being landed, skipped: {', '.join(self.skipped_sites)}"
        return text


def prune_raw(warehouse: Path | str, lake_dir: Path | str, older_than_days: int, *,
              now: datetime | None = None, dry_run: bool = False, run_id: str | None = None,
              max_files: int | None = None, crash_at: str | None = None) -> PruneResult:
    """Delete (``dry_run``: list) the raw files the module docstring allows.

    ``crash_at`` (tests only) raises :class:`SimulatedCrash` at ``"after_plan"`` (recorded,
    nothing deleted), ``"mid_delete"`` (one file of the batch deleted) or
    ``"before_confirm"`` (deleted, ``deleted_at`` not set).
    """
    t0 = datetime.now(UTC)
    now = (now or t0).astimezone(UTC)
    days = valid_retention_days(older_than_days, "--older-than-days")
    warehouse, root = Path(warehouse).resolve(), Path(lake_dir).resolve()
    result = PruneResult(days, dry_run, cutoff=now.date() - timedelta(days=days))
    if not warehouse.exists():
        result.skipped = f"no warehouse at {warehouse} yet"
        return result
    check_not_busy(warehouse)
    with lake_wide(root, "raw retention") as held:
        if not held:
            result.skipped = "another run is doing lake-wide work (a later run prunes)"
            return result
        with RunLocks(root) as locks:
            con = connect(warehouse)
            try:
                _prune(con, warehouse, root, locks, result, now,
                       run_id or new_run_id(now), max_files, crash_at)
            finally:
                with contextlib.suppress(duckdb.Error):
                    con.execute("drop table if exists prune_rows")
                con.close()
    result.seconds = (datetime.now(UTC) - t0).total_seconds()
    log.info("%s (%.2fs)", result.render(), result.seconds)
    return result


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _owns_cold_tier(con: duckdb.DuckDBPyConnection, warehouse: Path, root: Path) -> bool:
    try:
        doc = json.loads((root / "cold" / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return False
    if not has_table(con, "cold_owner") or not isinstance(doc, dict):
        return False
    return bool(doc.get("warehouse") == str(warehouse)
                and doc.get("instance") == _scalar(con, "select min(instance) from cold_owner"))


def _prune(con: duckdb.DuckDBPyConnection, warehouse: Path, root: Path, locks: RunLocks,
           result: PruneResult, now: datetime, run_id: str, max_files: int | None,
           crash_at: str | None) -> None:
    missing = [t for t in ("int_landed_files", "model_progress", "cold_files", "cold_state")
               if not has_table(con, t)]
    if missing:
        result.skipped = f"the warehouse has no {', '.join(missing)} yet (run the main job)"
        return
    if not _owns_cold_tier(con, warehouse, root):
        result.skipped = (f"{warehouse} does not own the cold tier of {root} "
                          f"({OWNER_FILE}): only its owner may prune")
        return
    if not result.dry_run:
        prunelog.create_tables(con)
        result.recovered = _recover(con, now)
    result.cold_until = _scalar(con, "select max(cold_until) from cold_state")
    positions = dict(con.execute("select model, file_id from model_progress").fetchall())
    lacking = [m for m in REQUIRED_MODELS if m not in positions]
    if result.cold_until is None or lacking:
        result.skipped = ("the cold tier is empty" if result.cold_until is None else
                          f"model_progress has no position for {', '.join(lacking)}")
        _journal(con, root, result, now, run_id)
        return
    known = ("and file_path not in (select file_path from raw_pruned)"
             if has_table(con, "raw_pruned") else "")
    candidates = con.execute(f"""
        select file_id, file_path, site, partition_date from int_landed_files
        where kind = 'raw' and partition_date < ? and partition_date < cast(? as date)
            and file_id <= ?
            and file_id < (select max(file_id) from int_landed_files where kind = 'raw')
            {known}
        order by site, partition_date, file_id""",
        [result.cutoff, result.cold_until, min(positions.values())]).fetchall()
    by_site: dict[str, list[tuple[int, str, date]]] = {}
    for file_id, path, site, day in candidates[:max_files]:
        if Path(path).exists():  # else deleted by hand or set aside: nothing to judge
            by_site.setdefault(site, []).append((file_id, path, day))
    for site, files in by_site.items():
        if not locks.try_site(site):
            result.skipped_sites.append(site)
            continue
        for i in range(0, len(files), BATCH_FILES):
            _batch(con, root, result, files[i:i + BATCH_FILES], site, now, run_id, crash_at)
    _journal(con, root, result, now, run_id)


def _recover(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Finish what an interrupted prune recorded: confirm the files that are gone, forget
    the ones still there (they are judged again)."""
    pending = [r[0] for r in con.execute(
        "select file_path from raw_pruned where deleted_at is null").fetchall()]
    if not pending:
        return 0
    gone = [p for p in pending if not Path(p).exists()]
    present = [p for p in pending if Path(p).exists()]
    con.execute("begin transaction")
    try:
        if gone:
            con.execute("update raw_pruned set deleted_at = ? where deleted_at is null "
                        "and list_contains(?, file_path)", [now, gone])
        if present:
            con.execute("delete from raw_pruned where list_contains(?, file_path)", [present])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.warning("raw retention: an interrupted prune recorded %d file(s): %d deleted, "
                "%d still there (judged again)", len(pending), len(gone), len(present))
    return len(gone)


def _write_landings(con: duckdb.DuckDBPyConnection, root: Path, run_id: str,
                    paths: list[str]) -> Path:
    """The landed-row counts of ``paths`` (rows of ``prune_rows``) as a new Parquet file
    of the lake, durable before any raw file goes."""
    directory = prunelog.landings_dir(root)
    directory.mkdir(parents=True, exist_ok=True)
    n = 1 + sum(1 for _ in directory.glob(f"{run_id}-*.parquet"))
    path = directory / f"{run_id}-{n}.parquet"
    tmp = temp_path(path)
    con.execute(f"""
        copy (
            select file_path, site, point, time_bucket(interval 5 minute, ts) as bucket_start,
                count(*) as n_landed, min(ts) as first_ts, max(ts) as last_ts,
                max(extracted_at) as last_extracted_at
            from prune_rows where list_contains(?, file_path)
            group by all order by all
        ) to {_sql_str(str(tmp))} (format parquet, compression zstd)""", [paths])
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)
    return path


def _batch(con: duckdb.DuckDBPyConnection, root: Path, result: PruneResult,
           files: list[tuple[int, str, date]], site: str, now: datetime, run_id: str,
           crash_at: str | None) -> None:
    listed = ", ".join(_sql_str(p) for _, p, _ in files)
    con.execute(f"""
        create or replace temp table prune_rows as
        select filename as file_path, site, point, ts, value_raw, source, extracted_at,
            run_id, row_number() over () as rid
        from read_parquet([{listed}], filename = true, hive_partitioning = false,
                          union_by_name = true)""")
    # each landed row against the cold row of its key: the row is not needed when the cold
    # row is the same or beats it (the cold row, held earlier, wins a tie as in timeseries)
    verdict = dict((p, (int(n), int(bad))) for p, n, bad in con.execute(f"""
        with pair as (
            select rid, file_path, source, extracted_at, run_id, value_raw, 1 as tier
            from prune_rows
            union all
            select r.rid, r.file_path, c.source, c.extracted_at, c.run_id, c.value_raw,
                0 as tier
            from prune_rows as r
            inner join cold_samples as c
                on r.site = c.site and r.point = c.point and r.ts = c.ts
        ),
        won as (
            select file_path, tier from pair
            qualify row_number() over (partition by rid order by {WINNER_ORDER}, tier) = 1
        )
        select file_path, count(*), count(*) filter (where tier = 1)
        from won group by file_path""").fetchall())
    result.checked += len(files)
    eligible: list[tuple[int, str, date, int, int]] = []
    for file_id, path, day in files:
        n_rows, not_in_cold = verdict.get(path, (0, 0))
        if not_in_cold:
            result.kept.append(path)
            continue
        eligible.append((file_id, path, day, n_rows, os.stat(path).st_size))
    result.deleted += [{"path": p, "site": site, "date": d.isoformat(), "bytes": size,
                        "rows": n} for _, p, d, n, size in eligible]
    if result.dry_run or not eligible:
        return
    paths = [p for _, p, _, _, _ in eligible]
    reason = (f"every sample in the cold tier (cold_until {result.cold_until.isoformat()})"
              if result.cold_until else "every sample in the cold tier")
    reason += f"; date before {result.cutoff} ({result.older_than_days}-day retention)"
    landings = str(_write_landings(con, root, run_id, paths))
    con.execute("begin transaction")
    try:
        con.executemany(
            "insert into raw_pruned values (?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, null)",
            [[fid, p, site, d, size, n, reason, now, run_id, landings]
             for fid, p, d, n, size in eligible])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    if crash_at == "after_plan":
        raise SimulatedCrash(crash_at)
    directories = set()
    for path in paths:
        Path(path).unlink(missing_ok=True)
        directories.add(Path(path).parent)
        if crash_at == "mid_delete":
            raise SimulatedCrash(crash_at)
    for directory in sorted(directories):
        fsync_dir(directory)
        with contextlib.suppress(OSError):  # not empty: other files of the date remain
            directory.rmdir()
            fsync_dir(directory.parent)
    if crash_at == "before_confirm":
        raise SimulatedCrash(crash_at)
    con.execute("update raw_pruned set deleted_at = ? where deleted_at is null "
                "and list_contains(?, file_path)", [now, paths])


def _journal(con: duckdb.DuckDBPyConnection, root: Path, result: PruneResult, now: datetime,
             run_id: str) -> None:
    """Write the lake's journal entry for every confirmed deletion not journaled yet."""
    if result.dry_run or not has_table(con, "raw_pruned"):
        return
    rows = con.execute(
        "select file_path, site, partition_date, bytes, n_rows, reason, deleted_at, run_id "
        "from raw_pruned where deleted_at is not null and journal is null "
        "order by file_path").fetchall()
    if not rows:
        return
    files = [{"path": str(Path(p).relative_to(root)) if Path(p).is_relative_to(root) else p,
              "site": s, "date": d.isoformat(), "bytes": int(b), "rows": int(n),
              "reason": why, "deleted_at": at.isoformat(), "run_id": rid}
             for p, s, d, b, n, why, at, rid in rows]
    entry = {"run_id": run_id, "deleted_at": now.isoformat(),
             "older_than_days": result.older_than_days, "cutoff": str(result.cutoff),
             "cold_until": result.cold_until.isoformat() if result.cold_until else None,
             "files": files, "bytes": sum(f["bytes"] for f in files),
             "rows": sum(f["rows"] for f in files)}
    path = prunelog.write_journal(root, run_id, entry)
    con.execute("update raw_pruned set journal = ? where deleted_at is not null "
                "and journal is null", [path.name])
    result.journal = str(path)
