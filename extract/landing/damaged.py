"""Damaged files: set aside, never deleted, never allowed to halt the pipeline.

A Parquet file of the lake that cannot be read (random bytes, a truncated copy, a disk
error) is moved to ``<lake>/damaged/<its path relative to the lake>`` with a JSON note
beside it (``<name>.json``: the path it had, the reason, when, which run), and the run goes
on without it. A state file (JSON) that cannot be read is kept aside in its own directory
as ``<name>.corrupt-<run_id>`` and rebuilt by its owner (docs/operations.md, "Damaged
files").

Finding damaged files cheaply: files are immutable, so a file needs checking only once,
when it is new. :func:`check_new_files` reads the footer of every Parquet file whose
directory, and then the file itself, changed since the last check (``state/lake_check.json``
holds that instant); a run that landed a few files checks a few footers, whatever the size
of the lake. A file damaged in place later (its directory unchanged) is caught where it is
read: the sync's re-read and the warehouse build check the files they failed on
(:func:`bad_files`) and retry once.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from .lake import Lake, atomic_write_json, fsync_dir

log = logging.getLogger(__name__)

#: the lake's trees of Parquet files that a damaged file is looked for in
PARQUET_TREES = ("raw", "quarantine", "meta", "cold")
DAMAGED = "damaged"
#: files changed this long before the last check started are checked again (clock slack)
SLACK_S = 5.0
#: what DuckDB and Arrow say about a file that is not Parquet
_UNREADABLE = re.compile(
    r"magic bytes|invalid parquet|not a parquet|parquet file|corrupt|couldn't deserialize|"
    r"thrift|footer|no files found|truncat|IO Error", re.IGNORECASE)
_PATH = re.compile(r"""['"]?(/[^'"\s]+\.parquet)['"]?""")


@dataclass
class Damaged:
    """A file set aside: where it was (relative to the lake) and why."""

    path: str
    reason: str
    moved_to: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason, "moved_to": self.moved_to}


def parquet_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as Parquet (its footer and schema), or None."""
    try:
        meta = pq.read_metadata(path)
        if meta.num_columns == 0:
            return "Parquet file without columns"
    except FileNotFoundError:
        return None  # gone already (set aside by another check): nothing to do
    except Exception as e:  # noqa: BLE001 - any failure to read the footer is the reason
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:300]
    return None


def set_aside(lake: Lake, path: Path, reason: str, run_id: str) -> Damaged:
    """Move ``path`` (inside the lake) to ``damaged/`` with a note; nothing is deleted."""
    root = lake.root.resolve()
    rel = Path(path).resolve().relative_to(root)
    dest = root / DAMAGED / rel
    n = 1
    while dest.exists():  # the same name set aside before: keep both
        dest = dest.with_name(f"{rel.name}.{n}")
        n += 1
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(root / rel, dest)
    fsync_dir(dest.parent)
    fsync_dir((root / rel).parent)
    atomic_write_json(dest.with_name(dest.name + ".json"), {
        "path": str(rel), "reason": reason, "run_id": run_id,
        "set_aside_at": datetime.now(UTC).isoformat(),
    })
    log.warning("damaged file set aside: %s -> %s (%s)", rel, dest.relative_to(root), reason)
    return Damaged(str(rel), reason, str(dest.relative_to(root)))


def set_aside_unreadable(lake: Lake, paths: Iterable[Path], run_id: str) -> list[Damaged]:
    """Check each of ``paths`` and set aside those that cannot be read."""
    out = []
    for p in paths:
        problem = parquet_problem(p)
        if problem is not None:
            out.append(set_aside(lake, p, problem, run_id))
    return out


#: how deep the Parquet files of each tree sit (raw/site=S/date=D/f.parquet: 2 levels);
#: the directories above them are listed every check, the ones holding files only if changed
_DEPTH = {"raw": 2, "quarantine": 2, "meta": 2, "cold": 2}


