"""Which warehouse owns the lake's cold tier, and the files it inherited from a lost one.

A warehouse only ever deletes cold files it planned or registered itself, so a test copy
on the same lake never removes another's files. But a warehouse rebuilt from scratch
(the file deleted, ``dbt build`` run again) knows none of the cold files its predecessor
wrote, and they would stay on disk forever. ``<lake>/cold/.owner.json`` names the
warehouse that owns the tier (its path and the random ``instance`` id kept in its table
``cold_owner``). When the owner changes (no owner yet, the owner's instance at that path
is new, i.e. rebuilt, or the owner's file is gone), the new owner *inherits* every cold
file it does not know at that moment, and deletes them once they have been inherited
for the grace period (published snapshots of the old warehouse may still read them).
Files that appear later without being registered (another warehouse's) are left alone.
Once the raw retention has deleted raw files of the lake (its journal in
``state/retention/``), inherited files are never deleted: they may be the only copy of
those samples (docs/operations.md, "Raw retention").
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from ..landing.lake import atomic_write_json
from .prunelog import has_pruned

log = logging.getLogger(__name__)

OWNER_FILE = ".owner.json"


def _instance(con: duckdb.DuckDBPyConnection, now: datetime) -> str:
    con.execute("create table if not exists cold_owner "
                "(instance varchar not null, claimed_at timestamp with time zone not null)")
    row = con.execute("select min(instance) from cold_owner").fetchone()
    if row and row[0]:
        return str(row[0])
    instance = secrets.token_hex(8)
    con.execute("insert into cold_owner values (?, ?)", [instance, now])
    return instance


def _on_disk(cold_dir: Path) -> set[str]:
    return {str(p) for p in cold_dir.glob("site=*/month=*/*.parquet")
            if not p.name.startswith(".")}


def remove_inherited(con: duckdb.DuckDBPyConnection, warehouse: Path, cold_dir: Path,
                     now: datetime, grace: timedelta) -> list[Path]:
    """Claim or keep the ownership; delete inherited files past their grace period."""
    me = str(Path(warehouse).resolve())
    instance = _instance(con, now)
    owner_path = cold_dir / OWNER_FILE
    try:
        doc = json.loads(owner_path.read_text()) if owner_path.exists() else None
    except (OSError, ValueError) as e:
        log.warning("cold tier: %s unreadable (%s); claiming the tier again", owner_path, e)
        os.replace(owner_path, owner_path.with_name(f"{OWNER_FILE}.corrupt"))
        doc = None
    known = {r[0] for r in con.execute(
        "select path from cold_files union select path from cold_pending").fetchall()}
    unknown = _on_disk(cold_dir) - known
    if not isinstance(doc, dict) or (
            doc.get("warehouse") == me and doc.get("instance") != instance) or (
            doc.get("warehouse") != me and not Path(str(doc.get("warehouse"))).exists()):
        if unknown:
            log.warning("cold tier: %d file(s) this warehouse does not know (written by a "
                        "warehouse it replaces) are deleted after %s", len(unknown), grace)
        doc = {"warehouse": me, "instance": instance,
               "inherited": {p: now.isoformat() for p in sorted(unknown)}}
        cold_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(owner_path, doc)
        return []
    if doc.get("warehouse") != me:
        return []  # another warehouse owns the tier: never delete what it may read
    found = doc.get("inherited")
    inherited: dict[str, str] = found if isinstance(found, dict) else {}
    deleted: list[Path] = []
    keep: dict[str, str] = {}
    for path, since in sorted(inherited.items()):
        if path not in unknown:
            continue  # gone, or registered since
        try:
            expired = now - datetime.fromisoformat(str(since)) > grace
        except ValueError:
            expired = False
        if expired and has_pruned(cold_dir.parent):
            log.warning("cold tier: inherited file %s kept: the raw retention deleted raw "
                        "files of this lake, so it may hold their only copy", path)
            keep[path] = str(since)
        elif expired:
            Path(path).unlink(missing_ok=True)
            deleted.append(Path(path))
        else:
            keep[path] = str(since)
    if keep != inherited:
        atomic_write_json(owner_path, {**doc, "inherited": keep})
    if deleted:
        log.info("cold tier: deleted %d inherited file(s) no longer known", len(deleted))
    return deleted
