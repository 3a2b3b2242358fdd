"""The report's "Points to look at": a value chart for each of the worst-coverage points and
of the points whose value range left their own usual range most (docs/report.md).

The usual range of a point is the lowest minimum to the highest maximum of its previous
days in the window (``samples_1d``: local days that ended at least 24 hours before *as of*,
at least two of them); its deviation is how far the minimum or maximum of the last 24 hours
(``samples_1h``, the hours starting in ``[as_of - 24 h, as_of)``) lies outside that range,
in units of its typical day's range (the median of the previous days' max - min)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb

from ..chart.collect import read_series
from ..chart.model import ChartError
from ..chart.svg import render_svg
from .markup import e, fmt_duration, fmt_pct
from .model import LOOK_COVERAGE_BELOW, LOOK_MAX, LOOK_PER_KIND, LookAt, PointRow, Window


@dataclass(frozen=True)
class Deviation:
    site: str
    point: str
    last_min: float
    last_max: float
    usual_min: float
    usual_max: float
    days: int
    score: float


def deviations(con: duckdb.DuckDBPyConnection, rel: dict[str, str], window: Window,
               limit: int) -> list[Deviation]:
    """The points whose last 24 hours left their usual range most, largest first."""
    recent = window.as_of - timedelta(hours=24)
    rows = con.execute(
        f"""
        with last_day as (
            select h.site, h.point, min(h."min") as lo, max(h."max") as hi
            from samples_1h h
            where h.bucket_start >= $recent and h.bucket_start < $as_of
            group by h.site, h.point
        ),
        ended as (  -- the (zone, local day)s that ended 24 hours before as of
            select z.timezone, d.day
            from (select distinct timezone from {rel['points']}) z,
                 (select distinct day from samples_1d where day >= $first_day) d
            where timezone(z.timezone, cast(d.day + 1 as timestamp)) <= $recent
        ),
        before as (
            select d.site, d.point, min(d."min") as lo, max(d."max") as hi,
                   median(d."max" - d."min") as span, count(*) as days
            from samples_1d d
            join {rel['points']} p on p.site = d.site and p.point = d.point
            join ended e on e.timezone = p.timezone and e.day = d.day
            where d.day >= $first_day and d."min" is not null
            group by d.site, d.point
            having count(*) >= 2
        ),
        scored as (
            select l.site, l.point, l.lo, l.hi, b.lo as usual_lo, b.hi as usual_hi, b.days,
                   greatest(b.lo - l.lo, l.hi - b.hi, 0)
                   / greatest(b.span, 1e-9 * greatest(abs(b.lo), abs(b.hi), 1)) as score
            from last_day l
            join before b on b.site = l.site and b.point = l.point
            where l.lo is not null
        )
        select * from scored where score > 0
        order by score desc, site, point
        limit $limit""",
        {"recent": recent, "as_of": window.as_of, "first_day": window.first_day,
         "limit": limit}).fetchall()
    return [Deviation(str(s), str(p), float(lo), float(hi), float(ulo), float(uhi), int(n),
                      float(score)) for s, p, lo, hi, ulo, uhi, n, score in rows]


def collect(con: duckdb.DuckDBPyConnection, rel: dict[str, str], window: Window,
            points: list[PointRow]) -> list[LookAt]:
    """The points to look at (at most LOOK_MAX, LOOK_PER_KIND of each kind unless the
    other kind has fewer), each with its chart over the window."""
    worst = [r for r in points
             if r.mean_coverage is not None and r.mean_coverage < LOOK_COVERAGE_BELOW]
    try:
        deviating = deviations(con, rel, window, LOOK_MAX)
    except duckdb.Error:
        deviating = []  # a warehouse without the aggregate ladder: coverage only
    n_worst = min(len(worst), max(LOOK_PER_KIND, LOOK_MAX - len(deviating)))
    chosen: dict[tuple[str, str], LookAt] = {}
    for r in worst[:n_worst]:
        chosen[(r.site, r.point)] = LookAt(
            r.site, r.point, ["coverage"],
            f"mean coverage {fmt_pct(r.mean_coverage)}, {r.gaps_in_window} gaps "
            f"({fmt_duration(r.gap_seconds)}) in the window")
    for d in deviating:
        text = (f"last 24 h {d.last_min:g} to {d.last_max:g}, usual {d.usual_min:g} to "
                f"{d.usual_max:g} ({d.days} days before): outside by {d.score:.2f} typical "
                "daily ranges")
        if (d.site, d.point) in chosen:
            chosen[(d.site, d.point)].reasons.append("range")
            chosen[(d.site, d.point)].detail += "; " + text
            chosen[(d.site, d.point)].score = d.score
        elif len(chosen) < LOOK_MAX:
            chosen[(d.site, d.point)] = LookAt(d.site, d.point, ["range"], text, d.score)
    looks = list(chosen.values())
    for look in looks:
        try:
            look.series = read_series(con, look.site, look.point, window.start, window.as_of)
        except (ChartError, duckdb.Error) as exc:
            look.problem = f"no chart: {exc}"
    return looks


def section(looks: list[LookAt], window: Window) -> str:
    intro = (
        "<section id=\"look\"><h2>Points to look at</h2><p class=\"note\">A chart of each "
        f"of the worst-coverage points (mean coverage below "
        f"{fmt_pct(LOOK_COVERAGE_BELOW)}) and of the points whose value range in the last "
        "24 hours left their usual range most: the lowest minimum to the highest maximum of "
        "their previous days in the window, measured in their typical day's range (the "
        f"median daily max - min); at most {LOOK_MAX}. Each chart covers the window at the "
        "resolution <code>series()</code> picks: the line is the bucket average, the band "
        "its min to max, a break is a gap; times are the site's local time.</p>")
    if not looks:
        return intro + "<p id=\"no-look\">Nothing stands out.</p></section>"
    figures = []
    for i, look in enumerate(looks):
        chart = (render_svg([look.series], window.start, window.as_of, width=900,
                            panel_height=200, chart_id=f"look-chart-{i}")
                 if look.series is not None else f"<p class=\"missing\">{e(look.problem)}</p>")
        score = "" if look.score is None else f"{look.score!r}"
        figures.append(
            f"<figure class=\"look\" data-site=\"{e(look.site)}\" data-point=\"{e(look.point)}\" "
            f"data-reasons=\"{' '.join(look.reasons)}\" data-score=\"{score}\">"
            f"<figcaption><b>{e(look.site)} / {e(look.point)}</b>: {e(look.detail)}"
            f"</figcaption><div class=\"chart\">{chart}</div></figure>")
    return intro + "".join(figures) + "</section>"