def _leaf_dirs(base: Path, depth: int) -> Iterator[Path]:
    """Directories under ``base`` down to ``depth`` levels (meta/sites is one level down,
    meta/points/site=S two), without listing the files inside them."""
    level = [base]
    for _ in range(depth):
        nxt = []
        for d in level:
            try:
                subdirs = [Path(e.path) for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
            except OSError:
                continue
            if not subdirs or d is not base and any(
                    e.name.endswith(".parquet") for e in os.scandir(d)):
                yield d  # files at this level (meta/sites)
            nxt += subdirs
        level = nxt
    yield from level


def new_parquet_files(lake: Lake, since: float) -> list[Path]:
    """Visible Parquet files of :data:`PARQUET_TREES` changed since ``since`` (epoch s).

    A directory's ctime moves when an entry is added, renamed or removed, so a directory
    of files unchanged since ``since`` is pruned with one ``stat``, without listing it."""
    out = []
    for tree in PARQUET_TREES:
        base = lake.root / tree
        if not base.is_dir():
            continue
        for d in _leaf_dirs(base, _DEPTH[tree]):
            try:
                if since > 0 and d.stat().st_ctime < since:
                    continue
                entries = list(os.scandir(d))
            except OSError:
                continue
            for e in entries:
                if (e.name.endswith(".parquet") and not e.name.startswith(".")
                        and e.is_file(follow_symlinks=False)):
                    try:
                        st = e.stat()
                    except OSError:
                        continue
                    if max(st.st_ctime, st.st_mtime) >= since:
                        out.append(Path(e.path))
    return sorted(set(out))


def _check_state(lake: Lake) -> Path:
    return lake.root / "state" / "lake_check.json"


def check_new_files(lake: Lake, run_id: str) -> tuple[list[Damaged], int]:
    """Set aside every new Parquet file that cannot be read; (set aside, files checked).

    The first check of a lake reads every footer once; later ones only those of files
    new since the check before (``state/lake_check.json``, itself rebuilt if unreadable)."""
    started = time.time()
    doc = read_state(lake, _check_state(lake), run_id)
    since = float(doc["checked_at"]) - SLACK_S if isinstance(doc, dict) and isinstance(
        doc.get("checked_at"), int | float) else 0.0
    files = new_parquet_files(lake, since)
    damaged = set_aside_unreadable(lake, files, run_id)
    atomic_write_json(_check_state(lake), {"checked_at": started, "run_id": run_id,
                                           "files_checked": len(files)})
    return damaged, len(files)


def paths_in(text: str, lake: Lake) -> list[Path]:
    """The lake's Parquet paths named in an error text."""
    root = str(lake.root.resolve())
    return sorted({Path(m) for m in _PATH.findall(text) if m.startswith(root)})


def looks_unreadable(text: str) -> bool:
    """Whether an error text says a Parquet file could not be read."""
    return bool(_UNREADABLE.search(text))


def bad_files(lake: Lake, error: str, candidates: Iterable[Path], run_id: str) -> list[Damaged]:
    """After a read failed with ``error``: set aside the unreadable files it names, else
    those among ``candidates`` (the files that read was given)."""
    named = paths_in(error, lake)
    found = set_aside_unreadable(lake, named, run_id)
    if not found:
        found = set_aside_unreadable(lake, [c for c in candidates if c not in named], run_id)
    return found


def read_state(lake: Lake, path: Path, run_id: str) -> Any:
    """A JSON state file's content; None when it is missing or unreadable. An unreadable
    one is kept aside as ``<name>.corrupt-<run_id>`` and named in the log in one line, so
    that its owner rebuilds it from the lake."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        keep_aside(lake, path, run_id, f"{type(e).__name__}: {e}")
        return None


def keep_aside(lake: Lake, path: Path, run_id: str, reason: str) -> Path:
    """Rename an unreadable state file out of the way (never deleted); one log line."""
    aside = path.with_name(f"{path.name}.corrupt-{run_id}")
    os.replace(path, aside)
    fsync_dir(path.parent)
    log.warning("unreadable state file %s kept aside as %s (%s); rebuilt from the lake",
                path, aside.name, str(reason).splitlines()[0][:200] if reason else "")
    return aside


def damaged_notes(lake_root: Path) -> list[dict[str, Any]]:
    """The notes of every file set aside (for status), oldest first."""
    base = lake_root / DAMAGED
    if not base.is_dir():
        return []
    notes = []
    for p in base.rglob("*.json"):
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError):
            doc = {"path": str(p.relative_to(base)), "reason": "note unreadable"}
        if isinstance(doc, dict):
            notes.append(doc)
    return sorted(notes, key=lambda d: str(d.get("set_aside_at", "")))
