"""A value chart as hand-written SVG: per point a line through the bucket averages, a band
from each bucket's min to its max, a break wherever the data has one, a time axis in the
site's local time and a value axis in the point's unit.

Coordinates are linear: ``x = plot_x + (t - start) / (end - start) * plot_w`` for a bucket
drawn at its start ``t``, and ``y = plot_y + plot_h - (v - y0) / (y1 - y0) * plot_h``; every
panel carries ``data-plot-*``, ``data-y0``/``data-y1`` and the root ``data-start``/
``data-end`` so that anyone can map a drawn coordinate back to its value.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from .axes import fmt_value, time_ticks, value_domain, value_ticks
from .model import PALETTE, Bucket, Series

LEFT, RIGHT, TOP, BOTTOM = 64, 16, 30, 34
LEGEND_LINE = 15  # px per extra line of legend

XMap = Callable[[datetime], float]
YMap = Callable[[float], float]


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def iso(t: datetime) -> str:
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{t.microsecond:06d}Z" if t.microsecond else f"{text}Z"


def layout_of(series: Sequence[Series], layout: str) -> str:
    """``overlay`` (one panel) when asked, or for ``auto`` when every point has the same
    unit; otherwise ``multiples`` (one panel per point)."""
    if layout != "auto":
        return layout
    return "overlay" if len({s.unit for s in series}) <= 1 else "multiples"


def render_svg(series: Sequence[Series], start: datetime, end: datetime, *,
               layout: str = "auto", width: int = 960, panel_height: int = 240,
               chart_id: str = "chart") -> str:
    """The chart of ``series`` over ``[start, end]`` as one ``<svg>`` element."""
    mode = layout_of(series, layout)
    panels = [list(series)] if mode == "overlay" else [[s] for s in series]
    legends = [_legend(m, width) for m in panels]
    extra = [LEGEND_LINE * (max((line for _x, line, _t in lg), default=0)) for lg in legends]
    height = panel_height * max(len(panels), 1) + sum(extra)
    zone = series[0].timezone if series else "UTC"
    out = [f"<svg id=\"{e(chart_id)}\" class=\"value-chart\" "
           f"xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" "
           f"viewBox=\"0 0 {width} {height}\" role=\"img\" font-family=\"sans-serif\" "
           f"font-size=\"11\" data-start=\"{iso(start)}\" data-end=\"{iso(end)}\" "
           f"data-timezone=\"{e(zone)}\" data-layout=\"{mode}\">"]
    colours = {id(s): PALETTE[i % len(PALETTE)] for i, s in enumerate(series)}
    top = 0
    for members, legend, more in zip(panels, legends, extra, strict=True):
        out.append(_panel(members, legend, start, end, width, panel_height + more, top, more,
                          colours))
        top += panel_height + more
    out.append("</svg>")
    return "".join(out)


def _legend(members: list[Series], width: int) -> list[tuple[int, int, str]]:
    """``(x, line, text)`` of each member's legend entry, wrapped to the width."""
    out, x, line = [], LEFT, 0
    for s in members:
        text = f"{s.label} ({s.resolution or 'no data'})"
        w = 24 + int(len(text) * 6.2)
        if x > LEFT and x + w > width - RIGHT:
            x, line = LEFT, line + 1
        out.append((x, line, text))
        x += w
    return out


