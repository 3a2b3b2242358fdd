"""The static data-quality report (extract/report.py, docs/report.md), rendered in Chromium.

A small lake with known holes is landed and built with dbt; the report is written and
opened in headless Chromium. Every heatmap cell, gap bar, freshness row and the worst-points
order are compared with values computed here from the landed samples (never read back
from the warehouse), and the test results with the build's own run_results.json.
"""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from extract.ops.report import main, write_report
from tests.browser import Node, dump_dom, parse_html, read_png, screenshot
from tests.warehouse import truth
from tests.warehouse.common import dbt_vars
from tests.warehouse.harness import build
from tests.warehouse.landing import US, Lake, PointMeta, dt, us

pytestmark = pytest.mark.slow

ZONES = {"north": "America/New_York", "south": "UTC", "east": "UTC"}
AS_OF = datetime(2025, 11, 4, 23, 30, tzinfo=UTC)
START = datetime(2025, 10, 30, 22, 0, tzinfo=UTC)  # before the window's first local day
DAYS = 5  # Oct 31 .. Nov 4 (Nov 2 is New York's 25-hour day)
WINDOW_DAYS = [date(2025, 10, 31) + timedelta(days=i) for i in range(DAYS)]

HEALTHY = ("north", "ahu-1/supply_temp")
MISSING_DAY = ("north", "ahu-1/fan_status")  # no sample on New York's Nov 3
GAPPY = ("south", "chiller/chw_temp")  # a 3-hour gap, Nov 4 19:00 to 22:00 UTC
HOSTILE = ("south", "boiler's \"B<1>\" & <script>alert(1)</script>/temp")  # stops at 22:30
SILENT = ("east", "meter/kwh")  # 15-minute point, silent for the last 30 hours
FAST = ("north", "vav-7/flow")  # configured every 120 s, sends every 60 s: coverage 2
SPIKY = ("south", "ahu-2/zone_temp")  # 20.5 to 24.5 every day, 95.5 on Nov 4 12:00-12:05
SPIKE = (datetime(2025, 11, 4, 12, 0, tzinfo=UTC), datetime(2025, 11, 4, 12, 5, tzinfo=UTC))
INTERVALS = {HEALTHY: 60, MISSING_DAY: 60, GAPPY: 60, HOSTILE: 300, SILENT: 900, FAST: 120,
             SPIKY: 60}
SENDS_EVERY = {**INTERVALS, FAST: 60}
GAP_START = datetime(2025, 11, 4, 19, 0, tzinfo=UTC)
GAP_END = datetime(2025, 11, 4, 22, 0, tzinfo=UTC)
MISSING = date(2025, 11, 3)


def _local(ts_us: int, site: str) -> date:
    return dt(ts_us).astimezone(ZoneInfo(ZONES[site])).date()


def _samples() -> list[tuple[str, str, int, str | None]]:
    out: list[tuple[str, str, int, str | None]] = []
    for site, point in INTERVALS:
        end = AS_OF
        if (site, point) == HOSTILE:
            end = datetime(2025, 11, 4, 22, 30, 1, tzinfo=UTC)
        if (site, point) == SILENT:
            end = AS_OF - timedelta(hours=30) + timedelta(seconds=1)
        t, k = us(START), 0
        while t < us(end):
            k += 1
            keep = True
            if (site, point) == MISSING_DAY:
                keep = _local(t, site) != MISSING
            if (site, point) == GAPPY:
                keep = not us(GAP_START) < t < us(GAP_END)
            if keep:
                value = "NaN" if (site, point) == HOSTILE and k % 7 == 0 else f"{k % 50}.5"
                if (site, point) == SPIKY:
                    value = "95.5" if us(SPIKE[0]) <= t < us(SPIKE[1]) else f"{20 + k % 5}.5"
                out.append((site, point, t, value))
            t += SENDS_EVERY[(site, point)] * US
    return out


# -- the expectations, from the landed samples ------------------------------------------


