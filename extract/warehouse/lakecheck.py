"""Before a build: set aside damaged lake files, and rebuild lost cold-tier files from raw/.

Run by the main job before ``dbt build`` (step ``lake check``; docs/operations.md,
"Damaged files"):

1. every Parquet file new since the last check is read (its footer); one that cannot be
   read is moved to ``<lake>/damaged/`` with a note (landing/damaged.py);
2. every *active* cold-tier file the warehouse registers is checked (present, footer
   readable); a missing or damaged one is rebuilt from ``raw/``, the system of record: the
   winner of every key of its (site, month) older than ``cold_until``, written as a new
   file of the partition and registered in one transaction, like a move's; unless the raw
   retention deleted raw files of that (site, month): then the lost file was the only copy
   of their samples, nothing is written, and the job reports it (``unrecoverable``; the
   build then stops on the missing file, docs/operations.md, "Raw retention");
3. files set aside that the warehouse's registry ``int_landed_files`` already lists are
   renamed there to their new place with kind ``damaged``, so no model reads them (their
   ``file_id`` stays, so no other file's id changes).
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..core.schema import WINNER_ORDER
from ..landing.damaged import (
    Damaged,
    bad_files,
    check_new_files,
    looks_unreadable,
    new_parquet_files,
    parquet_problem,
    set_aside,
    set_aside_unreadable,
)
from ..landing.lake import Lake, fsync_dir
from ..landing.locks import lake_wide
from .connect import connect, has_table
from .dbt import BuildResult, WarehouseBusy, check_not_busy, dbt_build
from .prunelog import pruned_months
from .tiers import COLUMNS, FILE_COLUMNS, ROW_GROUP_SIZE, _one, _sql_str, cold_view_sql

logger = logging.getLogger(__name__)

EMPTY_COLD_VIEW = (
    "select cast(null as varchar) as site, cast(null as varchar) as point, "
    "cast(null as timestamp with time zone) as ts, cast(null as double) as value, "
    "cast(null as varchar) as value_raw, cast(null as varchar) as source, "
    "cast(null as timestamp with time zone) as extracted_at, cast(null as varchar) as run_id "
    "where false")


@dataclass
class LakeCheck:
    """What the check found and did."""

    files_checked: int = 0
    damaged: list[Damaged] = field(default_factory=list)
    cold_rebuilt: list[dict[str, Any]] = field(default_factory=list)
    #: lost cold files of months whose raw files the retention deleted: not rebuilt
    unrecoverable: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"files_checked": self.files_checked,
                "damaged": [d.as_dict() for d in self.damaged],
                "cold_rebuilt": self.cold_rebuilt, "unrecoverable": self.unrecoverable}


def check_lake(warehouse: Path, lake_dir: Path, run_id: str, now: datetime | None = None,
               earlier: list[Damaged] | None = None) -> LakeCheck:
    """Steps 1 to 3 of the module docstring; ``earlier``: files this job's sync or gap
    repair set aside already (also forgotten by the registry)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    lake = Lake(lake_dir.resolve())
    out = LakeCheck()
    # lake-wide work: when another run does some, skipped (logged); the next check takes
    # every file changed since the last one that ran
    with lake_wide(lake.root, "lake check") as held:
        if held:
            out.damaged, out.files_checked = check_new_files(lake, run_id)
        if not warehouse.exists():
            return out
        try:
            check_not_busy(warehouse)
        except WarehouseBusy as e:  # the build step says so, once; the files are checked
            logger.info("lake check: cold tier not checked: %s", e)
            return out
        con = connect(warehouse)
        try:
            if held and has_table(con, "cold_files") and has_table(con, "cold_state"):
                rebuilt, aside = rebuild_lost_cold_files(con, lake, run_id, now,
                                                         out.unrecoverable)
                out.cold_rebuilt += rebuilt
                out.damaged += aside
            forget_damaged(con, lake, [*(earlier or []), *out.damaged])
        finally:
            con.close()
    return out


def forget_damaged(con: duckdb.DuckDBPyConnection, lake: Lake, damaged: list[Damaged]) -> int:
    """Point the registry's rows of files set aside at their new place (kind ``damaged``)."""
    if not damaged or not has_table(con, "int_landed_files"):
        return 0
    root = lake.root.resolve()
    n = 0
    for d in damaged:
        was, now_at = str(root / d.path), str(root / d.moved_to)
        row = con.execute("select count(*) from int_landed_files where file_path = ?",
                          [was]).fetchone()
        if row and row[0]:
            con.execute("update int_landed_files set kind = 'damaged', file_path = ? "
                        "where file_path = ?", [now_at, was])
            n += int(row[0])
    return n


