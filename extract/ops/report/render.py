"""The report's page: one self-contained HTML file (inline CSS and SVG, no script), every
name from the warehouse HTML-escaped."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from . import lookat
from .charts import gaps_section, heatmap_section
from .markup import css_class, e, fmt_duration, fmt_iso, fmt_pct, fmt_utc
from .model import (
    HEATMAP_MAX_ROWS,
    STATUS_ORDER,
    WORST_POINTS,
    PointRow,
    ReportData,
    RunResults,
    SitePage,
)
from .pages import SITE_HEAD, equipment_section, mismatch_section, site_rows, sites_section

GENERATOR = "extract-report"  # marks the pages this report writes (old site pages are pruned)

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 0 auto; max-width: 1400px; padding: 16px 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; } h2 { font-size: 18px; margin: 28px 0 6px; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0; }
dl.meta dt { color: #555; } dl.meta dd { margin: 0; font-family: ui-monospace, monospace; }
nav a { margin-right: 14px; }
.note { color: #555; font-size: 13px; max-width: 70em; }
.chart { overflow-x: auto; border: 1px solid #ddd; padding: 6px; }
svg text { font: 11px ui-monospace, "DejaVu Sans Mono", monospace; fill: #222; }
svg text.day.partial { font-style: italic; fill: #777; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; font-size: 12px; }
.legend span.swatch { display: inline-block; width: 14px; height: 12px; margin-right: 4px;
                      vertical-align: -2px; border: 1px solid #bbb; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 3px 10px; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name { font-family: ui-monospace, monospace; white-space: nowrap; }
td.name.long { white-space: normal; word-break: break-all; max-width: 40em; }
td.when { white-space: nowrap; }
.status-pass, .status-success, .fresh { color: #1a7f37; }
.status-warn, .late { color: #9a6700; font-weight: 600; }
.status-fail, .status-error, .stale, .status-runtime-error { color: #b3261e; font-weight: 700; }
.missing { color: #b3261e; }
ul.counts { list-style: none; padding: 0; display: flex; gap: 16px; }
figure.look { margin: 14px 0; } figure.look figcaption { margin-bottom: 4px; }
"""


def _head(title: str) -> str:
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<meta name=\"generator\" content=\"{GENERATOR}\">"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>")


def _meta(data: ReportData) -> list[str]:
    w = data.window
    return [
        f"<dt>generated</dt><dd id=\"generated-at\">{e(fmt_utc(data.generated_at))}</dd>",
        f"<dt>warehouse</dt><dd id=\"warehouse-path\">{e(data.warehouse)}</dd>",
        f"<dt>as of</dt><dd id=\"as-of\" data-as-of=\"{e(fmt_iso(w.as_of))}\">"
        f"{e(fmt_utc(w.as_of))}</dd>",
        f"<dt>window</dt><dd id=\"window\" data-first-day=\"{w.first_day}\" "
        f"data-last-day=\"{w.last_day}\">{len(w.days)} local days, {w.first_day} to "
        f"{w.last_day}</dd>",
    ]


def render(data: ReportData, *, max_rows: int = HEATMAP_MAX_ROWS,
           worst: int = WORST_POINTS) -> str:
    """The main page as one HTML string: every site's row, and the worst of the rest."""
    tests = data.run_results.tests
    counts = Counter(t.status for t in tests)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none read"
    drawn = data.points[:max_rows]
    parts = [
        _head(f"Data quality report: {data.warehouse.name}"),
        "<header id=\"summary\"><h1>Warehouse data-quality report</h1><dl class=\"meta\">",
        *_meta(data),
        f"<dt>points</dt><dd id=\"point-counts\" data-in-scope=\"{data.in_scope}\" "
        f"data-never=\"{data.never_count}\" data-sites=\"{len(data.sites)}\">"
        f"{data.in_scope} reported in the window, {data.never_count} never reported, "
        f"{len(data.sites)} sites</dd>",
        f"<dt>dbt tests</dt><dd>{e(summary)}</dd>",
        "</dl><nav><a href=\"#heatmap\">coverage</a>"
        "<a href=\"#mismatches\">interval mismatches</a><a href=\"#gaps\">gaps</a>"
        "<a href=\"#look\">points to look at</a><a href=\"#freshness\">sites</a>"
        "<a href=\"#equipment\">equipment</a><a href=\"#worst\">worst points</a>"
        "<a href=\"#tests\">dbt tests</a></nav></header>",
        heatmap_section(drawn, data.window, data.in_scope - len(drawn)),
        mismatch_section(data.mismatches, data.mismatch_count, data.mismatch_missing),
        gaps_section(data),
        lookat.section(data.look, data.window),
        sites_section(data.sites, data.window.as_of),
        equipment_section(data.equipment, data.equipment_total, with_site=True,
                          links={s.site: s.page for s in data.sites if s.page}),
        worst_section(data.points[:worst], worst, data.in_scope, data.never_count,
                      data.never_reported),
        _tests_section(data.run_results),
        _FOOTER,
    ]
    return "\n".join(parts)


_FOOTER = ("<footer id=\"end\" class=\"note\"><p>Written by <code>python -m extract.report"
           "</code> (docs/report.md). Times are UTC unless marked local.</p></footer>"
           "</body></html>\n")


