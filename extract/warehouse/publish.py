"""Publish the warehouse as a read-only snapshot that analysts open while builds go on.

DuckDB's file lock allows one read-write process or many read-only ones, never both: an
analyst's open session would make the next scheduled build fail, and a running build
would lock analysts out. So the build works on its own file (``WAREHOUSE_PATH``) and,
once it has committed, it is published (docs/publishing.md)::

    published/warehouse-<run id>.duckdb   one complete snapshot per run, a plain DuckDB file
    published/current.duckdb              symlink to the newest, swapped atomically

Analysts open ``published/current.duckdb`` read-only. A session keeps the snapshot it
opened (it is never written while anyone has it open, and an open file outlives its name),
so it never sees a half-built state and never blocks a build; reconnecting shows the newest.

A snapshot is made by **patching a retired one**, not by copying the warehouse: the newest
snapshot that is not ``current`` and that no one has open (DuckDB's own lock says so: it
cannot be attached read-write while a reader holds it) is renamed to
``.warehouse-<run id>.duckdb.tmp``, brought up to the warehouse by rewriting only the rows
of the row groups the builds since changed (:mod:`.snapdiff`), in one transaction,
checkpointed, fsynced, renamed to its new name, and ``current`` is swapped to it. Bytes
written follow the change, not the history. A **full copy** (the whole file, as the first
publish does) is made only when there is no retired snapshot to patch, all are open, the
tables' names or columns changed, or most rows changed. At most ``keep`` snapshots stay;
one beyond that is removed, even while someone reads it (they keep reading it).

Crash safety: everything is done on the hidden ``.tmp`` name, and ``current`` moves only to
a snapshot that is complete on disk, so a publish killed at any moment leaves the previous
snapshot readable. The publish runs while this process holds the warehouse open read-write,
so no other publish of it runs at the same time: a ``.warehouse-*.duckdb.tmp`` (and its
``.wal``) found then is what a killed publish left, and is removed.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import first_line
from ..landing.lake import fsync_dir
from . import snapdiff, tablesizes

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

CURRENT = "current.duckdb"
PUB = "_published_snapshot"  # the snapshot's name while this process has it attached


@dataclass
class Published:
    path: Path
    bytes: int
    removed: list[Path]
    #: "patch" (a retired snapshot brought up to date) or "copy" (the whole file)
    mode: str = "copy"
    #: the retired snapshot that was patched
    patched_from: Path | None = None
    tables_changed: list[str] = field(default_factory=list)
    rows_written: int = 0


def current_snapshot(directory: Path) -> Path:
    """``current.duckdb`` of a snapshot directory (``PUBLISHED_DIR``)."""
    return directory / CURRENT


def snapshots(directory: Path) -> list[Path]:
    """The published snapshots, oldest first (run ids sort by time)."""
    return sorted(directory.glob("warehouse-*.duckdb"))


def publish(warehouse: Path, run_id: str, directory: Path, keep: int = 3, *,
            copy: bool = False) -> Published:
    """Publish the committed warehouse as a new snapshot and point ``current`` at it:
    a retired snapshot patched up to date, else a full copy (``copy=True``: always)."""
    directory.mkdir(parents=True, exist_ok=True)
    import duckdb  # here: the sync path imports this module but never publishes

    from .connect import connect

    name = f"warehouse-{run_id}.duckdb"
    final = directory / name
    tmp = directory / f".{name}.tmp"
    con = connect(warehouse)
    try:
        con.execute("set enable_progress_bar = false")
        # fold the write-ahead log into the file, so the file is the whole committed state
        con.execute("checkpoint")
        _remove_leftovers(directory)
        out = None if copy else _patch_retired(con, warehouse, directory, tmp, run_id,
                                                   keep)
        if out is None:
            out = _full_copy(con, warehouse, tmp, run_id)
        _record_sizes(con, tmp)
    except duckdb.Error:
        tmp.unlink(missing_ok=True)
        raise
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
    existing = snapshots(directory)
    out.removed = existing[:-keep] if keep > 0 else []
    for old in out.removed:
        old.unlink(missing_ok=True)
    out.path, out.bytes = final, final.stat().st_size
    log.info("published %s (%s, %.1f MB, %d rows written); retired %d older snapshots",
             final, out.mode, out.bytes / 1e6, out.rows_written, len(out.removed))
    return out


def _remove_leftovers(directory: Path) -> None:
    for stale in [*directory.glob(".warehouse-*.duckdb.tmp"),
                  *directory.glob(".warehouse-*.duckdb.tmp.wal")]:
        log.warning("removing %s, left by a publish that did not finish (%.1f MB)",
                    stale, stale.stat().st_size / 1e6)
        stale.unlink(missing_ok=True)


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("select current_database()").fetchone()
    assert row is not None
    return str(row[0])


def _full_copy(con: duckdb.DuckDBPyConnection, warehouse: Path, tmp: Path,
               run_id: str) -> Published:
    """The whole warehouse file, then its row groups recorded in the copy's ``_publish``."""
    wh = _catalog(con)
    new = {key: snapdiff.row_groups(con, wh, t) for key, t in snapdiff.tables(con, wh).items()}
    sig, _ = snapdiff.schema_signature(con, wh)
    shutil.copyfile(warehouse, tmp)
    con.execute(f"attach '{_sql(tmp)}' as {PUB}")
    try:
        snapdiff.create_manifest(con, PUB)
        con.execute("begin")
        for key, t in snapdiff.tables(con, wh).items():
            snapdiff.write_manifest(con, PUB, t, new[key])
        snapdiff.write_state(con, PUB, str(warehouse.resolve()), sig, run_id, "copy")
        con.execute("commit")
        con.execute(f"checkpoint {PUB}")
    finally:
        con.execute(f"detach {PUB}")
    rows = sum(g.total for groups in new.values() for g in groups)
    return Published(tmp, 0, [], mode="copy", rows_written=rows)


