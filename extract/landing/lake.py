"""The lake on disk: paths, atomic files, its locks (landing/locks.py), and what was landed
already.

Layout and guarantees are documented in ``docs/landing.md``. Every file is written under
a temporary dot-name in its final directory, fsynced, then renamed, and the directory is
fsynced: readers globbing ``*.parquet`` never see a partial file.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.duck import query
from ..core.errors import ConfigError, redact_obj
from ..core.schema import QUARANTINE_SCHEMA, RAW_SCHEMA
from .locks import LAKE_LOCK, RunLocks, take

SITE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
DICTIONARY_COLUMNS = ["site", "point", "source", "run_id", "reason", "origin"]


def check_site_name(site: str) -> str:
    """Refuse a site name that could escape the lake or break a hive partition."""
    if not SITE_NAME.match(site) or site in (".", "..") or ".." in site:
        raise ConfigError(
            f"refusing site name {site!r}: only letters, digits, '_', '-' and '.' are allowed "
            "(it becomes a directory name in the lake)")
    return site


def new_run_id(now: datetime) -> str:
    """Run ids sort in time order, to the microsecond: ``20261128T160139.482913Z-3f9a1c``."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{os.urandom(3).hex()}"


#: a temporary file's owner: ``.<name>.<host>.<pid>.tmp`` (an older version wrote
#: ``.<name>.tmp``)
_TEMP_OWNER = re.compile(r"\.([A-Za-z0-9_-]+)\.(\d+)\.tmp$")
#: a temporary file untouched this long belongs to no live run, whoever wrote it
STALE_TEMP_AGE_S = 24 * 3600.0


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname())[:64] or "host"


