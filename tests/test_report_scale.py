"""The report at fleet scale (docs/report.md, "At scale"): a synthetic 50,000-point
warehouse (1,000 sites x 50 points, tests/report_fleet.py) is reported on and the pages
opened in headless Chromium. The main page stays under its bound, the site table lists
every site with the counts computed here from the rows written, the worst-N table is the
N lowest by coverage (computed here), and the site pages are linked, bounded and open.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from extract.ops.report import write_report
from extract.ops.report.markup import equipment_of
from extract.ops.report.summary import equipment_sql
from tests.browser import Node, dump_dom, parse_html
from tests.report_fleet import (
    ZONES,
    Fleet,
    FleetPoint,
    as_of_default,
    local_days,
    make_fleet,
    write_warehouse,
)

pytestmark = pytest.mark.slow

SITES, PER_SITE, DAYS, WORST, SITE_PAGES = 1000, 50, 2, 50, 50
MAIN_PAGE_MAX = 3 * 1024 * 1024
SITE_PAGE_MAX = 1024 * 1024
AS_OF = as_of_default()


def _midnight(day: date, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def expected_means(fleet: Fleet) -> dict[tuple[str, str], float | None]:
    """Per point in scope (a sample or a gap in the window): the mean of min(coverage, 1)
    over its complete local days in the window (a day without a row is 0; the day in
    progress only when there is no complete day), from the rows written."""
    days = local_days(fleet.as_of, fleet.days)
    start = min(_midnight(days[0], z) for z in ZONES)
    gapped = {(s, p) for s, p, a, b, _m in fleet.gaps
              if a < fleet.as_of and (b is None or b > start)}
    out: dict[tuple[str, str], float | None] = {}
    for pt in fleet.points:
        if pt.first is None or pt.last is None:
            continue
        key = (pt.site, pt.point)
        if not (pt.first <= fleet.as_of and pt.last >= start) and key not in gapped:
            continue
        tz = ZoneInfo(pt.timezone)
        first_day, today = pt.first.astimezone(tz).date(), fleet.as_of.astimezone(tz).date()
        known = [(min(fleet.quality.get((*key, d), 0.0), 1.0),
                  _midnight(d + timedelta(days=1), pt.timezone) <= fleet.as_of)
                 for d in days if first_day <= d <= today]
        chosen = [c for c, complete in known if complete] or [c for c, _ in known]
        out[key] = sum(chosen) / len(chosen) if chosen else None
    return out


@pytest.fixture(scope="module")
def fleet_report(tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Fleet, dict[tuple[str, str], float | None], Path, Node]:
    root = tmp_path_factory.mktemp("fleet")
    fleet = make_fleet(SITES, PER_SITE, as_of=AS_OF, days=DAYS)
    warehouse = write_warehouse(fleet, root / "fleet.duckdb")
    out = write_report(warehouse, root / "report" / "index.html", as_of=AS_OF, days=DAYS,
                       worst=WORST, site_pages=SITE_PAGES)
    return fleet, expected_means(fleet), out, parse_html(dump_dom(out))


def _rows(table: Node) -> list[Node]:
    return [tr for tr in table.find_all("tr") if "data-site" in tr.attrs]


def test_main_page_is_bounded_and_opens(fleet_report: tuple[Fleet, dict[tuple[str, str],
                                        float | None], Path, Node]) -> None:
    fleet, means, out, dom = fleet_report
    assert len(fleet.points) == SITES * PER_SITE
    assert out.stat().st_size <= MAIN_PAGE_MAX, out.stat().st_size
    dom.find("footer", id="end")  # Chromium parsed it to its end
    counts = dom.find("dd", id="point-counts")
    assert int(counts.attrs["data-in-scope"]) == len(means)
    assert int(counts.attrs["data-never"]) == sum(1 for p in fleet.points if p.first is None)
    heatmap = dom.find("svg", id="coverage-heatmap")
    assert heatmap.attrs["data-rows"] == "200"  # --max-rows, not one row per point
    left_out = dom.find("p", id="heatmap-left-out")
    assert int(left_out.attrs["data-left-out"]) == len(means) - 200
    assert len(dom.find("table", id="equipment-table").find_all("tr")) <= 1 + 50


def test_site_table_lists_every_site_with_its_counts(
        fleet_report: tuple[Fleet, dict[tuple[str, str], float | None], Path, Node]) -> None:
    fleet, means, _out, dom = fleet_report
    rows = {tr.attrs["data-site"]: tr for tr in _rows(dom.find("table", id="freshness-table"))}
    assert sorted(rows) == sorted(s for s, _ in fleet.sites)
    points = Counter(p.site for p in fleet.points)
    in_window = Counter(s for s, _ in means)
    open_gaps = Counter(s for s, _p, _a, b, _m in fleet.gaps if b is None)
    per_site: dict[str, list[float]] = defaultdict(list)
    for (site, _point), mean in means.items():
        if mean is not None:
            per_site[site].append(mean)
    for site, tr in rows.items():
        assert int(tr.attrs["data-points"]) == points[site], site
        assert int(tr.attrs["data-in-window"]) == in_window[site], site
        assert int(tr.attrs["data-open-gaps"]) == open_gaps[site], site
        assert int(tr.attrs["data-below"]) == sum(1 for m in per_site[site] if m < 0.99), site
        want = sum(per_site[site]) / len(per_site[site])
        assert math.isclose(float(tr.attrs["data-mean-coverage"]), want, rel_tol=1e-9), site
    assert sum(open_gaps.values()) > 0 and len(set(in_window.values())) > 1


def test_worst_points_are_the_lowest_by_coverage(
        fleet_report: tuple[Fleet, dict[tuple[str, str], float | None], Path, Node]) -> None:
    _fleet, means, _out, dom = fleet_report
    rows = _rows(dom.find("table", id="worst-points"))
    assert len(rows) == WORST
    got = [(tr.attrs["data-site"], tr.attrs["data-point"]) for tr in rows]
    for key, tr in zip(got, rows, strict=True):
        mean = means[key]
        assert mean is not None
        assert math.isclose(float(tr.attrs["data-mean-coverage"]), mean, abs_tol=1e-12), key
    lowest = sorted(m for m in means.values() if m is not None)[:WORST]
    assert [means[k] for k in got] == pytest.approx(lowest, abs=1e-12)
    # nothing left out is lower than the last one listed
    cut = max(means[k] or 0.0 for k in got)
    assert all(m is None or m >= cut - 1e-12 for k, m in means.items() if k not in set(got))


def test_site_pages_are_linked_bounded_and_open(
        fleet_report: tuple[Fleet, dict[tuple[str, str], float | None], Path, Node]) -> None:
    fleet, means, out, dom = fleet_report
    links = {tr.attrs["data-site"]: tr.find("a").attrs["href"]
             for tr in _rows(dom.find("table", id="freshness-table")) if tr.find_all("a")}
    site_mean: dict[str, list[float]] = defaultdict(list)
    for (site, _p), mean in means.items():
        if mean is not None:
            site_mean[site].append(mean)
    ranked = sorted(site_mean, key=lambda s: (sum(site_mean[s]) / len(site_mean[s]), s))
    assert set(links) == set(ranked[:SITE_PAGES])
    pages = sorted(out.parent.glob("site-*.html"))
    assert sorted(p.name for p in pages) == sorted(links.values())
    assert all(p.stat().st_size <= SITE_PAGE_MAX for p in pages)

    site = ranked[0]
    page = parse_html(dump_dom(out.parent / links[site]))
    assert page.find("header", id="summary").attrs["data-site"] == site
    assert page.find("a", id="back").attrs["href"] == out.name
    page.find("footer", id="end")
    mine: list[FleetPoint] = [p for p in fleet.points if p.site == site
                              and (p.site, p.point) in means]
    by_equipment = Counter(p.equipment for p in mine)
    shown = {tr.attrs["data-equipment"]: int(tr.attrs["data-points"])
             for tr in _rows(page.find("table", id="equipment-table"))}
    assert shown == by_equipment
    heat = page.find("svg", id="coverage-heatmap")
    labels = [(t.attrs["data-site"], t.attrs["data-point"])
              for t in heat.find_all("text", class_="label")]
    assert {s for s, _ in labels} == {site} and len(labels) == len(mine)
    listed = [means[(tr.attrs["data-site"], tr.attrs["data-point"])]
              for tr in _rows(page.find("table", id="worst-points"))]
    assert listed == sorted(listed, key=lambda m: math.inf if m is None else m)


def test_stale_site_pages_are_removed(
        fleet_report: tuple[Fleet, dict[tuple[str, str], float | None], Path, Node],
        tmp_path: Path) -> None:
    fleet, _means, _out, _dom = fleet_report
    small = make_fleet(12, 20, as_of=AS_OF, days=DAYS)
    warehouse = write_warehouse(small, tmp_path / "small.duckdb")
    out = tmp_path / "r" / "index.html"
    out.parent.mkdir()
    (out.parent / "site-mine.html").write_text("not ours")
    write_report(warehouse, out, as_of=AS_OF, days=DAYS, site_pages=12)
    assert len(list(out.parent.glob("site-*.html"))) == 12 + 1
    write_report(warehouse, out, as_of=AS_OF, days=DAYS, site_pages=3)
    left = sorted(p.name for p in out.parent.glob("site-*.html"))
    assert len(left) == 3 + 1 and "site-mine.html" in left  # a foreign file is kept
    assert fleet.points  # the module's fleet is untouched


def test_equipment_in_sql_matches_the_labels() -> None:
    names = [("north", "ahu-1/supply_temp"), ("north", "north/Drivers/BACnet/vav-7/points/x"),
             ("s", "Drivers/BACnetNetwork/ahu-003/points/sensor-1"), ("s", "ahu-002.sensor"),
             ("s", "temp"), ("s", "a//b/"), ("s", "s/points/x"), ("s", "chiller.Points.t"),
             ("s", "")]
    con = duckdb.connect()
    for site, point in names:
        (got,) = con.execute(f"select {equipment_sql('$p', '$s')}",
                             {"p": point, "s": site}).fetchone() or ("?",)
        assert got == equipment_of(site, point), (site, point)
    assert equipment_of("s", "Drivers/BACnetNetwork/ahu-003/points/sensor-1") == "ahu-003"
