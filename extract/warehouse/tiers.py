"""Hot and cold tiers: move raw samples older than ``hot_days`` from DuckDB to cold Parquet.

Raw samples of the last ``hot_days`` days (dbt var ``hot_days``, default 20) live in the
warehouse table ``samples``; older ones are moved by the main job, after ``dbt build``, to::

    <lake>/cold/site=<site>/month=<YYYY-MM>/g<generation>-<random>.parquet

one active file per (site, month), sorted by point then ts, zstd, large row groups, with the
columns of ``samples`` (site comes from the path). Aggregates stay in DuckDB for all time.
The view ``timeseries`` (dbt model) shows both tiers, each key exactly once.

A move is crash-safe (docs/warehouse.md, "Hot and cold tiers"): in one DuckDB transaction
it reads the rows to move, writes for every affected partition a NEW file holding the
winner-merged union of the partition's active cold file and the moving rows (fsynced), then
deletes the moved hot rows, retires the old files and registers the new ones in
``cold_files``, raises ``cold_state.cold_until`` (and the constant macro ``cold_until()``
the view ``timeseries`` filters with) and replaces the view ``cold_samples`` (the active file
list), and commits. Before the commit nothing a reader sees has changed (new
files are not in any view); after it the new files are the cold tier. Superseded files stay
on disk for ``grace`` (24 h) because published snapshots and analysts' open sessions may
still read them, and are deleted by a later move. Before writing anything a move commits
its planned file names to ``cold_pending``; a planned file that never got registered (its
move crashed before the commit) is deleted by the next move. Files in ``cold/`` that this
warehouse never planned are left alone, except those it inherited from a warehouse it
replaced (a rebuild): those are deleted after the grace period (warehouse/coldowner.py).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ..core.config import DEFAULT_HOT_DAYS, valid_hot_days
from ..core.schema import COLD_FILE_COLUMNS, RAW_SCHEMA, WINNER_ORDER
from ..landing.lake import fsync_dir
from .coldowner import remove_inherited
from .connect import connect, has_table

log = logging.getLogger(__name__)

GRACE = timedelta(hours=24)
ROW_GROUP_SIZE = 122_880  # DuckDB's own; about one point-month per group (see docs)
COLUMNS = ", ".join(RAW_SCHEMA.names)
FILE_COLUMNS = ", ".join(COLD_FILE_COLUMNS)

class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``crash_at`` to simulate a process dying mid-move."""


@dataclass
class MoveResult:
    cold_until: datetime | None
    moved_rows: int = 0
    partitions: list[tuple[str, str]] = field(default_factory=list)
    files_written: list[Path] = field(default_factory=list)
    files_deleted: list[Path] = field(default_factory=list)
    seconds: float = 0.0


def cold_boundary(now: datetime, hot_days: int) -> datetime:
    """The start of the UTC day ``hot_days`` days before ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=hot_days)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def cold_view_sql(paths: list[str]) -> str:
    """The body of view ``cold_samples`` over the given (non-empty) active cold files; with
    none, the view is the empty one dbt's on-run-start hook made (macros/tiers.sql)."""
    files = ", ".join(_sql_str(p) for p in sorted(paths))
    return (f"select {COLUMNS} from read_parquet([{files}], hive_partitioning = true, "
            "hive_types_autocast = false)")


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    """The single value a query returns."""
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def _cleanup(con: duckdb.DuckDBPyConnection, now: datetime, grace: timedelta) -> list[Path]:
    """Delete this warehouse's orphan files (planned in ``cold_pending`` by a move that did
    not commit) and its superseded files past their grace period. Files in ``cold/`` this
    warehouse never planned are left alone (another warehouse on the same lake owns them)."""
    deleted: list[Path] = []
    orphans = [r[0] for r in con.execute(
        "select path from cold_pending anti join cold_files using (path)").fetchall()]
    for name in orphans:
        Path(name).unlink(missing_ok=True)  # written by a move that never committed
        deleted.append(Path(name))
    con.execute("delete from cold_pending")
    expired = [r[0] for r in con.execute(
        "select path from cold_files where not active and superseded_at < ?",
        [now - grace]).fetchall()]
    for name in expired:
        # the file first, its (inactive, unread) registry row second: a crash in between
        # leaves a row whose file is gone, which the next clean-up removes
        Path(name).unlink(missing_ok=True)
        con.execute("delete from cold_files where path = ?", [name])
        deleted.append(Path(name))
    return deleted


