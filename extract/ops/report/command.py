"""Writing the report atomically, and ``python -m extract report`` (also
``python -m extract.report``)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from ...core.cliargs import instant_arg
from ...core.config import Settings
from .collect import load
from .model import (
    DEFAULT_DAYS,
    DEFAULT_OUT,
    DEFAULT_RUN_RESULTS,
    EXIT_OK,
    EXIT_UNUSABLE,
    HEATMAP_MAX_ROWS,
    ReportError,
)
from .render import render


def _write_atomic(path: Path, text: str) -> None:
    """Write under a temporary name in the same directory, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_report(
    warehouse: Path | str,
    out: Path | str,
    *,
    run_results: Path | str | None = None,
    as_of: datetime | None = None,
    days: int = DEFAULT_DAYS,
    max_rows: int = HEATMAP_MAX_ROWS,
) -> Path:
    """Write the report of ``warehouse`` (opened read-only) to ``out``; return ``out``.

    ``as_of`` (default now; naive means UTC) ends the window of ``days`` local days.
    Raises :class:`ReportError` when the warehouse is missing, not built or locked.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    when = datetime.now(UTC) if as_of is None else as_of
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    data = load(Path(warehouse), as_of=when, days=days,
                run_results=None if run_results is None else Path(run_results))
    page = render(data, max_rows=max_rows)
    target = Path(out)
    _write_atomic(target, page)
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract report",
        description=(
            "Write a static, self-contained HTML data-quality report of the warehouse:\n"
            "a coverage heatmap (points x local days), a gap timeline, value charts of the\n"
            "points to look at, freshness per site, the worst points and the dbt test\n"
            "results of the last build. The warehouse is\n"
            "opened read-only; the page has no script and loads nothing (no server needed)."),
        epilog=(
            "exit status: 0 written; 2 the warehouse is missing, not built (the missing\n"
            "tables are named) or locked by a running build, or bad arguments.\n"
            "See docs/report.md."),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--warehouse", type=Path,
        default=Settings.paths_from_env().warehouse,
        help="the DuckDB file (default: $WAREHOUSE_PATH or warehouse.duckdb; while the "
             "schedule runs use published/current.duckdb)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the HTML file to write (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--run-results", type=Path, default=None,
        help="dbt's run_results.json of the last build (default: "
             f"{DEFAULT_RUN_RESULTS} when it exists)")
    parser.add_argument("--days", type=_positive, default=DEFAULT_DAYS,
                        help=f"local days in the window (default {DEFAULT_DAYS})")
    parser.add_argument("--as-of", type=instant_arg("--as-of"), default=None,
                        help="end of the window, ISO 8601 (naive = UTC; default now)")
    parser.add_argument("--max-rows", type=_positive, default=HEATMAP_MAX_ROWS,
                        help=f"points drawn in the heatmap, worst first "
                             f"(default {HEATMAP_MAX_ROWS})")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= 3660:
        raise argparse.ArgumentTypeError(f"must be between 1 and 3660, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run_results: Path | None = args.run_results
    if run_results is None and DEFAULT_RUN_RESULTS.is_file():
        run_results = DEFAULT_RUN_RESULTS
    try:
        out = write_report(args.warehouse, args.out, run_results=run_results,
                           as_of=args.as_of, days=args.days, max_rows=args.max_rows)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
    return EXIT_OK
