"""``python -m extract chart``: a value chart of points from the published snapshot,
written as SVG or as a self-contained HTML page."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ...core.cliargs import instant_arg
from .model import MAX_POINTS, MAX_SERIES, ChartError

HELP = "draw a line chart of points' values (SVG or HTML) from the published warehouse"

DESCRIPTION = """\
Draw points of one site from the published snapshot (PUBLISHED_DIR/current.duckdb,
read-only) at the resolution series() picks for the range and --max-points: a line
through each bucket's average, a band from its min to its max, a break at every gap
(point_gaps) and at buckets without a numeric value, the time axis in the site's local
time and the value axis in the point's unit (points.unit). Points of one unit share a
panel; points of several units get a panel each (--layout)."""

EPILOG = """\
output: .svg (a standalone SVG file) or .html (a page with the chart inline); both open
from disk with no server, script or network. PNG is not written: the chart is drawn as
SVG and the project ships no rasteriser (open the SVG in a browser to save an image).

exit status: 0 written; 2 no published snapshot, an unknown site or point, no point
given or matched, a bad range or output format. See docs/analysts.md."""

FORMATS = (".svg", ".html", ".htm")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--site", required=True, help="the site of the points")
    parser.add_argument("--point", action="append", default=[], metavar="POINT",
                        help="a point's full name (repeatable)")
    parser.add_argument("--pattern", metavar="TEXT",
                        help="also every point of the site whose name contains TEXT "
                             "(case-insensitive, as find_points(pattern := ...))")
    parser.add_argument("--start", type=instant_arg("--start"), metavar="INSTANT",
                        help="start of the range, ISO 8601, naive = UTC (default: --end "
                             "minus one day)")
    parser.add_argument("--end", type=instant_arg("--end"), metavar="INSTANT",
                        help="end of the range, exclusive (default: now)")
    parser.add_argument("--max-points", type=int, default=MAX_POINTS, metavar="N",
                        help=f"rows per point at most, passed to series() (default "
                             f"{MAX_POINTS})")
    parser.add_argument("--layout", choices=("auto", "overlay", "multiples"), default="auto",
                        help="overlay: one panel; multiples: a panel per point; auto: "
                             "overlay when the points share a unit (default)")
    parser.add_argument("--out", type=Path, default=Path("chart.html"),
                        help="the file to write, .svg or .html (default chart.html)")


def run(args: argparse.Namespace, published_dir: Path) -> int:
    try:
        path, summary = write_chart(
            published_dir, args.site, args.point, pattern=args.pattern, start=args.start,
            end=args.end, out=args.out, max_points=args.max_points, layout=args.layout)
    except ChartError as exc:
        print(f"chart: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}: {summary}")
    return 0


def write_chart(published_dir: Path, site: str, points: list[str], *, out: Path,
                pattern: str | None = None, start: datetime | None = None,
                end: datetime | None = None, max_points: int = MAX_POINTS,
                layout: str = "auto") -> tuple[Path, str]:
    """Draw the points and write ``out``; returns it and a one-line summary."""
    suffix = out.suffix.lower()
    if suffix == ".png":
        raise ChartError("PNG is not written (the chart is SVG and no rasteriser is "
                         "shipped): use --out F.svg or F.html")
    if suffix not in FORMATS:
        raise ChartError(f"--out must end in .svg or .html, not {out.name!r}")
    if max_points < 1:
        raise ChartError("--max-points must be at least 1")
    end = datetime.now(UTC) if end is None else end.astimezone(UTC)
    start = end - timedelta(days=1) if start is None else start.astimezone(UTC)
    if start >= end:
        raise ChartError(f"--start {start:%Y-%m-%dT%H:%M:%SZ} is not before --end "
                         f"{end:%Y-%m-%dT%H:%M:%SZ}")
    from ...warehouse.publish import connect_current
    from .collect import point_names, read_series
    from .svg import page, render_svg
    try:
        con = connect_current(published_dir)
    except FileNotFoundError as exc:
        raise ChartError(str(exc)) from None
    try:
        names = point_names(con, site, points, pattern)
        if not names:
            raise ChartError("no point: give --point, or a --pattern that matches a point "
                             f"of site {site!r}")
        dropped = names[MAX_SERIES:]
        series = [read_series(con, site, p, start, end, max_points=max_points)
                  for p in names[:MAX_SERIES]]
    finally:
        con.close()
    svg = render_svg(series, start, end, layout=layout)
    if suffix == ".svg":
        text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + svg + "\n"
    else:
        text = page(svg, f"{site}: {', '.join(s.point for s in series)}",
                    f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC; times on the axis "
                    f"are local ({series[0].timezone}); the band is each bucket's min to max.")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, out)
    summary = ", ".join(f"{s.point} ({len(s.buckets)} rows at {s.resolution or 'no data'})"
                        for s in series)
    if dropped:
        summary += f"; {len(dropped)} more points not drawn (at most {MAX_SERIES})"
    return out, summary