def temp_path(final: Path) -> Path:
    """The temporary name ``final`` is written under: a dot-name (no reader's glob sees it)
    carrying this host and process, so a clean-up can tell whether its owner is alive."""
    return final.with_name(f".{final.name}.{_host()}.{os.getpid()}.tmp")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def temp_is_stale(path: Path, now: float | None = None) -> bool:
    """True when no live run can own the temporary file ``path``: its owner process (on
    this host) is dead, it is of the older unnamed kind (whose writers held the lake
    exclusively: none runs while this run holds the lake's lock shared), or it has not
    changed for :data:`STALE_TEMP_AGE_S`."""
    m = _TEMP_OWNER.search(path.name)
    if m is None:
        return True
    if m.group(1) == _host() and not _pid_alive(int(m.group(2))):
        return True
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return False
    return age > STALE_TEMP_AGE_S


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    """``obj`` as JSON, atomically; every string redacted (a state file never holds the key)."""
    atomic_write_bytes(path, json.dumps(redact_obj(obj), indent=2, sort_keys=True).encode()
                       + b"\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


def atomic_write_table(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    pq.write_table(table, tmp, compression="zstd")
    _fsync_file(tmp)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Lake:
    root: Path

    def raw_dir(self, site: str, day: date) -> Path:
        return self.root / "raw" / f"site={check_site_name(site)}" / f"date={day.isoformat()}"

    def quarantine_dir(self, site: str, day: date) -> Path:
        return (self.root / "quarantine" / f"site={check_site_name(site)}"
                / f"date={day.isoformat()}")

    def checkpoint_path(self, site: str) -> Path:
        return self.root / "state" / "checkpoints" / f"{check_site_name(site)}.json"

    def backfill_path(self, site: str, start: datetime, end: datetime) -> Path:
        return (self.root / "state" / "backfill" / check_site_name(site)
                / f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}.json")

    def run_path(self, run_id: str) -> Path:
        return self.root / "state" / "runs" / f"{run_id}.json"

    def job_path(self, run_id: str) -> Path:
        """The main job's summary (extract/ops/mainjob.py), named by its sync's run id."""
        return self.root / "state" / "jobs" / f"{run_id}.json"

    def write_job(self, run_id: str, summary: dict[str, Any]) -> None:
        atomic_write_json(self.job_path(run_id), summary)

    def remove_stale_temps(self) -> int:
        """Delete temporary files no live run can own (:func:`temp_is_stale`): lake-wide
        work, done under the lake-wide lock. Another live run's file is left alone."""
        n = 0
        now = time.time()
        for sub in ("raw", "quarantine", "meta", "state", "cold", "damaged"):
            base = self.root / sub
            if base.exists():
                for p in base.rglob(".*.tmp"):
                    if temp_is_stale(p, now):
                        p.unlink(missing_ok=True)
                        n += 1
        return n

    def site_temp_dirs(self, site: str) -> list[Path]:
        """Where a site's runs write (its lock's holder alone): data, points, state."""
        s = check_site_name(site)
        state = self.root / "state"
        return [self.root / "raw" / f"site={s}", self.root / "quarantine" / f"site={s}",
                self.root / "meta" / "points" / f"site={s}", state / "backfill" / s]

    def remove_site_temps(self, site: str) -> int:
        """Delete every temporary file of ``site`` (call holding its lock: no live run
        can own one), whatever its owner or age."""
        n = 0
        for d in self.site_temp_dirs(site):
            if d.is_dir():
                for p in d.rglob(".*.tmp"):
                    p.unlink(missing_ok=True)
                    n += 1
        state = self.root / "state"
        mine = re.compile(rf"^\.{re.escape(site)}\.json(\.[A-Za-z0-9_-]+\.\d+)?\.tmp$")
        for d in (state / "checkpoints", state / "gap_repair", state / "meta_digests" / "points"):
            if d.is_dir():
                for p in d.glob(f".{site}.json*.tmp"):
                    if mine.match(p.name):
                        p.unlink(missing_ok=True)
                        n += 1
        return n

    def run_locks(self) -> RunLocks:
        """The locks of one landing run (extract/landing/locks.py): the lake shared, its
        sites as it takes them (their temporary files are removed then)."""
        return RunLocks(self.root, on_site=self.remove_site_temps)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """The whole lake, exclusively: no landing run starts while it is held (each
        fails at once with LockHeld), and it is refused while one runs."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = take(self.root / LAKE_LOCK)
        try:
            yield
        finally:
            os.close(fd)


def utc_dates(start: datetime, end: datetime) -> list[date]:
    """UTC dates touched by ``[start, end)``."""
    d = start.astimezone(UTC).date()
    last = (end.astimezone(UTC) - timedelta(microseconds=1)).date()
    out = []
    while d <= last:
        out.append(d)
        d += timedelta(days=1)
    return out


@dataclass
class PartitionWriter:
    """Writes one batch of landing (a chunk) into date partitions, atomically at commit.

    Rows are appended page by page into one open Parquet file per partition, under a
    temporary name; :meth:`commit` closes, fsyncs and renames them, :meth:`abort` removes
    them. Memory stays bounded by a page, whatever the window.
    """

    lake: Lake
    site: str
    run_id: str
    seq: itertools.count[int]
    quarantine: bool = False
    rows: int = 0
    _open: dict[date, tuple[pq.ParquetWriter, Path, Path]] = field(default_factory=dict)
    committed: list[Path] = field(default_factory=list)

    def write(self, table: pa.Table, day: date | None = None) -> None:
        """Append rows. Raw rows go to the UTC date of ``ts``; quarantine rows to ``day``."""
        if table.num_rows == 0:
            return
        if self.quarantine:
            assert day is not None
            self._append(day, table)
            return
        lo, hi = pc.min_max(table["ts"]).values()
        if lo.as_py().date() == hi.as_py().date():  # the usual case: one UTC date
            self._append(lo.as_py().date(), table)
            return
        days = pc.cast(table["ts"], pa.timestamp("us")).cast(pa.date32())
        for d in pc.unique(days).to_pylist():
            self._append(d, table.filter(pc.equal(days, pa.scalar(d, pa.date32()))))

    def _append(self, day: date, table: pa.Table) -> None:
        entry = self._open.get(day)
        if entry is None:
            d = (self.lake.quarantine_dir(self.site, day) if self.quarantine
                 else self.lake.raw_dir(self.site, day))
            d.mkdir(parents=True, exist_ok=True)
            name = f"{self.run_id}-{next(self.seq):05d}.parquet"
            final = d / name
            tmp = temp_path(final)
            schema = QUARANTINE_SCHEMA if self.quarantine else RAW_SCHEMA
            # dictionaries where values repeat (names, run ids); plain for values and times
            writer = pq.ParquetWriter(tmp, schema, compression="zstd",
                                      use_dictionary=DICTIONARY_COLUMNS)
            entry = (writer, tmp, final)
            self._open[day] = entry
        entry[0].write_table(table, row_group_size=1 << 20)
        self.rows += table.num_rows

    def commit(self) -> list[Path]:
        entries = list(self._open.values())
        for writer, tmp, _ in entries:
            writer.close()
            _fsync_file(tmp)
        for _, tmp, final in entries:
            os.replace(tmp, final)
            fsync_dir(final.parent)
            self.committed.append(final)
        self._open.clear()
        return self.committed

    def abort(self) -> None:
        for writer, tmp, _ in self._open.values():
            with contextlib.suppress(Exception):
                writer.close()
            tmp.unlink(missing_ok=True)
        self._open.clear()


def _files(dirs: list[Path]) -> list[str]:
    return [str(p) for d in dirs if d.is_dir() for p in sorted(d.glob("*.parquet"))]


def landed_files(lake: Lake, site: str, days: list[date]) -> list[str]:
    """The landed raw files of ``site`` on ``days`` (visible ones: temporary files excluded)."""
    return _files([lake.raw_dir(site, d) for d in days])


def only_new(rows: pa.Table, files: list[str], source_is_import: bool) -> pa.Table:
    """Rows whose (point, ts) is not landed in ``files`` yet, or whose ``value_raw`` differs
    from the latest landed one of its class.

    Classes are imports, and everything else: a new row is only worth landing when it
    differs from the latest of its own class (an import always outranks the others, so
    comparing a realtime re-read with an import would re-land it on every run). Only the
    landed rows of ``rows``' own keys are read: their ``ts`` range (row groups outside it
    are skipped on their statistics), then a semi join on (point, ts) before the latest of
    each is picked (``arg_max_null``: a null ``value_raw`` is a value too), so the work
    and the memory follow ``rows`` (a page), not the landed window around it.
    """
    if not files or rows.num_rows == 0:
        return rows
    lo, hi = pc.min_max(rows["ts"]).values()
    cls = "=" if source_is_import else "<>"
    out = query(
        f"""
        with latest as (
            select o.point, o.ts,
                   arg_max_null(o.value_raw, (o.extracted_at, o.run_id)) as value_raw
            from read_parquet($files, union_by_name = true) o
            semi join new_rows k on o.point = k.point and o.ts = k.ts
            where o.ts >= $lo and o.ts <= $hi and o.source {cls} 'import'
            group by o.point, o.ts
        )
        select n.* from new_rows n
        anti join latest l
          on n.point = l.point and n.ts = l.ts
         and n.value_raw is not distinct from l.value_raw
        """, {"files": files, "lo": lo.as_py(), "hi": hi.as_py()}, new_rows=rows)
    return out.cast(rows.schema)


def quarantined_before(lake: Lake, site: str, days: list[date]) -> pa.Table | None:
    files = _files([lake.quarantine_dir(site, d) for d in days])
    if not files:
        return None
    return query("select distinct point, time_raw, value_raw from read_parquet($files)",
                 {"files": files})


def only_new_bad(rows: pa.Table, before: pa.Table | None) -> pa.Table:
    if before is None or before.num_rows == 0 or rows.num_rows == 0:
        return rows
    out = query(
        """
        select b.* from bad_rows b anti join before_rows p
          on b.point is not distinct from p.point
         and b.time_raw is not distinct from p.time_raw
         and b.value_raw is not distinct from p.value_raw
        """, bad_rows=rows, before_rows=before)
    return out.cast(rows.schema)
