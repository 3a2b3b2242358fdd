"""The report's summaries at fleet scale: the site table (freshness and coverage of every
site, linked to the site pages) and the equipment tables."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ..intervals import IntervalMismatch
from .markup import e, fmt_duration, fmt_iso, fmt_pct, fmt_utc
from .model import (
    FRESH_LATE,
    FRESH_STALE,
    LOOK_COVERAGE_BELOW,
    EquipmentSummary,
    SiteSummary,
)


def off_by(m: IntervalMismatch) -> str:
    """How far the observed interval is off the configured one, as a factor."""
    f = m.factor
    return f"{f:.1f}\u00d7 longer" if f >= 1 else f"{1 / f:.1f}\u00d7 shorter"


def mismatch_section(items: Sequence[IntervalMismatch], total: int,
                     missing: Sequence[str]) -> str:
    """The points whose observed interval is at least twice or at most half the configured
    one (``points.is_interval_mismatch``), the farthest off first: ``items`` of ``total``;
    ``missing``: the columns an older warehouse lacks, when nothing can be said."""
    intro = (
        "<section id=\"mismatches\"><h2>Interval mismatches</h2><p class=\"note\">"
        "Points whose observed interval (the typical spacing of their samples, "
        "<code>points.observed_interval</code>) is at least twice or at most half their "
        "configured <code>collect_interval</code> (<code>points.is_interval_mismatch</code>), "
        "the farthest off first. Under <code>interval_source: auto</code> their coverage is "
        "judged against the observed interval; fix the configuration or the device.</p>")
    if missing:
        return (intro + "<p class=\"missing\" id=\"mismatch-columns-missing\" "
                f"data-missing=\"{e(' '.join(missing))}\">This warehouse was built before "
                "observed intervals: <code>points</code> has no column "
                + ", ".join(f"<code>{e(c)}</code>" for c in missing)
                + " (rebuild it to list them).</p></section>")
    if not items:
        return intro + ("<p id=\"no-mismatches\">None: every point reports at about its "
                        "configured interval.</p></section>")
    rows = "".join(
        f"<tr data-site=\"{e(m.site)}\" data-point=\"{e(m.point)}\" "
        f"data-configured=\"{m.collect_interval:g}\" data-observed=\"{m.observed_interval}\" "
        f"data-factor=\"{m.factor!r}\"><td class=\"num\">{rank}</td>"
        f"<td class=\"name\">{e(m.site)}</td><td class=\"name long\">{e(m.point)}</td>"
        f"<td class=\"num\">{m.collect_interval:g}</td>"
        f"<td class=\"num\">{m.observed_interval}</td><td class=\"num\">{off_by(m)}</td></tr>"
        for rank, m in enumerate(items, start=1))
    more = total - len(items)
    note = (f"<p class=\"note\" id=\"mismatches-left-out\" data-left-out=\"{more}\">and "
            f"{more} more not listed.</p>" if more > 0 else "")
    return (
        intro + f"<p class=\"note\" data-count=\"{total}\">{total} "
        f"point{'' if total == 1 else 's'} off their configured interval.</p>"
        "<table id=\"mismatch-table\"><thead><tr><th>#</th><th>site</th><th>point</th>"
        "<th>configured (s)</th><th>observed (s)</th><th>off by</th></tr></thead><tbody>"
        + rows + "</tbody></table>" + note + "</section>")


def _status(as_of: datetime, last: datetime | None) -> tuple[str, str, str, float]:
    """(status, lag text, lag attribute, bar fraction) of a latest sample."""
    if last is None:
        return "stale", "never reported", "", 0.0
    lag = (as_of - last).total_seconds()
    status = ("fresh" if lag < FRESH_LATE.total_seconds() else
              "late" if lag < FRESH_STALE.total_seconds() else "stale")
    text = fmt_duration(lag) if lag >= 0 else "after as of"
    return status, text, f"{lag:.0f}", min(max(lag, 0.0) / (2 * FRESH_STALE.total_seconds()), 1.0)


def site_rows(sites: Sequence[SiteSummary], as_of: datetime, *, links: bool) -> str:
    """The rows of the site table (``links``: a site with a page links to it)."""
    rows = []
    for s in sites:
        status, lag_text, lag_attr, bar = _status(as_of, s.last_sample)
        colour = {"fresh": "#1a9850", "late": "#e6a100", "stale": "#b3261e"}[status]
        last = "" if s.last_sample is None else fmt_iso(s.last_sample)
        name = (f"<a href=\"{e(s.page)}\">{e(s.site)}</a>" if links and s.page else e(s.site))
        mean = "" if s.mean_coverage is None else repr(s.mean_coverage)
        rows.append(
            f"<tr data-site=\"{e(s.site)}\" data-last-sample=\"{last}\" "
            f"data-lag-seconds=\"{lag_attr}\" data-status=\"{status}\" "
            f"data-points=\"{s.points}\" data-in-window=\"{s.in_window}\" "
            f"data-mean-coverage=\"{mean}\" data-below=\"{s.below}\" "
            f"data-open-gaps=\"{s.open_gaps}\" data-page=\"{e(s.page or '')}\">"
            f"<td class=\"name\">{name}</td><td>{e(s.timezone)}</td>"
            f"<td class=\"num\">{s.points}</td><td class=\"num\">{s.in_window}</td>"
            f"<td class=\"num\">{fmt_pct(s.mean_coverage)}</td><td class=\"num\">{s.below}</td>"
            f"<td class=\"num\">{s.empty_days}</td>"
            f"<td class=\"when\">{e(fmt_utc(s.last_sample)) if s.last_sample else 'never'}</td>"
            f"<td class=\"num\">{e(lag_text)}</td><td class=\"{status}\">{status}</td>"
            f"<td class=\"num\">{s.open_gaps}</td>"
            f"<td><svg width=\"100\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\">"
            f"<rect width=\"100\" height=\"10\" fill=\"#eee\"/><rect width=\"{100 * bar:.1f}\" "
            f"height=\"10\" fill=\"{colour}\"/></svg></td></tr>")
    return "".join(rows) or "<tr><td colspan=\"12\">no site in the warehouse</td></tr>"


SITE_HEAD = (
    "<thead><tr><th>site</th><th>zone</th><th>points</th><th>in window</th>"
    "<th>mean coverage</th><th>below 99%</th><th>days without samples</th>"
    "<th>last sample</th><th>lag</th><th>status</th><th>open gaps</th><th>lag</th></tr>"
    "</thead>")


def sites_section(sites: Sequence[SiteSummary], as_of: datetime) -> str:
    """Every site, one row each: freshness, points, coverage, open gaps, its page."""
    with_pages = sum(1 for s in sites if s.page)
    pages = (f" The {with_pages} sites of lowest mean coverage have a page of their own "
             "(the linked names: their equipment, worst points and heatmap; "
             "<code>--site-pages</code>)." if with_pages else "")
    return (
        "<section id=\"freshness\"><h2>Sites: freshness and coverage</h2><p class=\"note\">"
        "Per site: the latest sample time of any point (<code>points.last_sample_ts</code>) "
        f"and its lag behind <i>as of</i>: fresh under "
        f"{fmt_duration(FRESH_LATE.total_seconds())}, late under "
        f"{fmt_duration(FRESH_STALE.total_seconds())}, stale beyond (the thresholds of "
        "<code>dbt source freshness</code>); the bar is the lag on a 0 to 48 h scale. "
        "Points: in <code>points</code>, and with a sample or a gap in the window. Mean "
        "coverage: the mean of those points' mean coverage; below 99%: how many are under "
        f"{fmt_pct(LOOK_COVERAGE_BELOW)}; days without samples: their complete days with "
        "none. Open gaps: points that stopped reporting." + pages + "</p>"
        "<table id=\"freshness-table\">" + SITE_HEAD + "<tbody>"
        + site_rows(sites, as_of, links=True) + "</tbody></table></section>")


def equipment_section(items: Sequence[EquipmentSummary], total: int, *, with_site: bool,
                      links: dict[str, str] | None = None) -> str:
    """The equipment of lowest mean coverage (``total`` in all): the points whose names
    share an equipment segment, as the heatmap labels them."""
    rows = []
    for q in items:
        site = e(q.site)
        if links and links.get(q.site):
            site = f"<a href=\"{e(links[q.site])}\">{site}</a>"
        mean = "" if q.mean_coverage is None else repr(q.mean_coverage)
        rows.append(
            f"<tr data-site=\"{e(q.site)}\" data-equipment=\"{e(q.equipment)}\" "
            f"data-points=\"{q.points}\" data-mean-coverage=\"{mean}\">"
            + (f"<td class=\"name\">{site}</td>" if with_site else "")
            + f"<td class=\"name long\">{e(q.equipment) or '<i>(none)</i>'}</td>"
            f"<td class=\"num\">{q.points}</td><td class=\"num\">{fmt_pct(q.mean_coverage)}</td>"
            f"<td class=\"num\">{fmt_pct(q.worst)}</td><td class=\"num\">{q.below}</td>"
            f"<td class=\"num\">{q.open_gaps}</td>"
            f"<td class=\"num when\">{fmt_duration(q.gap_seconds)}</td>"
            f"<td class=\"when\">{e(fmt_utc(q.last_sample)) if q.last_sample else ''}</td></tr>")
    cols = 9 if with_site else 8
    body = "".join(rows) or f"<tr><td colspan=\"{cols}\">no point in the window</td></tr>"
    more = total - len(items)
    note = (f"<p class=\"note\" id=\"equipment-left-out\" data-left-out=\"{more}\">{more} "
            "more equipment not listed.</p>" if more > 0 else "")
    return (
        "<section id=\"equipment\"><h2>Equipment</h2><p class=\"note\">The points grouped "
        "by their equipment (the segment of the name the heatmap labels show, <i>(none)</i> "
        f"when a name has none), lowest mean coverage first: {len(items)} of {total}. Worst: "
        "the lowest mean coverage of its points; below 99%, open gaps and gap time count "
        "its points.</p><table id=\"equipment-table\"><thead><tr>"
        + ("<th>site</th>" if with_site else "")
        + "<th>equipment</th><th>points</th><th>mean coverage</th><th>worst</th>"
        "<th>below 99%</th><th>open gaps</th><th>gap time</th><th>last sample</th></tr>"
        "</thead><tbody>" + body + "</tbody></table>" + note + "</section>")