def render_site(data: ReportData, page: SitePage, index: str, *,
                max_rows: int = HEATMAP_MAX_ROWS, worst: int = WORST_POINTS) -> str:
    """A site's own page: its row of the site table, its equipment, its worst points and
    its heatmap, each bounded like the main page's; linked back to ``index``."""
    s = page.site
    drawn = page.points[:max_rows]
    parts = [
        _head(f"Data quality report: site {s.site}"),
        f"<header id=\"summary\" data-site=\"{e(s.site)}\"><h1>Site {e(s.site)}</h1>"
        f"<p><a id=\"back\" href=\"{e(index)}\">&larr; all sites</a></p><dl class=\"meta\">",
        *_meta(data),
        "</dl></header>",
        "<section id=\"site\"><h2>Freshness and coverage</h2>"
        "<table id=\"freshness-table\">" + SITE_HEAD + "<tbody>"
        + site_rows([s], data.window.as_of, links=False) + "</tbody></table></section>",
        equipment_section(page.equipment, page.equipment_total, with_site=False),
        worst_section(page.points[:worst], worst, s.in_window, 0, []),
        heatmap_section(drawn, data.window, s.in_window - len(drawn)),
        _FOOTER,
    ]
    return "\n".join(parts)


def worst_section(rows: Sequence[PointRow], n: int, in_scope: int, never_count: int,
                  never_reported: Sequence[tuple[str, str]]) -> str:
    """The ``n`` worst points (``rows``) of ``in_scope``, and those that never reported."""
    out = []
    for rank, r in enumerate(rows, start=1):
        mean = r.mean_coverage
        open_text = e(fmt_utc(r.open_since)) if r.open_since else ""
        out.append(
            f"<tr data-site=\"{e(r.site)}\" data-point=\"{e(r.point)}\" "
            f"data-mean-coverage=\"{'' if mean is None else repr(mean)}\" "
            f"data-gap-seconds=\"{r.gap_seconds:.0f}\"><td class=\"num\">{rank}</td>"
            f"<td class=\"name\">{e(r.site)}</td><td class=\"name long\">{e(r.point)}</td>"
            f"<td class=\"num\">{fmt_pct(mean)}</td><td class=\"num\">{r.empty_days}</td>"
            f"<td class=\"num\">{r.gaps_in_window}</td>"
            f"<td class=\"num when\">{fmt_duration(r.gap_seconds)}</td><td class=\"when\">"
            f"{open_text}</td><td class=\"when\">"
            f"{e(fmt_utc(r.last_sample)) if r.last_sample else ''}</td></tr>")
    body = "".join(out) or "<tr><td colspan=\"9\">no point reported in the window</td></tr>"
    never = ""
    if never_count:
        names = ", ".join(e(f"{s} / {p}") for s, p in never_reported)
        more = never_count - len(never_reported)
        never = (f"<p class=\"note\" id=\"never-reported\">{never_count} points "
                 f"in <code>points</code> have never reported a sample: {names}"
                 f"{f' and {more} more' if more > 0 else ''}.</p>")
    return (
        f"<section id=\"worst\"><h2>Worst points</h2><p class=\"note\" data-worst=\"{n}\">"
        f"The {len(rows)} of {in_scope} points with the lowest mean coverage over the window's "
        "complete days (each day capped at 100%), then the most gap time "
        "(<code>--worst</code>).</p><table id=\"worst-points\"><thead><tr>"
        "<th>#</th><th>site</th><th>point</th><th>mean coverage</th><th>days without "
        "samples</th><th>gaps</th><th>gap time</th><th>open since</th><th>last sample</th>"
        "</tr></thead><tbody>" + body + "</tbody></table>" + never + "</section>")


def _tests_section(results: RunResults) -> str:
    head = "<section id=\"tests\"><h2>dbt test results</h2>"
    source = ""
    if results.path is not None and results.problem is None:
        source = (f"<p class=\"note\">From <code>{e(results.path)}</code> (dbt "
                  f"{e(results.command)}, generated {e(results.generated_at)}). Warn-severity "
                  "tests (e.g. <code>no_gaps</code> on <code>samples</code>) warn without "
                  "failing the build.</p>")
    if results.problem is not None:
        return (head + f"<p class=\"missing\" id=\"run-results-missing\">{e(results.problem)}"
                "</p></section>")
    counts = Counter(t.status for t in results.tests)
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    items = "".join(
        f"<li data-status=\"{e(s)}\" data-count=\"{n}\"><span class=\"status-{css_class(s)}\">"
        f"{e(s)}</span>: {n}</li>"
        for s, n in sorted(counts.items(), key=lambda kv: rank.get(kv[0], 3)))
    others = ", ".join(f"{n} {e(k)}" for k, n in sorted(results.other_statuses.items()))
    rows = "".join(
        f"<tr data-unique-id=\"{e(t.unique_id)}\" data-status=\"{e(t.status)}\">"
        f"<td class=\"name long\">{e(t.name)}</td><td>{e(t.kind)}</td>"
        f"<td class=\"status-{css_class(t.status)}\">{e(t.status)}</td>"
        f"<td class=\"num\">{'' if t.failures is None else t.failures}</td>"
        f"<td>{e(t.message)}</td></tr>" for t in results.tests)
    return (head + source + f"<ul class=\"counts\" id=\"test-status-counts\">{items}</ul>"
            + (f"<p class=\"note\">Other nodes: {others}.</p>" if others else "")
            + "<table id=\"dbt-tests\"><thead><tr><th>test</th><th>kind</th><th>status</th>"
            "<th>failures</th><th>message</th></tr></thead><tbody>" + rows
            + "</tbody></table></section>")