def move_to_cold(warehouse_path: Path | str, lake_dir: Path | str, hot_days: int | None = None,
                 now: datetime | None = None, *, grace: timedelta = GRACE,
                 crash_at: str | None = None) -> MoveResult:
    """Move the raw samples older than the cold boundary from ``samples`` to cold Parquet.

    ``crash_at`` (tests only) raises :class:`SimulatedCrash` at ``"after_write"`` (new files
    written, transaction not committed) or ``"after_commit"`` (committed, old files and
    orphans not yet cleaned up).
    """
    t0 = datetime.now(UTC)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    hot_days = DEFAULT_HOT_DAYS if hot_days is None else valid_hot_days(hot_days, "hot_days")
    cold_dir = (Path(lake_dir) / "cold").resolve()
    con = connect(warehouse_path)
    try:
        if not has_table(con, "samples"):
            log.info("tiers: no samples table yet, nothing to move")
            return MoveResult(None)
        if not has_table(con, "cold_state"):
            raise RuntimeError("the warehouse has no cold_state table: run dbt build first "
                               "(its on-run-start hook creates the cold tier's objects)")
        result = MoveResult(None)
        result.files_deleted += _cleanup(con, now, grace)
        result.files_deleted += remove_inherited(con, Path(warehouse_path), cold_dir, now, grace)

        boundary = cold_boundary(now, hot_days)
        prev = _one(con, "select max(cold_until) from cold_state")
        # the boundary never moves back (a larger hot_days keeps what is cold, cold)
        until = max(boundary, prev) if prev is not None else boundary
        result.cold_until = until
        # the plan, committed before any file is written: the new file of each partition
        # goes into cold_pending, so that a crash leaves orphans this warehouse knows
        generation = _one(con, "select coalesce(max(generation), 0) from cold_files") + 1
        plan: dict[tuple[str, str], Path] = {}
        for site, month in con.execute(
                "select distinct site, strftime(ts, '%Y-%m') from samples where ts < ? "
                "order by all", [until]).fetchall():
            directory = cold_dir / f"site={site}" / f"month={month}"
            plan[(site, month)] = directory / f"g{generation:08d}-{secrets.token_hex(4)}.parquet"
        if not plan and until == prev:
            # nothing to move and the boundary stays: the usual case of a 5-minute run
            log.info("tiers: nothing older than %s in the hot tier", until)
            con.execute("checkpoint")
            result.seconds = (datetime.now(UTC) - t0).total_seconds()
            return result
        if plan:
            con.executemany("insert into cold_pending values (?, ?)",
                            [[str(p), now] for p in plan.values()])

        con.execute("begin transaction")
        try:
            con.execute(f"""
                create temp table moving as
                select {COLUMNS}, strftime(ts, '%Y-%m') as month
                from samples where ts < ?""", [until])
            parts = con.execute(
                "select site, month, count(*) from moving group by all order by all").fetchall()
            unplanned = [(s, m) for s, m, _ in parts if (s, m) not in plan]
            if unplanned:  # the main job is the only writer: samples cannot change here
                raise RuntimeError(f"samples changed during the move: {unplanned}")
            new_files: list[tuple[str, str, str, int]] = []
            for site, month, _n in parts:
                old = [r[0] for r in con.execute(
                    "select path from cold_files where active and site = ? and month = ?",
                    [site, month]).fetchall()]
                path = plan[(site, month)]
                directory = path.parent
                directory.mkdir(parents=True, exist_ok=True)
                old_rows = (
                    f"select {COLUMNS}, 0 as tier from ({cold_view_sql(old)})" if old else
                    f"select {COLUMNS}, 0 as tier from moving where false")
                query = f"""
                    select {FILE_COLUMNS} from (
                        {old_rows}
                        union all
                        select {COLUMNS}, 1 as tier from moving
                        where site = {_sql_str(site)} and month = {_sql_str(month)}
                    )
                    qualify row_number() over (
                        partition by point, ts order by {WINNER_ORDER}, tier) = 1
                    order by point, ts"""
                con.execute(f"copy ({query}) to {_sql_str(str(path))} "
                            f"(format parquet, compression zstd, row_group_size {ROW_GROUP_SIZE})")
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
                fsync_dir(directory)
                n_rows = _one(con, f"select count(*) from read_parquet({_sql_str(str(path))})")
                new_files.append((site, month, str(path), n_rows))
                result.files_written.append(path)
            result.partitions = [(s, m) for s, m, _ in parts]
            if crash_at == "after_write":
                raise SimulatedCrash("after_write")

            result.moved_rows = _one(con, "select count(*) from moving")
            con.execute("delete from samples where ts < ?", [until])
            for site, month, new_path, n_rows in new_files:
                con.execute(
                    "update cold_files set active = false, superseded_at = ? "
                    "where active and site = ? and month = ?", [now, site, month])
                con.execute("insert into cold_files values (?, ?, ?, ?, ?, true, ?, null)",
                            [site, month, new_path, generation, n_rows, now])
            con.execute("delete from cold_state")
            con.execute("insert into cold_state values (?)", [until])
            active = [r[0] for r in con.execute(
                "select path from cold_files where active").fetchall()]
            if active:
                con.execute(f"create or replace view cold_samples as {cold_view_sql(active)}")
            # the same boundary as a constant for the view timeseries (macros/tiers.sql)
            con.execute("create or replace macro cold_until() as "
                        f"cast({_sql_str(until.isoformat())} as timestamp with time zone)")
            con.execute("drop table moving")
            con.execute("delete from cold_pending")  # all registered now
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        if crash_at == "after_commit":
            raise SimulatedCrash("after_commit")
        result.files_deleted += _cleanup(con, now, grace)
        con.execute("checkpoint")
    finally:
        con.close()
    result.seconds = (datetime.now(UTC) - t0).total_seconds()
    log.info("tiers: moved %d rows older than %s into %d partitions in %.2fs",
             result.moved_rows, result.cold_until, len(result.partitions), result.seconds)
    return result


def describe(result: MoveResult) -> dict[str, Any]:
    return {"cold_until": result.cold_until, "moved_rows": result.moved_rows,
            "partitions": len(result.partitions), "files_written": len(result.files_written),
            "files_deleted": len(result.files_deleted), "seconds": round(result.seconds, 2)}