def _record_sizes(con: duckdb.DuckDBPyConnection, tmp: Path) -> None:
    """The finished snapshot's table sizes, recorded in it for status (:mod:`.tablesizes`)."""
    con.execute(f"attach '{_sql(tmp)}' as {PUB}")
    try:
        # a patched snapshot keeps a record younger than an hour (tablesizes.RECORD_EVERY)
        tablesizes.record_quietly(con, PUB, tablesizes.RECORD_EVERY)
    finally:
        con.execute(f"detach {PUB}")


def _patch_retired(con: duckdb.DuckDBPyConnection, warehouse: Path, directory: Path,
                   tmp: Path, run_id: str, keep: int) -> Published | None:
    """Patch the newest retired snapshot no one has open into ``tmp``; None: copy instead."""
    import duckdb

    current = current_snapshot(directory)
    live = current.resolve() if current.exists() else None
    existing = snapshots(directory)
    if len(existing) < keep:  # a spare for when a reader holds the newest retired one
        return None
    for candidate in reversed(existing):
        if live is not None and candidate.resolve() == live:
            continue
        os.rename(candidate, tmp)
        try:
            con.execute(f"attach '{_sql(tmp)}' as {PUB}")
        except duckdb.Error as e:  # open in a reader: it keeps its snapshot; try another
            log.info("publish: %s is open (%s); not patching it", candidate.name,
                     first_line(e))
            os.rename(tmp, candidate)
            continue
        try:
            result = _patch(con, warehouse, run_id)
        except snapdiff.NeedsCopy as e:
            log.info("publish: a full copy, not a patch of %s: %s", candidate.name, e)
            con.execute(f"detach {PUB}")
            os.rename(tmp, candidate)
            return None
        except Exception as e:  # noqa: BLE001 - rolled back: a full copy instead
            log.warning("publish: patching %s failed (%s: %s); making a full copy",
                        candidate.name, type(e).__name__, first_line(e))
            con.execute(f"detach {PUB}")
            os.rename(tmp, candidate)  # still the snapshot it was
            return None
        con.execute(f"detach {PUB}")
        return Published(tmp, 0, [], mode="patch", patched_from=candidate,
                         tables_changed=result.tables_changed,
                         rows_written=result.rows_inserted)
    return None


def _patch(con: duckdb.DuckDBPyConnection, warehouse: Path,
           run_id: str) -> snapdiff.PatchResult:
    wh = _catalog(con)
    state = snapdiff.read_state(con, PUB)
    if state is None or state[0] != str(warehouse.resolve()):
        raise snapdiff.NeedsCopy("it was not published from this warehouse")
    ours, theirs = snapdiff.tables(con, wh), snapdiff.tables(con, PUB)
    if ours != theirs:
        raise snapdiff.NeedsCopy("the tables or their columns changed")
    sig, simple = snapdiff.schema_signature(con, wh)
    if not simple:
        raise snapdiff.NeedsCopy("the warehouse has sequences, indexes or types")
    new = {key: snapdiff.row_groups(con, wh, t) for key, t in ours.items()}
    old = {key: snapdiff.read_manifest(con, PUB, t) for key, t in ours.items()}
    total = sum(g.total for groups in new.values() for g in groups)
    changed = sum(g.total for key, groups in new.items() for g in groups
                  if g.ident not in {o.ident for o in old[key]})
    if total and changed > snapdiff.COPY_SHARE * total:
        raise snapdiff.NeedsCopy(f"{changed:,} of {total:,} rows changed")
    statements = snapdiff.schema_statements(con, wh) if sig != state[1] else None
    result = snapdiff.PatchResult()
    con.execute("begin")
    try:
        for key, t in ours.items():
            snapdiff.patch_table(con, wh, PUB, t, old[key], new[key], result)
            snapdiff.write_manifest(con, PUB, t, new[key])
        if statements is not None:
            snapdiff.replay_schema(con, wh, PUB, statements)
            result.schema_replayed = True
        snapdiff.write_state(con, PUB, str(warehouse.resolve()), sig, run_id, "patch")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute(f"checkpoint {PUB}")
    return result


def _sql(path: Path) -> str:
    return str(path).replace("'", "''")


def connect_current(directory: Path) -> duckdb.DuckDBPyConnection:
    """A read-only session on the newest published snapshot."""
    path = current_snapshot(directory)
    if not path.exists():
        raise FileNotFoundError(
            f"no published warehouse at {path}: run `make run` (or `make demo`) first")
    import duckdb

    try:
        return duckdb.connect(str(path.resolve()), read_only=True)
    except duckdb.IOException:
        # resolved just before a publish retired that snapshot and took it: the new one
        return duckdb.connect(str(path.resolve()), read_only=True)
