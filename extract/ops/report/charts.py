"""The report's two charts as inline SVG: the coverage heatmap (points x local days) and
the gap timeline."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from .markup import (
    coverage_colour,
    e,
    fmt_duration,
    fmt_iso,
    fmt_pct,
    fmt_utc,
    label_width,
    row_labels,
)
from .model import (
    COVERAGE_BINS,
    GAP_COLOUR,
    NO_DATA_COLOUR,
    OPEN_GAP_COLOUR,
    TIMELINE_MERGE_PX,
    Cell,
    Gap,
    PointRow,
    ReportData,
    Window,
)


def _legend() -> str:
    items = [f"<span><span class=\"swatch\" style=\"background:{colour}\"></span>{e(label)}"
             "</span>" for _upper, colour, label in COVERAGE_BINS]
    items.append(f"<span><span class=\"swatch\" style=\"background:{NO_DATA_COLOUR}\"></span>"
                 "nothing expected (before the first sample, or the day has not begun)</span>")
    return "<div class=\"legend\" id=\"coverage-legend\">" + "".join(items) + "</div>"


def heatmap_section(rows: Sequence[PointRow], w: Window, left_out: int) -> str:
    """The heatmap of ``rows`` (already cut to what is drawn); ``left_out`` more points in
    scope are not drawn."""
    days = w.days
    cell_w = max(18, min(36, 720 // max(len(days), 1)))
    cell_h, head_h = 16, 84
    labels = row_labels([(r.site, r.point) for r in rows])
    label_w = label_width(labels)
    width = label_w + len(days) * cell_w + 12
    height = head_h + len(rows) * cell_h + 6
    svg = [f"<svg id=\"coverage-heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\""
           f" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
           f"aria-label=\"coverage per point and local day\" data-rows=\"{len(rows)}\" "
           f"data-days=\"{len(days)}\">"]
    in_progress = any(not c.complete for r in rows for c in r.cells[-1:] if c.coverage is not None)
    for j, day in enumerate(days):
        x = label_w + j * cell_w + cell_w / 2 + 3
        partial = in_progress and day == w.last_day
        cls = "day partial" if partial else "day"
        svg.append(f"<text class=\"{cls}\" data-day=\"{day}\" transform=\"translate({x:.1f},"
                   f"{head_h - 5}) rotate(-90)\">{day:%a %m-%d}{' *' if partial else ''}"
                   f"<title>{day}</title></text>")
    for i, row in enumerate(rows):
        y = head_h + i * cell_h
        svg.append(f"<text class=\"label\" x=\"{label_w - 6}\" y=\"{y + cell_h - 3}\" "
                   f"text-anchor=\"end\" data-site=\"{e(row.site)}\" "
                   f"data-point=\"{e(row.point)}\">{e(labels[i])}"
                   f"<title>{e(row.label)}: mean coverage {fmt_pct(row.mean_coverage)}</title>"
                   "</text>")
        for j, cell in enumerate(row.cells):
            x = label_w + j * cell_w
            coverage = "" if cell.coverage is None else f"{cell.coverage:.10g}"
            svg.append(
                f"<rect class=\"cell\" x=\"{x}\" y=\"{y}\" width=\"{cell_w - 1}\" "
                f"height=\"{cell_h - 1}\" fill=\"{coverage_colour(cell.coverage)}\" "
                f"data-site=\"{e(row.site)}\" data-point=\"{e(row.point)}\" "
                f"data-day=\"{cell.day}\" data-coverage=\"{coverage}\">"
                f"<title>{e(_cell_title(cell))}</title></rect>")
    svg.append("</svg>")
    note = (f"<p class=\"note\" id=\"heatmap-left-out\" data-left-out=\"{left_out}\">"
            f"{left_out} more points are not drawn: the heatmap shows the {len(rows)} with "
            "the lowest mean coverage (<code>--max-rows</code>).</p>"
            if left_out else "")
    return (
        "<section id=\"heatmap\"><h2>Coverage by point and local day</h2>"
        "<p class=\"note\">One row per point that reported in the window (or has a gap in "
        "it), worst first; one column per local calendar day of the point's site. A cell's "
        "colour is <code>data_quality_daily.coverage</code>: numeric samples / samples "
        "expected at the point's <code>expected_interval</code> (its configured interval, "
        "or the observed one where they differ 2x or more), not clamped. A day without "
        "any sample is 0. Columns marked * are days still in progress at <i>as of</i> "
        "(their coverage is of the whole day so far). A row is labelled with the point's "
        "equipment and the end of its name (the site first when there are several); hover "
        "the label for the full name, a cell for its numbers.</p>"
        + _legend() + "<div class=\"chart\">" + "".join(svg) + "</div>" + note + "</section>")


def _cell_title(cell: Cell) -> str:
    """The tooltip of a heatmap cell (the point is the row's label, not repeated)."""
    if cell.coverage is None:
        return f"{cell.day}: {cell.note}"
    detail = f"{cell.day}: coverage {fmt_pct(cell.coverage)}"
    if cell.expected is not None:
        detail += f", {cell.actual} of {cell.expected:g} samples"
        detail += f", quality {cell.quality:.3f}" if cell.quality is not None else ""
    return detail + (f" ({cell.note})" if cell.note else "")


def gaps_section(data: ReportData) -> str:
    w = data.window
    with_gaps = data.with_gaps
    shown = data.lanes
    intro = (
        "<section id=\"gaps\"><h2>Gap timeline</h2><p class=\"note\">One lane per point "
        "with a gap (<code>point_gaps</code>) in the window, most gap time first; the axis "
        f"runs from {e(fmt_utc(w.start))} to <i>as of</i> ({e(fmt_utc(w.as_of))}), ticks at UTC "
        f"midnight. <span style=\"color:{GAP_COLOUR}\">&#9632;</span> a closed gap, "
        f"<span style=\"color:{OPEN_GAP_COLOUR}\">&#9632;&#9654;</span> an open gap (the "
        "point has not reported since). Gaps closer together than "
        f"{TIMELINE_MERGE_PX:g} pixels are drawn as one bar whose tooltip counts them. "
        "Hover a bar for its times.</p>")
    if not shown:
        return intro + "<p id=\"no-gaps\">No gap in the window.</p></section>"
    labels = row_labels([(r.site, r.point) for r in shown])
    label_w = label_width(labels)
    plot_w = max(480, 1080 - label_w)
    lane_h, head_h = 16, 22
    width = label_w + plot_w + 24
    height = head_h + len(shown) * lane_h + 6
    span = max((w.as_of - w.start).total_seconds(), 1.0)

    def x_of(t: datetime) -> float:
        return label_w + (t - w.start).total_seconds() / span * plot_w

    svg = [f"<svg id=\"gap-timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" "
           f"height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
           "aria-label=\"gaps per point over the window\">"]
    midnights = []
    t = datetime(w.start.year, w.start.month, w.start.day, tzinfo=UTC)
    while t <= w.as_of:
        if t >= w.start:
            midnights.append(t)
        t += timedelta(days=1)
    every = max(1, math.ceil(len(midnights) / 15))
    for k, t in enumerate(midnights):
        x = x_of(t)
        svg.append(f"<line x1=\"{x:.1f}\" y1=\"{head_h - 4}\" x2=\"{x:.1f}\" y2=\"{height}\" "
                   "stroke=\"#ddd\"/>")
        if k % every == 0:
            svg.append(f"<text x=\"{x + 2:.1f}\" y=\"{head_h - 8}\">{t:%m-%d}</text>")
    for i, row in enumerate(shown):
        y = head_h + i * lane_h
        if i % 2 == 0:
            svg.append(f"<rect x=\"{label_w}\" y=\"{y}\" width=\"{plot_w}\" height=\"{lane_h}\" "
                       "fill=\"#f6f6f6\"/>")
        svg.append(f"<text class=\"label\" x=\"{label_w - 6}\" y=\"{y + lane_h - 4}\" "
                   f"text-anchor=\"end\" data-site=\"{e(row.site)}\" "
                   f"data-point=\"{e(row.point)}\">{e(labels[i])}<title>"
                   f"{e(row.label)}: {row.gaps_in_window} gaps, {fmt_duration(row.gap_seconds)} "
                   "in the window</title></text>")
        for group in _merge_close(row.bars, w, x_of):
            first, last = group[0], group[-1]
            x0, x1 = x_of(first.shown(w)[0]), x_of(last.shown(w)[1])
            is_open = last.end is None
            density = _gap_fraction(group, w)
            svg.append(
                f"<rect class=\"gap{' open' if is_open else ''}\" x=\"{x0:.2f}\" "
                f"y=\"{y + 3}\" width=\"{max(x1 - x0, 2.0):.2f}\" height=\"{lane_h - 6}\" "
                f"fill=\"{OPEN_GAP_COLOUR if is_open else GAP_COLOUR}\" "
                f"data-site=\"{e(row.site)}\" data-point=\"{e(row.point)}\" "
                f"data-gap-start=\"{fmt_iso(first.start)}\" "
                f"data-gap-end=\"{'' if last.end is None else fmt_iso(last.end)}\" "
                f"data-gaps=\"{len(group)}\" data-open=\"{'true' if is_open else 'false'}\""
                + (f" fill-opacity=\"{max(density, 0.25):.2f}\"" if len(group) > 1 else "")
                + ">"
                f"<title>{e(_gap_title(row, group, w))}</title></rect>")
            if is_open:
                svg.append(f"<text class=\"open-marker\" x=\"{x1 + 1:.1f}\" "
                           f"y=\"{y + lane_h - 4}\" fill=\"{OPEN_GAP_COLOUR}\">&#9654;</text>")
    svg.append("</svg>")
    note = ""
    if with_gaps > len(shown):
        note = (f"<p class=\"note\" id=\"gaps-left-out\">{with_gaps - len(shown)} more points "
                "with gaps in the window are not drawn.</p>")
    return intro + "<div class=\"chart\">" + "".join(svg) + "</div>" + note + "</section>"


def _merge_close(gaps: Sequence[Gap], window: Window,
                 x_of: Callable[[datetime], float]) -> list[list[Gap]]:
    """Consecutive gaps (by start) less than TIMELINE_MERGE_PX apart on the axis, grouped."""
    groups: list[list[Gap]] = []
    right = -math.inf
    for gap in sorted(gaps, key=lambda g: g.start):
        lo, hi = gap.shown(window)
        if groups and x_of(lo) - right < TIMELINE_MERGE_PX and groups[-1][-1].end is not None:
            groups[-1].append(gap)
        else:
            groups.append([gap])
        right = max(right, x_of(hi))
    return groups


def _gap_fraction(group: Sequence[Gap], window: Window) -> float:
    """The share of a merged bar's span that is gap time (drawn as its opacity)."""
    spans = [g.shown(window) for g in group]
    total = math.fsum((hi - lo).total_seconds() for lo, hi in spans)
    span = (spans[-1][1] - spans[0][0]).total_seconds()
    return 1.0 if span <= 0 else min(total / span, 1.0)


def _gap_title(row: PointRow, group: Sequence[Gap], window: Window) -> str:
    first, last = group[0], group[-1]
    if len(group) > 1:
        total = math.fsum((g.shown(window)[1] - g.shown(window)[0]).total_seconds()
                          for g in group)
        end = "as of (the last is open)" if last.end is None else fmt_utc(last.end)
        return (f"{row.label}\n{len(group)} gaps from {fmt_utc(first.start)} to {end}: "
                f"{fmt_duration(total)} of gap time ({fmt_pct(_gap_fraction(group, window))} of "
                "the span; the bar's opacity)")
    if first.end is None:
        silent = (window.as_of - first.start).total_seconds()
        return (f"{row.label}\nOPEN gap since {fmt_utc(first.start)}: no sample for "
                f"{fmt_duration(silent)} at as of")
    length = (first.end - first.start).total_seconds()
    return (f"{row.label}\ngap {fmt_utc(first.start)} to {fmt_utc(first.end)} "
            f"({fmt_duration(length)}, about {first.missing_expected:.0f} samples missing)")