def _panel(members: list[Series], legend: list[tuple[int, int, str]], start: datetime,
           end: datetime, width: int, height: int, top: int, more: int,
           colours: dict[int, str]) -> str:
    px, py = LEFT, top + TOP + more
    pw, ph = width - LEFT - RIGHT, height - TOP - more - BOTTOM
    values = [v for s in members for b in s.buckets for v in (b.min, b.max, b.avg)
              if v is not None]
    y0, y1, step = value_domain(values)
    span = max((end - start).total_seconds(), 1e-6)
    zone = members[0].timezone if members else "UTC"
    units = sorted({s.unit or "" for s in members})
    unit = ", ".join(u for u in units if u) or "no unit"

    def x(t: datetime) -> float:
        return px + (t - start).total_seconds() / span * pw

    def y(v: float) -> float:
        return py + ph - (v - y0) / (y1 - y0) * ph

    g = [f"<g class=\"panel\" data-unit=\"{e(unit)}\" data-y0=\"{y0!r}\" data-y1=\"{y1!r}\" "
         f"data-plot-x=\"{px}\" data-plot-y=\"{py}\" data-plot-w=\"{pw}\" data-plot-h=\"{ph}\">",
         f"<rect x=\"{px}\" y=\"{py}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fff\" "
         "stroke=\"#bbb\"/>"]
    for v in value_ticks(y0, y1, step):
        yy = y(v)
        g.append(f"<line x1=\"{px}\" y1=\"{yy:.2f}\" x2=\"{px + pw}\" y2=\"{yy:.2f}\" "
                 f"stroke=\"#eee\"/><text class=\"tick-value\" x=\"{px - 4}\" "
                 f"y=\"{yy + 3.5:.2f}\" text-anchor=\"end\">{fmt_value(v, step)}</text>")
    for t, label in time_ticks(start, end, zone):
        xx = x(t)
        g.append(f"<line x1=\"{xx:.2f}\" y1=\"{py}\" x2=\"{xx:.2f}\" y2=\"{py + ph + 4}\" "
                 f"stroke=\"#eee\"/><text class=\"tick-time\" data-t=\"{iso(t)}\" "
                 f"x=\"{xx:.2f}\" y=\"{py + ph + 16}\" text-anchor=\"middle\">{e(label)}</text>")
    g.append(f"<text class=\"axis-time\" x=\"{px + pw}\" y=\"{py + ph + 30}\" "
             f"text-anchor=\"end\" fill=\"#555\">local time ({e(zone)})</text>")
    g.append(f"<text class=\"unit\" transform=\"translate(12,{py + ph / 2:.1f}) rotate(-90)\" "
             f"text-anchor=\"middle\" fill=\"#555\">{e(unit)}</text>")
    for s, (lx, line, text) in zip(members, legend, strict=True):
        colour = colours[id(s)]
        g.append(_series(s, colour, x, y))
        ly = top + 10 + line * LEGEND_LINE
        g.append(f"<rect x=\"{lx}\" y=\"{ly}\" width=\"10\" height=\"10\" "
                 f"fill=\"{colour}\"/><text class=\"legend\" x=\"{lx + 14}\" "
                 f"y=\"{ly + 9}\">{e(text)}</text>")
    if not any(s.buckets for s in members):
        g.append(f"<text class=\"empty\" x=\"{px + pw / 2}\" y=\"{py + ph / 2}\" "
                 "text-anchor=\"middle\" fill=\"#777\">no samples in the range</text>")
    g.append("</g>")
    return "".join(g)


def _series(s: Series, colour: str, x: XMap, y: YMap) -> str:
    parts = [f"<g class=\"series\" data-site=\"{e(s.site)}\" data-point=\"{e(s.point)}\" "
             f"data-resolution=\"{e(s.resolution)}\" data-unit=\"{e(s.unit or '')}\" "
             f"data-timezone=\"{e(s.timezone)}\"><title>{e(s.label)}: {e(s.resolution)} "
             f"buckets, {e(s.unit or 'no unit')}</title>"]
    for run in s.segments():
        attrs = f"data-from=\"{iso(run[0].start)}\" data-to=\"{iso(run[-1].start)}\""
        parts.append(_band(run, colour, attrs, x, y))
        if len(run) == 1:
            b = run[0]
            parts.append(f"<circle class=\"dot\" {attrs} cx=\"{x(b.start):.2f}\" "
                         f"cy=\"{y(_avg(b)):.2f}\" r=\"2\" fill=\"{colour}\"/>")
        d = " ".join(f"{'M' if i == 0 else 'L'}{x(b.start):.2f},{y(_avg(b)):.2f}"
                     for i, b in enumerate(run))
        parts.append(f"<path class=\"line\" {attrs} d=\"{d}\" fill=\"none\" "
                     f"stroke=\"{colour}\" stroke-width=\"1.5\"/>")
    parts.append("</g>")
    return "".join(parts)


def _band(run: list[Bucket], colour: str, attrs: str, x: XMap, y: YMap) -> str:
    """The min..max envelope of a run: along the maxima, back along the minima."""
    upper = [f"{x(b.start):.2f},{y(_avg(b) if b.max is None else b.max):.2f}" for b in run]
    lower = [f"{x(b.start):.2f},{y(_avg(b) if b.min is None else b.min):.2f}"
             for b in reversed(run)]
    return (f"<polygon class=\"band\" {attrs} points=\"{' '.join(upper + lower)}\" "
            f"fill=\"{colour}\" fill-opacity=\"0.18\" stroke=\"{colour}\" "
            "stroke-opacity=\"0.25\" stroke-width=\"0.5\"/>")


def _avg(b: Bucket) -> float:
    assert b.avg is not None  # segments() holds numeric buckets only
    return b.avg


def page(svg: str, title: str, note: str = "") -> str:
    """A self-contained HTML page around the chart (no script, nothing fetched)."""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(title)}</title><style>body{{font:14px sans-serif;margin:16px}}"
            ".note{color:#555;font-size:13px}</style></head><body>"
            f"<h1 style=\"font-size:18px\">{e(title)}</h1>"
            + (f"<p class=\"note\">{e(note)}</p>" if note else "") + svg
            + "</body></html>\n")
