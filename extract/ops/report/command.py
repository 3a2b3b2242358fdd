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
    SITE_PAGES,
    WORST_POINTS,
    ReportError,
)
from .render import GENERATOR, render, render_site


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
    worst: int = WORST_POINTS,
    site_pages: int = SITE_PAGES,
) -> Path:
    """Write the report of ``warehouse`` (opened read-only) to ``out``; return ``out``.

    ``as_of`` (default now; naive means UTC) ends the window of ``days`` local days.
    Beside ``out``, the ``site_pages`` sites of lowest mean coverage get a page of their
    own (``site-<name>.html``, linked from the site table); site pages of an earlier run
    that are not written again are removed. Raises :class:`ReportError` when the warehouse
    is missing, not built or locked.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    when = datetime.now(UTC) if as_of is None else as_of
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    data = load(Path(warehouse), as_of=when, days=days,
                run_results=None if run_results is None else Path(run_results),
                max_rows=max_rows, worst=worst, site_pages=site_pages)
    target = Path(out)
    written = set()
    for page in data.pages:
        assert page.site.page is not None
        _write_atomic(target.with_name(page.site.page),
                      render_site(data, page, target.name, max_rows=max_rows, worst=worst))
        written.add(page.site.page)
    _write_atomic(target, render(data, max_rows=max_rows, worst=worst))
    _prune_site_pages(target.parent, written)
    return target


def _prune_site_pages(directory: Path, keep: set[str]) -> None:
    """Remove the site pages of an earlier run (this report's, by their generator tag)
    that were not written this time, so no link-less stale page lingers."""
    marker = f'<meta name="generator" content="{GENERATOR}">'.encode()
    for old in directory.glob("site-*.html"):
        if old.name in keep:
            continue
        try:
            with open(old, "rb") as fh:
                head = fh.read(1024)
        except OSError:
            continue
        if marker in head:
            old.unlink(missing_ok=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract report",
        description=(
            "Write a static, self-contained HTML data-quality report of the warehouse:\n"
            "a coverage heatmap of the worst points (points x local days), a gap timeline,\n"
            "value charts of the points to look at, every site's freshness and coverage,\n"
            "the worst equipment, the worst points and the dbt test results of the last\n"
            "build; and beside it one page per site for the sites of lowest coverage\n"
            "(site-<name>.html: its equipment, worst points and heatmap). Every page is\n"
            "bounded by the options below, whatever the number of points. The warehouse is\n"
            "opened read-only; the pages have no script and load nothing (no server needed)."),
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
                        help=f"points drawn in the heatmap, worst first, on the main page and "
                             f"on each site page (default {HEATMAP_MAX_ROWS})")
    parser.add_argument("--worst", type=_positive, default=WORST_POINTS,
                        help=f"rows of the worst-points table, on each page "
                             f"(default {WORST_POINTS})")
    parser.add_argument("--site-pages", type=_count, default=SITE_PAGES,
                        help=f"sites with a page of their own, lowest mean coverage first; "
                             f"0 for none (default {SITE_PAGES})")
    return parser


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100000, got {value}")
    return value


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
                           as_of=args.as_of, days=args.days, max_rows=args.max_rows,
                           worst=args.worst, site_pages=args.site_pages)
    except ReportError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} kB)")
    return EXIT_OK
