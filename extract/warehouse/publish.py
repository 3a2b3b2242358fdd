"""Publish the warehouse as a read-only snapshot that analysts open while builds go on.

DuckDB's file lock allows one read-write process or many read-only ones, never both: an
analyst's open session would make the next scheduled build fail, and a running build
would lock analysts out. So the build works on its own file (``WAREHOUSE_PATH``) and,
once it has committed, a copy is published::

    published/warehouse-<run id>.duckdb   one complete snapshot per run (immutable)
    published/current.duckdb              symlink to the newest, swapped atomically

Analysts open ``published/current.duckdb`` read-only. A session keeps the snapshot it
opened (the file stays readable even after it is retired: an open file outlives its
name), so it never sees a half-built state and never blocks a build; reconnecting shows
the newest. Old snapshots are removed once more than ``keep`` newer ones exist.

The copy is made while this process holds the warehouse open read-write, so no other build
of it can be publishing at the same time: a ``.warehouse-*.duckdb.tmp`` found then is the
remains of a publish that was killed mid-copy, and is removed.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..landing.lake import fsync_dir

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

CURRENT = "current.duckdb"


@dataclass
class Published:
    path: Path
    bytes: int
    removed: list[Path]


def current_snapshot(directory: Path) -> Path:
    """``current.duckdb`` of a snapshot directory (``PUBLISHED_DIR``)."""
    return directory / CURRENT


def publish(warehouse: Path, run_id: str, directory: Path, keep: int = 3) -> Published:
    """Copy the committed warehouse to a new snapshot and point ``current`` at it."""
    directory.mkdir(parents=True, exist_ok=True)
    # fold the write-ahead log into the file, so the copy is the whole committed state
    import duckdb  # here: the sync path imports this module but never publishes

    name = f"warehouse-{run_id}.duckdb"
    final = directory / name
    tmp = directory / f".{name}.tmp"
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("checkpoint")
        for stale in directory.glob(".warehouse-*.duckdb.tmp"):
            log.warning("removing %s, left by a publish that did not finish (%.1f MB)",
                        stale, stale.stat().st_size / 1e6)
            stale.unlink(missing_ok=True)
        shutil.copyfile(warehouse, tmp)
    finally:
        con.close()
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, final)
    link_tmp = directory / f".{CURRENT}.tmp"
    link_tmp.unlink(missing_ok=True)
    link_tmp.symlink_to(name)
    os.replace(link_tmp, directory / CURRENT)
    fsync_dir(directory)
    snapshots = sorted(directory.glob("warehouse-*.duckdb"))
    removed = snapshots[:-keep] if keep > 0 else []
    for old in removed:
        old.unlink(missing_ok=True)
    log.info("published %s (%.1f MB); retired %d older snapshots", final,
             final.stat().st_size / 1e6, len(removed))
    return Published(final, final.stat().st_size, removed)


def connect_current(directory: Path) -> duckdb.DuckDBPyConnection:
    """A read-only session on the newest published snapshot."""
    path = current_snapshot(directory)
    if not path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {path}: run `make run` (or `make demo`) first")
    import duckdb

    return duckdb.connect(str(path.resolve()), read_only=True)