def expected_coverage(lake: Lake) -> dict[tuple[str, str, date], float]:
    """numeric samples / (local day length / interval) per point and local day; the day in
    progress at AS_OF counts its elapsed part only (to AS_OF or its last sample, if later)."""
    numeric: Counter[tuple[str, str, date]] = Counter()
    last: dict[tuple[str, str, date], int] = {}
    for row in lake.rows:
        key = (row.site, row.point, _local(row.ts, row.site))
        last[key] = max(last.get(key, row.ts), row.ts)
        numeric[key] += row.value is not None
    out = {}
    for (site, point) in INTERVALS:
        zone = ZoneInfo(ZONES[site])
        for day in WINDOW_DAYS:
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            nxt = day + timedelta(days=1)
            end = min(datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone),
                      max(AS_OF, dt(last.get((site, point, day), 0))))
            seconds = (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
            out[(site, point, day)] = numeric[(site, point, day)] / (seconds / INTERVALS[
                (site, point)])
    return out


def expected_gaps() -> set[tuple[str, str, int, int | None]]:
    """Every gap (spacing over max(300 s, 3 x interval)) and open gap, from the samples."""
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for site, point, ts, _value in _samples():
        times[(site, point)].append(ts)
    gaps: set[tuple[str, str, int, int | None]] = set()
    for key, tss in times.items():
        tss.sort()
        threshold = max(300, 3 * INTERVALS[key]) * US
        gaps |= {(*key, a, b) for a, b in zip(tss, tss[1:], strict=False) if b - a > threshold}
        if us(AS_OF) - tss[-1] > threshold:
            gaps.add((*key, tss[-1], None))
    return gaps


def expected_worst(lake: Lake) -> tuple[list[tuple[str, str]], dict[tuple[str, str], float]]:
    """Worst first: mean coverage over the complete days (Nov 4 is in progress everywhere),
    each capped at 1, then the most gap time; and the means."""
    coverage = expected_coverage(lake)
    complete = WINDOW_DAYS[:-1]
    gap_seconds: Counter[tuple[str, str]] = Counter()
    lo = us(datetime(2025, 10, 31, tzinfo=UTC))
    for s, p, a, b in expected_gaps():
        gap_seconds[(s, p)] += (min(b or us(AS_OF), us(AS_OF)) - max(a, lo)) / US
    means = {key: sum(min(coverage[(*key, d)], 1.0) for d in complete) / len(complete)
             for key in INTERVALS}
    return sorted(INTERVALS, key=lambda k: (means[k], -gap_seconds[k], k)), means


def expected_deviation(lake: Lake) -> dict[tuple[str, str], float]:
    """Per point: how far the range of the hours starting in the last 24 hours lies outside
    the lowest min .. highest max of the window's local days that ended 24 hours before
    as of, in units of the median daily max - min (docs/report.md)."""
    recent = us(AS_OF) - 24 * 3600 * US
    first_hour = -(-recent // (3600 * US)) * 3600 * US
    last: dict[tuple[str, str], list[float]] = defaultdict(list)
    days: dict[tuple[str, str], dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in lake.rows:
        if row.value is None:
            continue
        key = (row.site, row.point)
        if first_hour <= row.ts < us(AS_OF):
            last[key].append(row.value)
        day = _local(row.ts, row.site)
        nxt = day + timedelta(days=1)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=ZoneInfo(ZONES[row.site]))
        if day >= WINDOW_DAYS[0] and us(end) <= recent:
            days[key][day].append(row.value)
    out = {}
    for key, values in last.items():
        before = days[key]
        if len(before) < 2:
            continue
        lo, hi = min(min(v) for v in before.values()), max(max(v) for v in before.values())
        spans = sorted(max(v) - min(v) for v in before.values())
        mid = len(spans) // 2
        span = spans[mid] if len(spans) % 2 else (spans[mid - 1] + spans[mid]) / 2
        out[key] = max(lo - min(values), max(values) - hi, 0.0) / span
    return out


def _iso(ts_us: int) -> str:
    return dt(ts_us).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Lake, Path]:
    """The warehouse, its lake and the build's run_results.json."""
    root = tmp_path_factory.mktemp("report")
    lake = Lake(root / "lake")
    meta_at = START - timedelta(hours=1)
    lake.write_sites(sorted(ZONES), extracted_at=meta_at, run_id="20251030T210000Z-meta00")
    for site in sorted(ZONES):
        metas = [PointMeta(s, p, i) for (s, p), i in INTERVALS.items() if s == site]
        lake.write_points(site, metas, extracted_at=meta_at, run_id="20251030T210000Z-meta00")
    lake.land(_samples(), source="realtime", extracted_at=AS_OF)
    warehouse = root / "warehouse.duckdb"
    target = root / "target"
    # FAST's over-reporting (coverage 2, its own colour) is judged against its configured
    # interval: under the default interval_source auto its observed 60 s would be expected
    cfg = truth.Config(site_timezones={"north": ZONES["north"]}, as_of_us=us(AS_OF),
                       interval_source="configured")
    build(warehouse, lake.root, dbt_vars(cfg), target)
    return warehouse, lake, target / "run_results.json"


@pytest.fixture(scope="module")
def report(built: tuple[Path, Lake, Path], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[Path, Node]:
    warehouse, _lake, run_results = built
    out = tmp_path_factory.mktemp("site") / "report" / "index.html"
    written = write_report(warehouse, out, run_results=run_results, as_of=AS_OF, days=DAYS)
    assert written == out and out.is_file()
    return out, parse_html(dump_dom(out))


def _cells(dom: Node) -> dict[tuple[str, str, date], Node]:
    heatmap = dom.find("svg", id="coverage-heatmap")
    cells = heatmap.find_all("rect", class_="cell")
    keyed = {(c.attrs["data-site"], c.attrs["data-point"], date.fromisoformat(
        c.attrs["data-day"])): c for c in cells}
    assert len(keyed) == len(cells), "two cells for one (point, day)"
    return keyed


def test_heatmap_cells_equal_the_coverage_of_the_landed_samples(
        built: tuple[Path, Lake, Path], report: tuple[Path, Node]) -> None:
    _wh, lake, _rr = built
    _out, dom = report
    cells = _cells(dom)
    want = expected_coverage(lake)
    assert len(cells) == len(INTERVALS) * DAYS == len(want)
    assert set(cells) == set(want)
    for key, coverage in want.items():
        got = float(cells[key].attrs["data-coverage"])
        assert math.isclose(got, coverage, rel_tol=1e-9, abs_tol=1e-12), (key, got, coverage)

    # the missing day is 0, drawn in another colour than a healthy day, and says so
    hole = cells[(*MISSING_DAY, MISSING)]
    healthy = cells[(*HEALTHY, MISSING)]
    assert float(hole.attrs["data-coverage"]) == 0.0
    assert float(healthy.attrs["data-coverage"]) == 1.0
    assert hole.attrs["fill"] != healthy.attrs["fill"]
    assert "coverage 0.0%" in hole.find("title").text()
    # New York's Nov 2 has 25 hours: 1500 samples expected, all there
    assert "1500 of 1500 samples" in cells[(*HEALTHY, date(2025, 11, 2))].find(
        "title").text()
    # over-reporting is not clamped, and has its own colour
    fast = cells[(*FAST, MISSING)]
    assert float(fast.attrs["data-coverage"]) == 2.0
    assert fast.attrs["fill"] not in (hole.attrs["fill"], healthy.attrs["fill"])
    # a colour legend naming the zero colour
    legend = dom.find("div", id="coverage-legend")
    assert "no numeric sample" in legend.text()
    assert hole.attrs["fill"] in str(legend.find_all("span", class_="swatch")[0].attrs)


def test_gap_timeline_has_every_gap_in_the_window(report: tuple[Path, Node]) -> None:
    _out, dom = report
    timeline = dom.find("svg", id="gap-timeline")
    bars = timeline.find_all("rect", class_="gap")
    got = {(b.attrs["data-site"], b.attrs["data-point"], b.attrs["data-gap-start"],
            b.attrs["data-gap-end"] or None) for b in bars}
    window_start = datetime(2025, 10, 31, tzinfo=UTC)  # UTC's midnight is the earliest
    want = {(s, p, _iso(a), None if b is None else _iso(b)) for s, p, a, b in expected_gaps()
            if b is None or b > us(window_start)}
    assert got == want
    assert len(got) == 4  # the missing day, the 3-hour gap, two points that stopped

    (gap,) = [b for b in bars if (b.attrs["data-site"], b.attrs["data-point"]) == GAPPY]
    title = gap.find("title").text()
    assert "2025-11-04 19:00:00 UTC to 2025-11-04 22:00:00 UTC" in title
    assert "3 h 0 min" in title
    assert gap.attrs["data-open"] == "false"
    assert all(b.attrs["data-gaps"] == "1" for b in bars)  # none merged at this scale
    opened = [b for b in bars if b.attrs["data-open"] == "true"]
    assert {(b.attrs["data-site"], b.attrs["data-point"]) for b in opened} == {HOSTILE, SILENT}
    for bar in opened:
        assert "open" in bar.attrs["class"].split() and "OPEN gap since" in bar.find(
            "title").text()
    # the healthy point has no lane
    labels = {(t.attrs["data-site"], t.attrs["data-point"])
              for t in timeline.find_all("text", class_="label")}
    assert labels == {MISSING_DAY, GAPPY, HOSTILE, SILENT}


def test_hostile_point_name_is_text_and_breaks_nothing(report: tuple[Path, Node]) -> None:
    out, dom = report
    site, point = HOSTILE
    label = next(t for t in dom.find("svg", id="coverage-heatmap").find_all("text")
                 if t.attrs.get("data-point") == point)
    assert label.own_text() == f"{site}: script> / temp"  # its equipment and name, as text
    assert label.find("title").text().startswith(f"{site} / {point}: mean coverage")
    assert not dom.find_all("script"), "a name became markup"
    row = dom.find("table", id="worst-points").find("tr", data_point=point)
    assert point in row.text()
    dom.find("footer", id="end")  # the page parsed to its end
    # self-contained: nothing to fetch, no script
    raw = out.read_text(encoding="utf-8")
    assert "<script" not in raw and "<link" not in raw and " src=" not in raw
    assert "url(" not in raw and "@import" not in raw
    assert raw.count("http") == raw.count('xmlns="http://www.w3.org/2000/svg"')


def test_freshness_and_worst_points(built: tuple[Path, Lake, Path],
                                    report: tuple[Path, Node]) -> None:
    _wh, lake, _rr = built
    _out, dom = report
    last: dict[str, int] = {}
    for row in lake.rows:
        last[row.site] = max(last.get(row.site, 0), row.ts)
    rows = dom.find("table", id="freshness-table").find_all("tr", data_site="north")
    assert len(rows) == 1
    for site, ts in last.items():
        (tr,) = dom.find("table", id="freshness-table").find_all("tr", data_site=site)
        assert tr.attrs["data-last-sample"] == _iso(ts)
        assert int(tr.attrs["data-lag-seconds"]) == (us(AS_OF) - ts) // US
    statuses = {tr.attrs["data-site"]: tr.attrs["data-status"]
                for tr in dom.find("table", id="freshness-table").find_all("tr")
                if "data-site" in tr.attrs}
    assert statuses == {"north": "fresh", "south": "fresh", "east": "stale"}

    want, means = expected_worst(lake)
    got = [(tr.attrs["data-site"], tr.attrs["data-point"])
           for tr in dom.find("table", id="worst-points").find_all("tr") if "data-site" in tr.attrs]
    assert got == want
    assert got[0] == MISSING_DAY
    for tr in dom.find("table", id="worst-points").find_all("tr"):
        if "data-site" in tr.attrs:
            key = (tr.attrs["data-site"], tr.attrs["data-point"])
            assert math.isclose(float(tr.attrs["data-mean-coverage"]), means[key], rel_tol=1e-9)
    # the heatmap rows are in the same order
    heat = [(t.attrs["data-site"], t.attrs["data-point"])
            for t in dom.find("svg", id="coverage-heatmap").find_all("text", class_="label")]
    assert heat == want


def test_dbt_test_results_are_listed(built: tuple[Path, Lake, Path],
                                     report: tuple[Path, Node]) -> None:
    _wh, _lake, run_results = built
    _out, dom = report
    doc = json.loads(run_results.read_text())
    tests = {r["unique_id"]: r for r in doc["results"]
             if r["unique_id"].startswith(("test.", "unit_test."))}
    assert tests
    section = dom.find("section", id="tests")
    rows = {tr.attrs["data-unique-id"]: tr for tr in section.find_all("tr")
            if "data-unique-id" in tr.attrs}
    assert set(rows) == set(tests)
    for uid, result in tests.items():
        assert rows[uid].attrs["data-status"] == result["status"]
        cells = rows[uid].find_all("td")
        assert cells[2].text() == result["status"]
        assert cells[3].text() == str(result["failures"])
    counts = {li.attrs["data-status"]: int(li.attrs["data-count"])
              for li in section.find("ul", id="test-status-counts").find_all("li")}
    assert counts == Counter(r["status"] for r in tests.values())
    # the 3-hour gap is inside no_gaps' 6-hour window: a real warn, with its failing row
    (warned,) = [uid for uid, r in tests.items() if r["status"] == "warn"]
    assert "no_gaps" in warned and tests[warned]["failures"] == 1
    assert counts["pass"] >= 20


def test_screenshot_shows_the_heatmap(report: tuple[Path, Node], tmp_path: Path) -> None:
    out, dom = report
    cells = _cells(dom)
    image = read_png(screenshot(out, tmp_path / "report.png", width=1000, height=700))
    assert (image.width, image.height) == (1000, 700)

    def colour(hex_fill: str) -> tuple[int, int, int]:
        return int(hex_fill[1:3], 16), int(hex_fill[3:5], 16), int(hex_fill[5:7], 16)

    zero = colour(cells[(*MISSING_DAY, MISSING)].attrs["fill"])
    full = colour(cells[(*HEALTHY, MISSING)].attrs["fill"])
    seen: Counter[str] = Counter()
    white = 0
    for _x, _y, px in image.pixels():
        rgb = px[:3]
        if all(abs(a - b) <= 2 for a, b in zip(rgb, zero, strict=True)):
            seen["zero"] += 1
        elif all(abs(a - b) <= 2 for a, b in zip(rgb, full, strict=True)):
            seen["full"] += 1
        elif min(rgb) >= 250:
            white += 1
    # cells are 17 x 13 pixels: two zero cells (the missing day, the silent meter's Nov 4)
    # and at least 10 full ones must be on screen
    assert seen["zero"] >= 2 * 17 * 13 * 0.9, seen
    assert seen["full"] >= 10 * 17 * 13 * 0.9, seen
    assert white < image.width * image.height, "blank page"


def test_missing_run_results_and_unbuilt_warehouse(
        built: tuple[Path, Lake, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    warehouse, _lake, _rr = built
    out = write_report(warehouse, tmp_path / "r.html", run_results=tmp_path / "none.json",
                       as_of=AS_OF, days=DAYS)
    page = parse_html(out.read_text(encoding="utf-8"))
    missing = page.find("p", id="run-results-missing")
    assert "none.json does not exist" in missing.text()
    assert not page.find("section", id="tests").find_all("table")
    # results of a command that compiles tests without running them are not test results
    generated = tmp_path / "generate.json"
    generated.write_text(json.dumps({"args": {"which": "generate"}, "metadata": {}, "results": [
        {"unique_id": "test.ace_warehouse.not_null_samples_ts.0123456789", "status": "success",
         "failures": None, "message": None}]}))
    out = write_report(warehouse, tmp_path / "g.html", run_results=generated, as_of=AS_OF,
                       days=DAYS)
    missing = parse_html(out.read_text(encoding="utf-8")).find("p", id="run-results-missing")
    assert "written by `dbt docs generate`" in missing.text()

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    code = main(["--warehouse", str(empty), "--out", str(tmp_path / "x.html"), "--days", "3"])
    err = capsys.readouterr().err
    assert code == 2
    for table in ("sites", "points", "data_quality_daily", "point_gaps"):
        assert table in err
    assert not (tmp_path / "x.html").exists()
    assert main(["--warehouse", str(tmp_path / "absent.duckdb")]) == 2
    assert "no warehouse at" in capsys.readouterr().err
    assert not (tmp_path / "absent.duckdb").exists()


def test_heatmap_row_cap_and_atomic_write(built: tuple[Path, Lake, Path], tmp_path: Path) -> None:
    warehouse, _lake, run_results = built
    out_dir = tmp_path / "site"
    out = write_report(warehouse, out_dir / "index.html", run_results=run_results, as_of=AS_OF,
                       days=DAYS, max_rows=2)
    # the page and one page per site, no temporary left
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "index.html", "site-east.html", "site-north.html", "site-south.html"]
    page = parse_html(out.read_text(encoding="utf-8"))
    heatmap = page.find("svg", id="coverage-heatmap")
    rows = [(t.attrs["data-site"], t.attrs["data-point"])
            for t in heatmap.find_all("text", class_="label")]
    assert rows == [MISSING_DAY, HOSTILE]  # the two worst
    assert len(heatmap.find_all("rect", class_="cell")) == 2 * DAYS
    # the worst-points table still ranks every point
    assert len(page.find("table", id="worst-points").find_all("tr")) == 1 + len(INTERVALS)
    assert page.find("p", id="heatmap-left-out").attrs["data-left-out"] == str(len(INTERVALS) - 2)


def test_points_to_look_at(built: tuple[Path, Lake, Path], report: tuple[Path, Node]) -> None:
    _wh, lake, _rr = built
    _out, dom = report
    want, means = expected_worst(lake)
    worst = [k for k in want if means[k] < 0.99]
    scores = expected_deviation(lake)
    deviating = sorted((k for k, v in scores.items() if v > 0), key=lambda k: -scores[k])
    assert worst == [MISSING_DAY, HOSTILE, SILENT] and deviating == [SPIKY]
    section = dom.find("section", id="look")
    figures = section.find_all("figure", class_="look")
    got = [((f.attrs["data-site"], f.attrs["data-point"]), f.attrs["data-reasons"])
           for f in figures]
    assert got == [(k, "coverage") for k in worst] + [(SPIKY, "range")]
    spiky = figures[-1]
    assert math.isclose(float(spiky.attrs["data-score"]), scores[SPIKY], rel_tol=1e-9)
    assert "95.5" in spiky.find("figcaption").text()
    # the spike is the top of the band, drawn at its hour
    svg = spiky.find("svg")
    panel = svg.find("g", class_="panel")
    t0 = datetime.fromisoformat(svg.attrs["data-start"].replace("Z", "+00:00"))
    t1 = datetime.fromisoformat(svg.attrs["data-end"].replace("Z", "+00:00"))
    px, pw = float(panel.attrs["data-plot-x"]), float(panel.attrs["data-plot-w"])
    py, ph = float(panel.attrs["data-plot-y"]), float(panel.attrs["data-plot-h"])
    y0, y1 = float(panel.attrs["data-y0"]), float(panel.attrs["data-y1"])
    top = min((tuple(map(float, p.split(","))) for band in panel.find_all("polygon")
               for p in band.attrs["points"].split()), key=lambda xy: xy[1])
    hour = SPIKE[0]
    assert abs(top[0] - (px + (hour - t0) / (t1 - t0) * pw)) < 0.006
    assert abs(top[1] - (py + ph - (95.5 - y0) / (y1 - y0) * ph)) < 0.006
    # the window's quarter-hours fit the chart's points, its 5-minute buckets do not: series()
    # picks the 15-minute grain of the ladder
    assert panel.find("g", class_="series").attrs["data-resolution"] == "15min"
    # the point that missed a day has a break in its line there
    missing = figures[0].find("g", class_="series")
    assert len(missing.find_all("path", class_="line")) >= 2


def test_heatmap_labels_tell_points_apart(report: tuple[Path, Node]) -> None:
    _out, dom = report
    labels = {(t.attrs["data-site"], t.attrs["data-point"]): t
              for t in dom.find("svg", id="coverage-heatmap").find_all("text", class_="label")}
    want = {HEALTHY: "north: ahu-1 / supply_temp", MISSING_DAY: "north: ahu-1 / fan_status",
            GAPPY: "south: chiller / chw_temp", SILENT: "east: meter / kwh",
            FAST: "north: vav-7 / flow", SPIKY: "south: ahu-2 / zone_temp"}
    for key, text in want.items():
        assert labels[key].own_text() == text
    for (site, point), label in labels.items():  # the full name on hover
        assert label.find("title").text().startswith(f"{site} / {point}: mean coverage")
    assert len({t.own_text() for t in labels.values()}) == len(labels)


def _mismatch_rows(page: Node) -> list[tuple[str, str, float, int]]:
    return [(tr.attrs["data-site"], tr.attrs["data-point"], float(tr.attrs["data-configured"]),
             int(tr.attrs["data-observed"]))
            for tr in page.find("table", id="mismatch-table").find_all("tr")
            if "data-site" in tr.attrs]


def _farthest_first(found: dict[tuple[str, str], tuple[float, int]]
                    ) -> list[tuple[str, str, float, int]]:
    return [(*k, c, o) for k, (c, o) in sorted(
        found.items(), key=lambda kv: (-abs(math.log(kv[1][1] / kv[1][0])), kv[0]))]


def test_interval_mismatches_listed_first(built: tuple[Path, Lake, Path],
                                          tmp_path: Path) -> None:
    warehouse, lake, run_results = built
    out = write_report(warehouse, tmp_path / "index.html", run_results=run_results,
                       as_of=AS_OF, days=DAYS, site_pages=0)
    dom = parse_html(out.read_text(encoding="utf-8"))
    # the truth's observed intervals (median spacing of the landed samples) and mismatches
    found = truth.point_intervals(truth.samples(lake.rows), lake.intervals())
    mismatched = {k: (float(v.configured), v.observed) for k, v in found.items()
                  if v.is_mismatch and v.observed is not None}
    assert set(mismatched) == {FAST}  # configured every 120 s, sends every 60 s
    got = _mismatch_rows(dom)
    assert got == _farthest_first(mismatched)
    assert HEALTHY not in {(s, p) for s, p, _c, _o in got}
    (tr,) = dom.find("table", id="mismatch-table").find_all("tr", data_point=FAST[1])
    assert "2.0\u00d7 shorter" in tr.text()
    assert not dom.find("section", id="mismatches").find_all("p", id="mismatches-left-out")
    # the first list of points: right after the heatmap (which stays at the top of the page),
    # before the gaps, the points to look at and the worst points
    order = [s.attrs["id"] for s in dom.find_all("section")]
    assert order[:2] == ["heatmap", "mismatches"]
    assert order.index("mismatches") < order.index("gaps") < order.index("look") \
        < order.index("worst")
    assert [a.attrs["href"] for a in dom.find("nav").find_all("a")][:2] == \
        ["#heatmap", "#mismatches"]


def test_interval_mismatches_cap_none_and_older_warehouse(
        built: tuple[Path, Lake, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse, lake, _rr = built
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(warehouse, copy)
    found = truth.point_intervals(truth.samples(lake.rows), lake.intervals())
    # HEALTHY made to report every 300 s against its 60 s: 5x off, listed before FAST's 2x
    con = duckdb.connect(str(copy))
    try:
        con.execute("update points set observed_interval = 300, is_interval_mismatch = true "
                    "where site = ? and point = ?", list(HEALTHY))
    finally:
        con.close()
    mismatched = {k: (float(v.configured), v.observed) for k, v in found.items()
                  if v.is_mismatch and v.observed is not None}
    mismatched[HEALTHY] = (float(INTERVALS[HEALTHY]), 300)
    want = _farthest_first(mismatched)
    assert want[0][:2] == HEALTHY
    monkeypatch.setattr("extract.ops.report.collect.MISMATCH_ROWS", 1)
    page = parse_html(write_report(copy, tmp_path / "cap" / "index.html", as_of=AS_OF,
                                   days=DAYS, site_pages=0).read_text(encoding="utf-8"))
    assert _mismatch_rows(page) == want[:1]
    left_out = page.find("p", id="mismatches-left-out")
    assert left_out.attrs["data-left-out"] == str(len(want) - 1)
    assert f"and {len(want) - 1} more" in left_out.text()
    monkeypatch.undo()

    # no mismatched point: an explicit "none" line, no table
    con = duckdb.connect(str(copy))
    try:
        con.execute("update points set is_interval_mismatch = false")
    finally:
        con.close()
    page = parse_html(write_report(copy, tmp_path / "none" / "index.html", as_of=AS_OF,
                                   days=DAYS, site_pages=0).read_text(encoding="utf-8"))
    section = page.find("section", id="mismatches")
    assert section.find("p", id="no-mismatches").text().startswith("None")
    assert not section.find_all("table")

    # a warehouse built before observed intervals: the report is written and says so
    con = duckdb.connect(str(copy))
    try:
        con.execute("alter table points drop column observed_interval")
        con.execute("alter table points drop column is_interval_mismatch")
    finally:
        con.close()
    page = parse_html(write_report(copy, tmp_path / "old" / "index.html", as_of=AS_OF,
                                   days=DAYS, site_pages=0).read_text(encoding="utf-8"))
    missing = page.find("section", id="mismatches").find("p", id="mismatch-columns-missing")
    assert missing.attrs["data-missing"] == "observed_interval is_interval_mismatch"
    assert "observed_interval" in missing.text() and "is_interval_mismatch" in missing.text()
    assert page.find("table", id="worst-points").find_all("tr")  # the rest is still there
