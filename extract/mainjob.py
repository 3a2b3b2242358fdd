"""The main job: sync every site, then build and test the warehouse with dbt.

Without ``ACE_API_KEY`` it starts the local stand-in on a free loopback port and syncs
from it, saying so, so the whole pipeline runs on a fresh machine with no secrets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .client import FlightDeckClient
from .config import Secret, Settings
from .publish import current_snapshot, publish
from .sync import sync

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = REPO_ROOT / "dbt_project"


@contextlib.contextmanager
def api_or_standin(settings: Settings) -> Iterator[bool]:
    """Yield True when the local stand-in serves the run (no API key configured)."""
    if settings.api_key:
        settings.require_api()
        yield False
        return
    from .standin import StandIn, World

    token = secrets.token_urlsafe(16)
    server = StandIn(World(seed=7, sites=3, points_per_site=40), token=token).start(port=0)
    settings.api_url, settings.api_key = server.url, Secret(token)
    print(f"ACE_API_KEY is not set: using the local FlightDeck stand-in at {server.url}")
    try:
        yield True
    finally:
        server.stop()


def dbt_build(lake: Path, extra: list[str] | None = None) -> bool:
    """``dbt build`` of the warehouse over ``lake``; True when models and tests passed."""
    os.environ["LAKE_DIR"] = str(lake.resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    from dbt.cli.main import dbtRunner

    # unit tests check the SQL, not the data: CI runs them, the schedule need not
    args = ["build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(REPO_ROOT),
            "--exclude-resource-type", "unit_test", *(extra or [])]
    dbt_vars = os.environ.get("DBT_VARS", "").strip()
    if dbt_vars:  # e.g. '{"site_timezones": {"ses_falls_city": "America/Chicago"}}'
        args += ["--vars", dbt_vars]
    res = dbtRunner().invoke(args)
    return bool(res.success)


def warehouse_path() -> Path:
    return Path(os.environ.get("WAREHOUSE_PATH") or "warehouse.duckdb").resolve()


def main_job(settings: Settings, *, until: datetime | None = None, skip_dbt: bool = False,
             demo: bool = False) -> int:
    from .cli import print_summary

    t0 = time.monotonic()
    with api_or_standin(settings), FlightDeckClient.from_settings(settings) as client:
        summary = sync(settings, client, until=until or datetime.now(UTC))
    print_summary(summary)
    built = True
    published = None
    if not skip_dbt:
        built = dbt_build(settings.lake)
        if built:
            published = publish(warehouse_path(), summary.run_id)
    took = time.monotonic() - t0
    ok = summary.ok and built
    print(f"main job {'ok' if ok else 'FAILED'} in {took:.1f}s: sync "
          f"{'ok' if summary.ok else 'failed'}, warehouse "
          f"{'skipped' if skip_dbt else 'built' if built else 'FAILED'}"
          + (f", published {published.path}" if published else ""))
    if demo and ok:
        _show(settings.lake)
    return 0 if ok else 1


def _show(lake: Path) -> None:
    snap = current_snapshot().resolve().parent / "current.duckdb"
    w = sys.stdout.write
    w(f"\nraw Parquet landing:  {lake.resolve()}/raw/site=*/date=*/*.parquet\n")
    w(f"warehouse (build):    {warehouse_path()}\n")
    w(f"for analysts:         {snap}  (read-only snapshot of the last good build)\n\n")
    w("try `make sql`, or any DuckDB client opened read-only on that file:\n")
    examples = [
        "select site, count(*) as points from points group by site",
        "select site, point, count(*) as n, min(ts), max(ts) from samples "
        "group by all order by n desc limit 5",
        "select * from samples_1h order by bucket_start desc limit 5",
        "select * from point_gaps order by duration desc limit 5",
        "select * from data_quality_daily order by quality_score limit 5",
    ]
    for q in examples:
        w(f"  {q};\n")
    w("\n  .venv/bin/python -m extract sql -c \"select count(*) from samples\"\n")
