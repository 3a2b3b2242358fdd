"""What the lake's ``raw/`` and ``quarantine/`` trees hold (files, bytes, quarantined rows),
without listing every file of the history on every ``status``.

A sync lands a file per run and partition: 288 a day per site, so listing ``raw/`` grows
with the history (one ``stat`` per file; 8,640 files for one site's 30 days). Instead,
every commit of landed files refreshes a small summary per site and tree,
``state/usage/<raw|quarantine>/<site>.json``: per date directory its files, bytes and (for
quarantine) rows, and the directory's modification time when it was listed. ``status``
(which writes nothing) reads the summary and lists only the date directories whose
modification time is not the recorded one, or that it does not name: a directory's
modification time changes whenever an entry in it is created, deleted or renamed, which
is how every writer of the lake changes a partition (files are written under a temporary
name and renamed; retention deletes; damaged files are moved out).

A directory is recorded only once it has been left alone for :data:`SETTLE_NS` (its
modification time is that far before the listing, and unchanged across it): the kernel's
timestamps are coarse (a few milliseconds), so a change right after a listing could carry
the same modification time as the listing saw. So the newest partitions (today's, which
every run writes) are listed by ``status``: at most a day of files per site, whatever the
history. A directory with sub-directories is never recorded (their changes do not show in
its modification time).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lake import atomic_write_json

#: how long a date directory must have been unchanged before its listing is recorded
SETTLE_NS = 2_000_000_000
KINDS = ("raw", "quarantine")
#: one refresh at a time in a process (the summary's temporary name is per process)
_REFRESH = threading.Lock()


@dataclass
class Usage:
    files: int = 0
    bytes: int = 0
    rows: int = 0

    def add(self, other: Usage) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.rows += other.rows


def summary_path(lake: Path, kind: str, site_dir: str) -> Path:
    """``state/usage/<kind>/<site dir name>.json`` (the directory's name: ``site=S``)."""
    return lake / "state" / "usage" / kind / f"{site_dir}.json"


def _visible_parquet(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith(".")


def _rows(path: str) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except (OSError, ValueError):
        return 0


def list_tree(root: Path | str, rows: bool) -> tuple[Usage, bool]:
    """Visible Parquet files under ``root``, at any depth: their count, bytes and (with
    ``rows``) rows from the footers; and whether ``root`` has sub-directories."""
    out, nested = Usage(), False
    for dirpath, dirs, files in os.walk(root):
        nested = nested or bool(dirs)
        for f in files:
            if not _visible_parquet(f):
                continue
            path = os.path.join(dirpath, f)
            try:
                size = os.stat(path).st_size
            except OSError:  # gone since the listing (retention, a set-aside)
                size = 0
            out.files += 1
            out.bytes += size
            if rows:
                out.rows += _rows(path)
    return out, nested


def _read_summary(path: Path) -> dict[str, dict[str, int]]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    dirs = doc.get("dirs") if isinstance(doc, dict) else None
    return dirs if isinstance(dirs, dict) else {}


def _trusted(entry: Any, mtime_ns: int) -> bool:
    return (isinstance(entry, dict)
            and all(isinstance(entry.get(k), int)
                    for k in ("mtime_ns", "listed_ns", "files", "bytes", "rows"))
            and entry["mtime_ns"] == mtime_ns
            and entry["listed_ns"] - entry["mtime_ns"] >= SETTLE_NS)


def _date_dirs(site_dir: Path) -> list[tuple[str, int]]:
    """(name, modification time in ns) of the site directory's sub-directories."""
    out = []
    try:
        with os.scandir(site_dir) as it:
            for e in it:
                try:
                    if e.is_dir(follow_symlinks=False):
                        out.append((e.name, e.stat(follow_symlinks=False).st_mtime_ns))
                except OSError:
                    continue
    except OSError:
        return []
    return out


def refresh(lake: Path, kind: str, site_dir: str, now_ns: int | None = None) -> None:
    """Bring ``site_dir``'s summary up to date: list the date directories that are settled
    and changed (or new) since it was written, drop those that are gone. Called by the
    writers after they commit landed files (never by ``status``)."""
    root = lake / kind / site_dir
    path = summary_path(lake, kind, site_dir)
    old = _read_summary(path)
    now_ns = time.time_ns() if now_ns is None else now_ns
    rows = kind == "quarantine"
    new: dict[str, dict[str, int]] = {}
    for name, mtime in _date_dirs(root):
        if _trusted(old.get(name), mtime):
            new[name] = old[name]
            continue
        if now_ns - mtime < SETTLE_NS:
            continue  # being written: status lists it
        usage, nested = list_tree(root / name, rows)
        try:
            after = os.stat(root / name).st_mtime_ns
        except OSError:
            continue
        if after == mtime and not nested:
            new[name] = {"mtime_ns": mtime, "listed_ns": now_ns, "files": usage.files,
                         "bytes": usage.bytes, "rows": usage.rows}
    if new != old:
        atomic_write_json(path, {"dirs": new})


def refresh_quietly(lake: Path, kind: str, site_dir: str) -> None:
    """:func:`refresh`; a failure only costs ``status`` a longer listing."""
    with _REFRESH, contextlib.suppress(OSError):
        refresh(lake, kind, site_dir)


def tree_usage(lake: Path, kind: str) -> Usage:
    """What ``<lake>/<kind>/`` holds: the recorded figures of unchanged, settled date
    directories, and a listing of the others (and of any file outside a date directory).
    Equal to listing the whole tree, reading nothing but directories and the summaries."""
    root = lake / kind
    total = Usage()
    if not root.is_dir():
        return total
    rows = kind == "quarantine"
    try:
        with os.scandir(root) as it:
            entries = list(it)
    except OSError:
        return total
    for e in entries:
        if not e.is_dir(follow_symlinks=False):
            if _visible_parquet(e.name) and e.is_file():
                total.add(Usage(1, e.stat().st_size, _rows(e.path) if rows else 0))
            continue
        site = Path(e.path)
        summary = _read_summary(summary_path(lake, kind, e.name))
        try:
            with os.scandir(site) as it:
                loose = [f for f in it if not f.is_dir(follow_symlinks=False)]
        except OSError:  # gone since the listing
            continue
        for f in loose:
            if _visible_parquet(f.name) and f.is_file():
                total.add(Usage(1, f.stat().st_size, _rows(f.path) if rows else 0))
        for name, mtime in _date_dirs(site):
            entry = summary.get(name)
            if entry is not None and _trusted(entry, mtime):
                total.add(Usage(entry["files"], entry["bytes"], entry["rows"]))
            else:
                total.add(list_tree(site / name, rows)[0])
    return total


def refresh_committed(lake: Path, paths: list[Path]) -> None:
    """Refresh the summaries of the site trees that just-committed ``paths`` are in."""
    trees = set()
    for p in paths:
        try:
            parts = p.relative_to(lake).parts
        except ValueError:
            continue
        if len(parts) >= 3 and parts[0] in KINDS:
            trees.add((parts[0], parts[1]))
    for kind, site_dir in sorted(trees):
        refresh_quietly(lake, kind, site_dir)