def rebuild_lost_cold_files(con: duckdb.DuckDBPyConnection, lake: Lake, run_id: str,
                            now: datetime, unrecoverable: list[dict[str, Any]] | None = None,
                            ) -> tuple[list[dict[str, Any]], list[Damaged]]:
    """Rebuild every active cold file that is missing or unreadable (module docstring);
    those of months the retention pruned go to ``unrecoverable`` instead."""
    root = lake.root.resolve()
    lost: list[tuple[str, str, str, str]] = []
    aside: list[Damaged] = []
    for site, month, path in con.execute(
            "select site, month, path from cold_files where active order by all").fetchall():
        p = Path(path)
        if not p.exists():
            lost.append((site, month, path, "missing"))
            continue
        problem = parquet_problem(p)
        if problem is None:
            continue
        lost.append((site, month, path, problem))
        if p.resolve().is_relative_to(root):
            aside.append(set_aside(lake, p, problem, run_id))
    rebuilt = []
    pruned = pruned_months(con) if lost else set()
    for site, month, path, reason in lost:
        if (site, month) in pruned:
            logger.error("cold tier: %s (site %s, month %s) is %s and the raw retention "
                         "deleted raw files of that month: not rebuilt from what raw/ has "
                         "left; restore it (docs/operations.md, \"Raw retention\")",
                         path, site, month, reason)
            if unrecoverable is not None:
                unrecoverable.append({"site": site, "month": month, "path": path,
                                      "reason": reason})
            continue
        for _ in range(3):  # a damaged raw file of the month is set aside, and again
            try:
                rows, new_path = _rebuild(con, lake, site, month, now)
                break
            except duckdb.Error as e:
                found = bad_files(lake, str(e), (lake.root / "raw" / f"site={site}").glob(
                    f"date={month}-*/*.parquet"), run_id) if looks_unreadable(str(e)) else []
                if not found:
                    raise
                aside += found
        else:
            rows, new_path = _rebuild(con, lake, site, month, now)
        logger.warning("cold tier: %s (site %s, month %s) was %s; rebuilt from raw/ with %d rows "
                    "as %s", path, site, month, reason, rows, new_path)
        rebuilt.append({"site": site, "month": month, "path": path, "reason": reason,
                        "rows": rows, "new_path": new_path})
    return rebuilt, aside


def _rebuild(con: duckdb.DuckDBPyConnection, lake: Lake, site: str, month: str,
             now: datetime) -> tuple[int, str | None]:
    until = _one(con, "select max(cold_until) from cold_state")
    start = datetime.strptime(f"{month}-01", "%Y-%m-%d").replace(tzinfo=UTC)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1)
    files = sorted(str(p) for p in (lake.root / "raw" / f"site={site}").glob(
        f"date={month}-*/*.parquet"))
    generation = _one(con, "select coalesce(max(generation), 0) from cold_files") + 1
    directory = lake.root.resolve() / "cold" / f"site={site}" / f"month={month}"
    path = directory / f"g{generation:08d}-{secrets.token_hex(4)}.parquet"
    n_rows = 0
    if files:
        # planned before written, as a move does: a crash leaves an orphan the next move
        # recognises and deletes
        con.execute("insert into cold_pending values (?, ?)", [str(path), now])
        directory.mkdir(parents=True, exist_ok=True)
        listed = ", ".join(_sql_str(f) for f in files)
        query = f"""
            select {FILE_COLUMNS} from (
                select {COLUMNS} from read_parquet([{listed}], union_by_name = true,
                                                   hive_partitioning = false)
                where ts >= ? and ts < ? and ts < ?
            )
            qualify row_number() over (partition by point, ts order by {WINNER_ORDER}) = 1
            order by point, ts"""
        n_rows = _one(con, f"select count(*) from ({query})", [start, end, until])
    con.execute("begin transaction")
    try:
        if n_rows:
            con.execute(f"copy ({query}) to {_sql_str(str(path))} (format parquet, "
                        f"compression zstd, row_group_size {ROW_GROUP_SIZE})",
                        [start, end, until])
            with open(path, "rb") as f:
                os.fsync(f.fileno())
            fsync_dir(directory)
        con.execute("update cold_files set active = false, superseded_at = ? "
                    "where active and site = ? and month = ?", [now, site, month])
        if n_rows:
            con.execute("insert into cold_files values (?, ?, ?, ?, ?, true, ?, null)",
                        [site, month, str(path), generation, n_rows, now])
        # over the files on disk: another lost partition may wait for its own rebuild
        active = [r[0] for r in con.execute(
            "select path from cold_files where active").fetchall() if Path(r[0]).exists()]
        con.execute("create or replace view cold_samples as "
                    + (cold_view_sql(active) if active else EMPTY_COLD_VIEW))
        con.execute("delete from cold_pending where path = ?", [str(path)])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return n_rows, str(path) if n_rows else None


def build_setting_aside(warehouse: Path, lake_dir: Path, run_id: str,
                        dbt_vars: dict[str, Any] | None, as_of: datetime | None,
                        extra: list[str] | None = None, log: Path | None = None
                        ) -> tuple[BuildResult, list[Damaged]]:
    """``dbt build``; when it failed on a file it could not read, that file is set aside
    (the ones its errors name, else any unreadable file of the lake: a full check, only
    after such a failure) and the build is run once more."""
    build = dbt_build(lake_dir, dbt_vars, as_of=as_of, extra=extra, log=log)
    text = "\n".join([build.error or "", *build.messages])
    if build.ok or not looks_unreadable(text):
        return build, []
    lake = Lake(lake_dir.resolve())
    with lake_wide(lake.root, "setting aside the files the build could not read") as held:
        if not held:
            return build, []
        found = bad_files(lake, text, [], run_id)
        if not found:
            found = set_aside_unreadable(lake, new_parquet_files(lake, 0.0), run_id)
        if not found:
            return build, []
        con = connect(warehouse)
        try:
            forget_damaged(con, lake, found)
        finally:
            con.close()
    logger.warning("dbt build failed on %d unreadable file(s), set aside; building again",
                   len(found))
    return dbt_build(lake_dir, dbt_vars, as_of=as_of, extra=extra, log=log), found
