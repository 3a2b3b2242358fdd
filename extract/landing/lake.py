"""The lake on disk: paths, atomic files, the lock, and what was landed already.

Layout and guarantees are documented in ``docs/landing.md``. Every file is written under
a temporary dot-name in its final directory, fsynced, then renamed, and the directory is
fsynced: readers globbing ``*.parquet`` never see a partial file.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..core.duck import query
from ..core.errors import ConfigError, LockHeld, redact_obj
from ..core.schema import QUARANTINE_SCHEMA, RAW_SCHEMA

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


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
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
    tmp = path.with_name(f".{path.name}.tmp")
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
        """The main job's summary (extract/mainjob.py), named by its sync's run id."""
        return self.root / "state" / "jobs" / f"{run_id}.json"

    def write_job(self, run_id: str, summary: dict[str, Any]) -> None:
        atomic_write_json(self.job_path(run_id), summary)

    def remove_stale_temps(self) -> int:
        """Delete temporary files a crashed run left behind (call under the lock)."""
        n = 0
        for sub in ("raw", "quarantine", "meta", "state", "cold", "damaged"):
            base = self.root / sub
            if base.exists():
                for p in base.rglob(".*.tmp"):
                    p.unlink(missing_ok=True)
                    n += 1
        return n

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive lock on the lake; a second holder fails at once with LockHeld."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
                raise LockHeld(
                    f"another extractor run holds {path} ({holder}); exiting without changes"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
                      .encode(), 0)
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
            final, tmp = d / name, d / f".{name}.tmp"
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


def landed_latest(lake: Lake, site: str, start: datetime, end: datetime,
                  source_is_import: bool, days: list[date] | None = None) -> pa.Table | None:
    """The latest landed ``value_raw`` per (point, ts) in ``[start, end)`` of one class.

    Classes are imports, and everything else: a new row is only worth landing when it
    differs from the latest of its own class (an import always outranks the others, so
    comparing a realtime re-read with an import would re-land it on every run). ``days``
    (the dates that matter, when they are fewer than all of ``[start, end)``) limits the
    partitions read.
    """
    if days is None:
        days = utc_dates(start, end)
    files = _files([lake.raw_dir(site, d) for d in days])
    if not files:
        return None
    cls = "=" if source_is_import else "<>"
    return query(
        f"""
        select point, ts, value_raw
        from read_parquet($files, union_by_name = true)
        where ts >= $start and ts < $end and source {cls} 'import'
        qualify row_number() over (
            partition by point, ts order by extracted_at desc, run_id desc) = 1
        """,
        {"files": files, "start": start, "end": end})


def only_new(rows: pa.Table, latest: pa.Table | None) -> pa.Table:
    """Rows whose (point, ts) is not landed yet, or whose value_raw changed since."""
    if latest is None or latest.num_rows == 0 or rows.num_rows == 0:
        return rows
    out = query(
        """
        select n.* from new_rows n
        anti join latest l
          on n.point = l.point and n.ts = l.ts
         and n.value_raw is not distinct from l.value_raw
        """, new_rows=rows, latest=latest)
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
