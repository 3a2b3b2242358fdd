"""The record of raw retention: what was deleted from ``raw/``, when and why.

Three places, written by :mod:`extract.warehouse.retention`:

- in the warehouse, table ``raw_pruned``: one row per raw file the retention planned to
  delete (``file_id``, ``file_path``, ``site``, ``partition_date``, ``bytes``, ``n_rows``,
  ``reason``, ``planned_at``, ``deleted_at`` (null while the deletion is not confirmed),
  ``run_id``, ``landings``, ``journal``);
- in the lake, ``state/retention/landings/<run_id>-<n>.parquet`` (the file ``landings``
  names): per pruned file, point and UTC 5-minute bucket, the landed-row count, the first
  and last ``ts`` and the latest ``extracted_at``. The dbt models that count landed copies
  (``int_point_activity``, ``data_quality_daily``) add these rows when they are rebuilt, so
  a ``--full-refresh`` after pruning gives the same counts (macro ``ace_pruned_landings``).
  Parquet in the lake, not a warehouse table: 1.5 bytes per sample measured
  (bench/bench_retention.py) where a DuckDB table took about 4, and not copied into every
  published snapshot;
- in the lake, one JSON file per run that deleted files, ``state/retention/<run_id>.json``
  (the files with their bytes and rows, the age, the reason, the cold boundary): the audit
  trail, which outlives the warehouse file, and what ``status`` reads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ..landing.lake import atomic_write_json
from .connect import has_table

log = logging.getLogger(__name__)

JOURNAL_DIR = ("state", "retention")
LANDINGS_DIR = "landings"

DDL = (
    """create table if not exists raw_pruned (
        file_id bigint not null,
        file_path varchar not null,
        site varchar not null,
        partition_date date not null,
        bytes bigint not null,
        n_rows bigint not null,
        reason varchar not null,
        planned_at timestamp with time zone not null,
        deleted_at timestamp with time zone,
        run_id varchar not null,
        landings varchar not null,
        journal varchar
    )""",
)


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    for sql in DDL:
        con.execute(sql)


def journal_dir(lake: Path) -> Path:
    return Path(lake).joinpath(*JOURNAL_DIR)


def landings_dir(lake: Path) -> Path:
    return journal_dir(lake) / LANDINGS_DIR


def write_journal(lake: Path, run_id: str, entry: dict[str, Any]) -> Path:
    path = journal_dir(lake) / f"{run_id}.json"
    atomic_write_json(path, entry)
    return path


def has_pruned(lake: Path) -> bool:
    """Whether raw files of this lake were ever deleted by the retention."""
    d = journal_dir(lake)
    return d.is_dir() and any(d.glob("*.json"))


def pruned_months(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """The (site, UTC month) partitions of the cold tier whose raw files were (or may have
    been) deleted: their cold file is the only copy of those samples."""
    if not has_table(con, "raw_pruned"):
        return set()
    return {(str(s), str(m)) for s, m in con.execute(
        "select distinct site, strftime(partition_date, '%Y-%m') from raw_pruned").fetchall()}


@dataclass
class Totals:
    """What the journal says was deleted, each file counted once."""

    files: int = 0
    bytes: int = 0
    rows: int = 0
    last_at: datetime | None = None
    older_than_days: int | None = None
    unreadable: list[str] = field(default_factory=list)


def read_totals(lake: Path) -> Totals:
    """Sum the journal (a file named by two runs, after a crash between the journal and the
    warehouse's record, is counted once)."""
    out = Totals()
    seen: set[str] = set()
    d = journal_dir(lake)
    if not d.is_dir():
        return out
    for path in sorted(d.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            files = doc["files"]
            at = datetime.fromisoformat(str(doc["deleted_at"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            out.unreadable.append(f"{path}: {type(e).__name__}")
            continue
        for f in files:
            if f["path"] in seen:
                continue
            seen.add(f["path"])
            out.files += 1
            out.bytes += int(f.get("bytes") or 0)
            out.rows += int(f.get("rows") or 0)
        if out.last_at is None or at > out.last_at:
            out.last_at = at
            days = doc.get("older_than_days")
            out.older_than_days = int(days) if isinstance(days, int) else None
    return out
