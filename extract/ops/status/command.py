"""The command line of ``python -m extract status``: options, help, exit status."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from ...core.cliargs import duration_arg, instant_arg
from ...core.config import Settings
from ...core.errors import redact
from .collect import collect_status
from .model import CRITICAL, DEFAULT_MAX_LAG, exit_code
from .render import render

HELP = "show the pipeline's health: checkpoints, last runs, freshness, gaps, tiers"


DESCRIPTION = """\
Per site: the checkpoint and its lag, the last run's result, the newest sample in the
warehouse, open gaps and the gap time of the last 7 days. Overall: the last main job and
run, the warehouse's tables, the hot and cold tiers, the landing lake, the published
snapshot. Read-only: the warehouse is opened read-only (by default the published
snapshot), no lock is taken, nothing is written. Lags and ages are measured against --now.
"""


EXIT_HELP = """\
exit status (for monitoring; docs/status.md has the details):
  0  healthy: none of the below
  1  warning: a synced site's checkpoint, or its newest sample in the warehouse, lags
     --now by more than --max-lag (or it has no sample there); a site has open gaps; the
     last main job reported warnings (e.g. quarantined samples); the newest run, when not
     part of that job, quarantined samples or was a failed gap repair; a warehouse was
     read but there is no published snapshot; damaged files are set aside in
     <lake>/damaged/; a run or job summary, or a raw-retention journal entry
     (<lake>/state/retention/), cannot be read
  2  critical: nothing synced yet (no checkpoint at all); no warehouse could be read
     (none built yet, unreadable, or locked by a writer with no published snapshot to
     fall back on); the last main job needs attention (a failed site, sync, dbt build or
     cold-tier move); the newest run, when not part of that job, failed; a site's last
     sync/backfill/import failed; a checkpoint is unreadable, or later than --now (in the
     future: syncs land nothing until `python -m extract checkpoint --set` moves it back);
     an active cold-tier file is missing. Also: bad options, or status itself failed.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options, description and exit-status help of ``python -m extract status``."""
    parser.description = DESCRIPTION
    parser.epilog = EXIT_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--json", action="store_true",
                        help="print the report as one JSON object (fields: docs/status.md)")
    parser.add_argument("--max-lag", type=duration_arg("--max-lag"), default=DEFAULT_MAX_LAG,
                        metavar="DURATION",
                        help="a site whose checkpoint or newest sample lags --now by more "
                             "than this is stale (default 30m)")
    parser.add_argument("--warehouse", type=Path, metavar="PATH",
                        help="DuckDB file to read, read-only (default: the published "
                             "snapshot PUBLISHED_DIR/current.duckdb if it exists, else "
                             "WAREHOUSE_PATH); a file locked by a writer falls back to the "
                             "published snapshot")
    parser.add_argument("--lake", type=Path, help="lake root (default: $LAKE_DIR or lake)")
    parser.add_argument("--now", type=instant_arg("--now"), metavar="INSTANT",
                        help="measure lags and ages against this instant, ISO 8601 "
                             "(default: the current time; for reproducible reports)")


def run(args: argparse.Namespace) -> int:
    """Print the report (text or --json) and return its exit status."""
    try:
        # only where things are: the API key and the tuning are none of status's business,
        # and a bad tuning variable must not hide the pipeline's health
        paths = Settings.paths_from_env()
        status = collect_status(args.lake or paths.lake, warehouse=args.warehouse,
                                published_dir=paths.published_dir,
                                build_warehouse=paths.warehouse,
                                max_lag=args.max_lag, now=args.now)
    except Exception as e:  # noqa: BLE001 - monitoring must see a failure as critical
        print(redact(f"error: status could not be collected: {type(e).__name__}: {e}"),
              file=sys.stderr)
        return CRITICAL
    # the state files are redacted when written; this also covers files of older versions
    print(redact(json.dumps(status.to_dict(), indent=2) if args.json else render(status)))
    return exit_code(status)


def main(argv: list[str] | None = None) -> int:
    """``python -m extract.status``: the same command without going through cli.py."""
    parser = argparse.ArgumentParser(prog="python -m extract status", description=HELP)
    add_arguments(parser)
    return run(parser.parse_args(argv))
