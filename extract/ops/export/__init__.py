"""``python -m extract export``: the command (arguments, exit status); the rows and the
writing are in :mod:`.rows`, imported only when the command runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...core.cliargs import instant_arg
from ...core.errors import first_line

HELP = "write a site's points over a time range to a CSV or Parquet file"

DESCRIPTION = """\
Export one site's points (--point, repeatable, or every point whose name contains
--pattern) over [--start, --end) from the published snapshot (or --warehouse), streamed:
memory does not grow with the range. Rows are ordered by time, then point, with the UTC
time, the site-local time and the site's zone.

resolutions:
  raw    every sample of timeseries (hot and cold tiers): value, value_raw
  5min   samples_5min rows whose UTC bucket overlaps the range (every column)
  15min  samples_15min, the same way (once the warehouse has that table)
  1h     samples_1h, the same way
  1d     samples_1d rows of the site's local days overlapping the range
  auto   what series() picks for its default 1000 rows, for the busiest point

exit status: 0 written; 1 the warehouse failed mid-export (no file is left); 2 bad input:
an unknown site, point or resolution, --start not before --end, an unwritable --out, no
published snapshot (docs/analysts.md, "Export").
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = DESCRIPTION
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--site", required=True, help="the site (sites.site)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--point", action="append", metavar="POINT",
                       help="a point's full name (repeatable)")
    which.add_argument("--pattern", metavar="TEXT",
                       help="every point of the site whose name contains TEXT "
                            "(case-insensitive, no wildcards)")
    p.add_argument("--start", required=True, type=instant_arg("--start"), metavar="INSTANT",
                   help="start of the range, ISO 8601 (naive means UTC)")
    p.add_argument("--end", required=True, type=instant_arg("--end"), metavar="INSTANT",
                   help="end of the range, exclusive")
    p.add_argument("--resolution", required=True, metavar="RES",
                   help="raw, 5min, 15min, 1h, 1d or auto")
    p.add_argument("--format", dest="fmt", metavar="FMT",
                   help="csv or parquet (default: parquet for a .parquet --out, else csv)")
    p.add_argument("--out", required=True, type=Path, metavar="FILE",
                   help="the file to write (replaced only once complete)")
    p.add_argument("--warehouse", type=Path, metavar="PATH",
                   help="read this DuckDB file (read-only) instead of "
                        "PUBLISHED_DIR/current.duckdb")


def run(args: argparse.Namespace, published_dir: Path) -> int:
    """The command; bad input raises InputError (the CLI prints it, exit status 2)."""
    import duckdb

    from .rows import connect_readonly, export

    con = connect_readonly(args.warehouse, published_dir)
    try:
        r = export(con, site=args.site, points=args.point, pattern=args.pattern,
                   start=args.start, end=args.end, resolution=args.resolution,
                   out=args.out, fmt=args.fmt)
    except duckdb.Error as e:
        print(f"error: export failed: {first_line(e)}", file=sys.stderr)
        return 1
    finally:
        con.close()
    print(f"exported {r.rows} row{'' if r.rows == 1 else 's'} ({r.resolution}, {r.points} "
          f"point{'' if r.points == 1 else 's'}) to {r.path} ({r.format})")
    return 0
