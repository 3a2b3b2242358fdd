"""``python -m extract chart`` (docs/analysts.md, "Charts"), rendered in headless Chromium.

A small lake is landed, built with dbt and published; the real command line draws from the
published snapshot. Every drawn coordinate is compared with 5-minute buckets computed here
from the landed samples (never read back from the warehouse): the line through the
averages, the band from min to max, a break at the gap, the local time axis and the unit.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from extract.warehouse.publish import publish
from tests.browser import Node, dump_dom, parse_html
from tests.warehouse.harness import REPO, build
from tests.warehouse.landing import US, Lake, PointMeta, dt, us

pytestmark = pytest.mark.slow

SITE, ZONE = "plant", "America/Chicago"
SAT, RAT, KW = "ahu-1/sat", "ahu-1/rat", "chiller-2/kw"
UNITS = {SAT: "degF", RAT: "degF", KW: "kW"}
START = datetime(2025, 11, 3, 12, 0, tzinfo=UTC)
END = datetime(2025, 11, 4, 0, 0, tzinfo=UTC)
GAP = (datetime(2025, 11, 3, 15, 0, tzinfo=UTC), datetime(2025, 11, 3, 15, 40, tzinfo=UTC))
TOL = 0.006  # coordinates are written with two decimals


def _value(point: str, k: int) -> str:
    if point == SAT:
        return f"{55 + (k * 7 % 13) * 0.5}"
    return f"{70 + k % 11}" if point == RAT else f"{100 + k % 17}"


def _samples() -> list[tuple[str, str, int, str | None]]:
    out: list[tuple[str, str, int, str | None]] = []
    for point in UNITS:
        t, k = us(START - timedelta(hours=1)), 0
        while t < us(END + timedelta(hours=1)):
            k += 1
            if not (point == SAT and us(GAP[0]) < t < us(GAP[1])):
                out.append((SITE, point, t, _value(point, k)))
            t += 60 * US
    return out


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Lake]:
    root = tmp_path_factory.mktemp("chart")
    lake = Lake(root / "lake")
    meta_at = START - timedelta(hours=2)
    lake.write_sites([SITE], extracted_at=meta_at, run_id="20251103T100000Z-meta00")
    lake.write_points(SITE, [PointMeta(SITE, p, 60, unit=u) for p, u in UNITS.items()],
                      extracted_at=meta_at, run_id="20251103T100000Z-meta00")
    lake.land(_samples(), source="realtime", extracted_at=END + timedelta(hours=1))
    warehouse = root / "warehouse.duckdb"
    as_of = (END + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S+00:00")
    build(warehouse, lake.root, {"site_timezones": {SITE: ZONE}, "as_of": as_of},
          root / "target")
    publish(warehouse, "20251104T010000.000000Z-chart1", root / "published")
    return root / "published", lake


def _cli(published_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUBLISHED_DIR": str(published_dir)}
    return subprocess.run([sys.executable, "-m", "extract", "chart", "--site", SITE, *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _buckets(lake: Lake, point: str) -> dict[datetime, tuple[float, float, float]]:
    """(avg, min, max) per UTC 5-minute bucket in [START, END), from the landed rows."""
    values: dict[int, list[float]] = defaultdict(list)
    for row in lake.rows:
        if row.point == point and us(START) <= row.ts < us(END) and row.value is not None:
            values[row.ts // (300 * US) * 300 * US].append(row.value)
    return {dt(b): (sum(v) / len(v), min(v), max(v)) for b, v in sorted(values.items())}


def _runs(lake: Lake, point: str) -> list[list[datetime]]:
    """The buckets split where consecutive samples are more than 300 s apart (a gap)."""
    times = sorted(r.ts for r in lake.rows if r.point == point)
    breaks = [b for a, b in zip(times, times[1:], strict=False) if b - a > 300 * US]
    runs: list[list[datetime]] = [[]]
    for bucket in _buckets(lake, point):
        if runs[-1] and any(us(runs[-1][-1]) < b <= us(bucket) for b in breaks):
            runs.append([])
        runs[-1].append(bucket)
    return runs


def _xy(d: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(r"[ML]([-\d.]+),([-\d.]+)", d)]


def _mapping(panel: Node) -> tuple[Callable[[datetime], float], Callable[[float], float]]:
    px, py = float(panel.attrs["data-plot-x"]), float(panel.attrs["data-plot-y"])
    pw, ph = float(panel.attrs["data-plot-w"]), float(panel.attrs["data-plot-h"])
    y0, y1 = float(panel.attrs["data-y0"]), float(panel.attrs["data-y1"])
    span = (END - START).total_seconds()

    def x(t: datetime) -> float:
        return px + (t - START).total_seconds() / span * pw

    def y(v: float) -> float:
        return py + ph - (v - y0) / (y1 - y0) * ph

    return x, y


@pytest.fixture(scope="module")
def overlay(published: tuple[Path, Lake], tmp_path_factory: pytest.TempPathFactory) -> Node:
    out = tmp_path_factory.mktemp("out") / "sat.html"
    proc = _cli(published[0], "--point", SAT, "--point", RAT, "--start", START.isoformat(),
                "--end", END.isoformat(), "--max-points", "200", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "5min" in proc.stdout
    return parse_html(dump_dom(out))


def test_line_and_band_equal_the_landed_buckets(published: tuple[Path, Lake],
                                                overlay: Node) -> None:
    _pub, lake = published
    (panel,) = overlay.find_all("g", class_="panel")
    x, y = _mapping(panel)
    for point in (SAT, RAT):
        g = panel.find("g", class_="series", data_point=point)
        assert g.attrs["data-resolution"] == "5min"
        truth = _buckets(lake, point)
        assert len(truth) >= 130
        drawn = [xy for p in g.find_all("path", class_="line") for xy in _xy(p.attrs["d"])]
        assert len(drawn) == len(truth)
        for (dx, dy), (t, (avg, _lo, _hi)) in zip(drawn, truth.items(), strict=True):
            assert abs(dx - x(t)) < TOL and abs(dy - y(avg)) < TOL, (point, t)
        # the band: along the maxima, back along the minima, bucket by bucket
        for band, run in zip(g.find_all("polygon", class_="band"), _runs(lake, point),
                             strict=True):
            pts = [tuple(map(float, p.split(","))) for p in band.attrs["points"].split()]
            upper, lower = pts[: len(run)], pts[len(run):][::-1]
            assert len(lower) == len(run)
            for t, (ux, uy), (lx, ly) in zip(run, upper, lower, strict=True):
                _avg, lo, hi = truth[t]
                assert abs(ux - x(t)) < TOL and abs(lx - x(t)) < TOL
                assert abs(uy - y(hi)) < TOL and abs(ly - y(lo)) < TOL
        assert sum(lo < hi for _a, lo, hi in truth.values()) > 120  # a band, not a line
    # every drawn value is inside the value axis
    y0, y1 = float(panel.attrs["data-y0"]), float(panel.attrs["data-y1"])
    assert y0 <= 55 and y1 >= 80


def test_gap_is_a_break(published: tuple[Path, Lake], overlay: Node) -> None:
    _pub, lake = published
    panel = overlay.find("g", class_="panel")
    x, _y = _mapping(panel)
    sat = panel.find("g", class_="series", data_point=SAT)
    paths = sat.find_all("path", class_="line")
    runs = _runs(lake, SAT)
    assert len(runs) == 2 == len(paths)
    assert [(p.attrs["data-from"], p.attrs["data-to"]) for p in paths] == [
        (r[0].strftime("%Y-%m-%dT%H:%M:%SZ"), r[-1].strftime("%Y-%m-%dT%H:%M:%SZ"))
        for r in runs]
    assert runs[0][-1] == GAP[0] and runs[1][0] == GAP[1]  # 15:00 and 15:40 buckets
    for p in paths:
        xs = [px for px, _py in _xy(p.attrs["d"])]
        assert not any(a < x(GAP[0]) + 1 and b > x(GAP[1]) - 1
                       for a, b in zip(xs, xs[1:], strict=False)), "a line crosses the gap"
    # the point without a gap is one line
    assert len(panel.find("g", class_="series", data_point=RAT).find_all("path")) == 1


def test_time_axis_is_local_and_unit_is_shown(overlay: Node) -> None:
    panel = overlay.find("g", class_="panel")
    x, _y = _mapping(panel)
    ticks = panel.find_all("text", class_="tick-time")
    assert len(ticks) >= 5
    zone = ZoneInfo(ZONE)
    for tick in ticks:
        t = datetime.fromisoformat(tick.attrs["data-t"].replace("Z", "+00:00"))
        local = t.astimezone(zone)
        assert local.minute == 0 and local.hour % 2 == 0  # whole local hours
        assert tick.text().endswith(f"{local:%H:%M}")
        assert abs(float(tick.attrs["x"]) - x(t)) < TOL
    # Chicago is UTC-6 on Nov 3, 2025: 12:00 UTC is 06:00 local
    first = ticks[0]
    assert first.attrs["data-t"] == "2025-11-03T12:00:00Z" and first.text() == "11-03 06:00"
    assert panel.attrs["data-unit"] == "degF"
    assert panel.find("text", class_="unit").text() == "degF"
    assert ZONE in panel.find("text", class_="axis-time").text()


def test_units_apart_are_small_multiples_svg_and_png_refused(
        published: tuple[Path, Lake], tmp_path: Path) -> None:
    pub, _lake = published
    out = tmp_path / "two.svg"
    proc = _cli(pub, "--point", SAT, "--pattern", "CHILLER", "--start", START.isoformat(),
                "--end", END.isoformat(), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    root = ET.parse(out).getroot()  # a well-formed standalone SVG
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.attrib["data-layout"] == "multiples"
    panels = root.findall(f"{ns}g[@class='panel']")
    assert [p.attrib["data-unit"] for p in panels] == ["degF", "kW"]
    series = [p.find(f"{ns}g[@class='series']") for p in panels]
    assert [g.attrib["data-point"] if g is not None else None for g in series] == [SAT, KW]
    # a 12-hour range with the default max_points (1000) is drawn from raw samples
    assert {g.attrib["data-resolution"] for g in series if g is not None} == {"raw"}
    png = _cli(pub, "--point", SAT, "--out", str(tmp_path / "x.png"))
    assert png.returncode == 2 and "PNG" in png.stderr and not (tmp_path / "x.png").exists()
    unknown = _cli(pub, "--point", "nope", "--out", str(tmp_path / "y.svg"))
    assert unknown.returncode == 2 and "no point 'nope'" in unknown.stderr
