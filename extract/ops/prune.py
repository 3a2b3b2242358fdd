"""``python -m extract prune-raw``: the raw retention by hand (warehouse/retention.py does
the work; the main job runs it too when ``ACE_RAW_RETENTION_DAYS`` is set)."""

from __future__ import annotations

import argparse

from ..core.config import Settings, valid_retention_days
from ..core.errors import ConfigError, LockHeld
from ..warehouse.dbt import WarehouseBusy
from ..warehouse.retention import prune_raw

HELP = "delete old raw files whose every sample is in the cold tier"

DESCRIPTION = (
    "Delete raw/ files dated more than --older-than-days before today (UTC) whose every row "
    "the warehouse's cold tier holds, or holds a better copy of (the winner rule), and that "
    "every model has incorporated; quarantine and metadata files are never touched. Each "
    "deletion is recorded in the warehouse (raw_pruned) and the lake "
    "(state/retention/<run_id>.json); a full rebuild after it gives the same tables. Takes "
    "the lake-wide lock and each site's lock; the main job does the same after its tier "
    "move when ACE_RAW_RETENTION_DAYS is set (docs/operations.md, \"Raw retention\"). "
    "Exit status 2 without an age, 3 while a build holds the warehouse.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--older-than-days", type=int, metavar="N",
                   help="minimum age of a file's date in days, at least 1 (default: "
                        "ACE_RAW_RETENTION_DAYS; one of the two is required)")
    p.add_argument("--dry-run", action="store_true",
                   help="list what would be deleted, delete and record nothing")


def run(args: argparse.Namespace, settings: Settings) -> int:
    days = args.older_than_days if args.older_than_days is not None else (
        settings.raw_retention_days)
    if days is None:
        raise ConfigError("prune-raw: give --older-than-days N (or set ACE_RAW_RETENTION_DAYS)")
    days = valid_retention_days(days, "--older-than-days")
    wh = settings.warehouse.resolve()
    if not wh.exists():
        raise ConfigError(f"no warehouse at {wh}: build it first (make run)")
    if not args.dry_run:
        settings.require_writable_lake()
    try:
        result = prune_raw(wh, settings.lake, days, dry_run=args.dry_run)
    except WarehouseBusy as e:
        raise LockHeld(str(e)) from None
    print(result.render())
    if args.dry_run:
        for f in result.deleted[:20]:
            print(f"  {f['path']}  {f['bytes']:,} bytes, {f['rows']:,} rows")
        if len(result.deleted) > 20:
            print(f"  ... and {len(result.deleted) - 20:,} more")
    if result.journal:
        print(f"recorded in {result.journal}")
    return 0
