"""``python -m extract export`` end to end (docs/analysts.md, "Export").

A warehouse is built by dbt from landed files, its oldest days are moved to the cold tier,
and it is published; the real CLI runs as a subprocess on the published snapshot. Every
exported row is compared with an independent computation from the landed rows (each
sample is landed once, so the landed rows are the samples): raw across both tiers, 5-minute,
hourly and local-day buckets (a 25-hour DST day inside), the UTC and local time columns,
``auto``, bad input, and the memory of an export much larger than its bound.
"""

from __future__ import annotations

import csv
import math
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import pytest

from extract.warehouse.publish import publish
from extract.warehouse.tiers import move_to_cold
from tests.warehouse.harness import REPO, build, raw_query
from tests.warehouse.landing import US, Lake, PointMeta, dt, us

pytestmark = pytest.mark.slow

NY = "nyc_office"
ZONE = "America/New_York"
OTHER = "lab"
SAT = "acme/nyc_office/ahu1/sat"  # 60 s, non-numeric samples and a gap
FAN = "acme/nyc_office/ahu1/fan_status"  # 300 s, 0/1
LONG = "acme/nyc_office/" + "x" * 40 + "/zone_temperature"  # 60 s, the bulk of the data
BULK = [f"acme/nyc_office/vav{i}/zone_temp" for i in range(6)]  # 60 s, memory test
T0 = datetime(2025, 10, 1, tzinfo=UTC)
DAYS = 45  # to 2025-11-15: New York's 25-hour day (2025-11-02) inside
NOW = datetime(2025, 11, 16, tzinfo=UTC)  # cold tier: before 2025-10-27 (20 hot days)
GAP = (datetime(2025, 11, 2, 10, tzinfo=UTC), datetime(2025, 11, 2, 12, 30, tzinfo=UTC))


def _value(i: int) -> str:
    return "NaN" if i % 97 == 13 else f"{20 + (i * 37 % 101) / 10:.1f}"


@pytest.fixture(scope="module")
def wh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("export")
    lake = Lake(root / "lake")
    meta_at = datetime(2025, 11, 15, tzinfo=UTC)
    lake.write_sites([NY, OTHER], extracted_at=meta_at, run_id="20251115T000000Z-meta")
    metas = [PointMeta(NY, SAT, 60, "degF", 1), PointMeta(NY, FAN, 300, None, 2),
             PointMeta(NY, LONG, 60, "degF", 3)]
    metas += [PointMeta(NY, p, 60, "degF", 10 + i) for i, p in enumerate(BULK)]
    lake.write_points(NY, metas, extracted_at=meta_at, run_id="20251115T000000Z-meta")
    samples: list[tuple[str, str, int, str | None]] = []
    start = us(T0)
    for i in range(DAYS * 1440):
        ts = start + i * 60 * US
        if not us(GAP[0]) <= ts < us(GAP[1]):
            samples.append((NY, SAT, ts, _value(i)))
        samples.append((OTHER, SAT, ts, _value(i + 1)))  # same name, other site
        samples.append((NY, LONG, ts + 250_000, _value(i + 7)))
        for k, p in enumerate(BULK):
            samples.append((NY, p, ts, _value(i + k)))
        if i % 5 == 0:
            samples.append((NY, FAN, ts, str(i // 5 % 3 // 2)))
    lake.land(samples, source="realtime", extracted_at=meta_at)
    warehouse = root / "warehouse.duckdb"
    build(warehouse, lake.root, {"site_timezones": {NY: ZONE}}, root / "target")
    moved = move_to_cold(warehouse, lake.root, 20, NOW)
    assert moved.moved_rows > 0
    published = root / "published"
    publish(warehouse, "20251116T000000Z-test", published)
    yield {"lake": lake, "published": published, "root": root, "warehouse": warehouse}


def run(wh: dict[str, Any], *args: str, measure: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUBLISHED_DIR": str(wh["published"])}
    env.pop("WAREHOUSE_PATH", None)
    cmd = [sys.executable, "-m", "extract", "export", *args]
    if measure:  # the export's own peak RSS (KiB), from a parent that has no other child
        probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
                 "file=sys.stderr); sys.exit(r.returncode)")
        cmd = [sys.executable, "-c", probe, *cmd]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


def ok(wh: dict[str, Any], *args: str) -> str:
    r = run(wh, *args)
    assert r.returncode == 0, r.stderr
    return r.stdout


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# -- the independent computation -------------------------------------------------------------


def landed(wh: dict[str, Any], site: str, points: list[str]) -> list[tuple[int, str, Any, Any]]:
    rows = [(r.ts, r.point, r.value, r.value_raw) for r in wh["lake"].rows
            if r.site == site and r.point in points]
    return sorted(rows, key=lambda r: (r[0], r[1]))


def local(ts_us: int) -> datetime:
    return dt(ts_us).astimezone(ZoneInfo(ZONE)).replace(tzinfo=None)


def buckets(wh: dict[str, Any], points: list[str], a: datetime, b: datetime,
            res: str) -> list[dict[str, Any]]:
    """The buckets overlapping [a, b): UTC-aligned widths, or New York's local days."""
    groups: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for ts, point, value, _ in landed(wh, NY, points):
        if res == "1d":
            day = dt(ts).astimezone(ZoneInfo(ZONE)).date()
            lo = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))
            hi = lo + timedelta(days=1)  # wall-clock day: 23, 24 or 25 hours
            start, end = us(lo.astimezone(UTC)), us(hi.astimezone(UTC))
        else:
            width = {"5min": 300, "15min": 900, "1h": 3600}[res] * US
            start = ts // width * width
            end = start + width
        if start < us(b) and end > us(a):
            groups[(start, point)].append(value)
    out = []
    for (start, point), values in sorted(groups.items()):
        nums = [v for v in values if v is not None]
        out.append({"start": start, "point": point, "n": len(nums), "n_total": len(values),
                    "sum": math.fsum(nums) if nums else None,
                    "min": min(nums) if nums else None, "max": max(nums) if nums else None})
    return out


def check_buckets(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [(g["start"], g["point"]) for g in got] == [(w["start"], w["point"]) for w in want]
    for g, w in zip(got, want, strict=True):
        assert (g["n"], g["n_total"]) == (w["n"], w["n_total"]), (g, w)
        for col in ("sum", "min", "max"):
            if w[col] is None:
                assert g[col] is None, (col, g, w)
            else:
                assert g[col] == pytest.approx(w[col], rel=1e-12), (col, g, w)
        if w["n"]:
            assert g["avg"] == pytest.approx(w["sum"] / w["n"], rel=1e-12)


def _f(text: str) -> float | None:
    return None if text == "" else float(text)


def _csv_ts(text: str) -> int:
    return us(datetime.fromisoformat(text.replace("Z", "+00:00")))


# -- the resolutions -------------------------------------------------------------------------


def test_raw_csv_across_both_tiers_with_local_times(wh: dict[str, Any], tmp_path: Path) -> None:
    a, b = datetime(2025, 10, 25, 22, 0, 30, tzinfo=UTC), datetime(2025, 10, 28, 3, tzinfo=UTC)
    out = tmp_path / "raw.csv"
    stdout = ok(wh, "--site", NY, "--point", SAT, "--point", FAN, "--start", a.isoformat(),
                "--end", b.isoformat(), "--resolution", "raw", "--out", str(out))
    want = [r for r in landed(wh, NY, [SAT, FAN]) if us(a) <= r[0] < us(b)]
    assert f"exported {len(want)} rows (raw, 2 points)" in stdout
    got = read_csv(out)
    assert list(got[0]) == ["ts_utc", "ts_local", "timezone", "site", "point", "value",
                            "value_raw"]
    assert [(_csv_ts(g["ts_utc"]), g["point"]) for g in got] == [(w[0], w[1]) for w in want]
    for g, (ts, _point, value, value_raw) in zip(got, want, strict=True):
        assert datetime.fromisoformat(g["ts_local"]) == local(ts)
        assert (g["site"], g["timezone"], g["value_raw"]) == (NY, ZONE, value_raw)
        assert _f(g["value"]) == value
    # the range crosses the cold boundary (2025-10-27): both tiers contributed
    assert min(w[0] for w in want) < us(datetime(2025, 10, 27, tzinfo=UTC)) < max(
        w[0] for w in want)


def _parquet_buckets(path: Path, utc: str = "bucket_start_utc") -> list[dict[str, Any]]:
    rows = pq.read_table(path).to_pylist()
    for r in rows:
        r["start"] = us(r[utc])
    return rows


def test_hourly_parquet_by_pattern(wh: dict[str, Any], tmp_path: Path) -> None:
    a, b = datetime(2025, 11, 2, 3, 30, tzinfo=UTC), datetime(2025, 11, 2, 14, tzinfo=UTC)
    out = tmp_path / "h.parquet"
    ok(wh, "--site", NY, "--pattern", "AHU1/", "--start", a.isoformat(), "--end",
       b.isoformat(), "--resolution", "1h", "--out", str(out))
    rows = _parquet_buckets(out)
    check_buckets(rows, buckets(wh, [SAT, FAN], a, b, "1h"))
    assert rows[0]["start"] == us(datetime(2025, 11, 2, 3, tzinfo=UTC))  # overlapping hour
    for r in rows:
        assert r["bucket_start_local"] == local(r["start"])
    names = pq.read_schema(out).names
    assert names[:5] == ["bucket_start_utc", "bucket_start_local", "timezone", "site", "point"]
    assert {"coverage", "n_expected", "first_ts", "stddev"} <= set(names)


def test_five_minute_csv_unaligned_start(wh: dict[str, Any], tmp_path: Path) -> None:
    a, b = datetime(2025, 10, 20, 0, 2, tzinfo=UTC), datetime(2025, 10, 20, 1, 0, tzinfo=UTC)
    out = tmp_path / "5.csv"
    ok(wh, "--site", NY, "--point", SAT, "--start", a.isoformat(), "--end", b.isoformat(),
       "--resolution", "5min", "--out", str(out))
    got = [{"start": _csv_ts(r["bucket_start_utc"]), "point": r["point"], "n": int(r["n"]),
            "n_total": int(r["n_total"]), "sum": _f(r["sum"]), "min": _f(r["min"]),
            "max": _f(r["max"]), "avg": _f(r["avg"])} for r in read_csv(out)]
    want = buckets(wh, [SAT], a, b, "5min")
    assert len(want) == 12 and want[0]["start"] == us(datetime(2025, 10, 20, tzinfo=UTC))
    check_buckets(got, want)


def test_local_days_across_the_dst_day(wh: dict[str, Any], tmp_path: Path) -> None:
    a, b = datetime(2025, 11, 1, 12, tzinfo=UTC), datetime(2025, 11, 4, tzinfo=UTC)
    out = tmp_path / "d.parquet"
    ok(wh, "--site", NY, "--point", SAT, "--start", a.isoformat(), "--end", b.isoformat(),
       "--resolution", "1d", "--out", str(out))
    rows = _parquet_buckets(out)
    check_buckets(rows, buckets(wh, [SAT], a, b, "1d"))
    assert [str(r["day"]) for r in rows] == ["2025-11-01", "2025-11-02", "2025-11-03"]
    assert all(r["bucket_start_local"] == datetime.combine(r["day"], datetime.min.time())
               for r in rows)
    assert rows[1]["n_expected"] == 1500  # the 25-hour day


def test_auto_follows_series_rule(wh: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    short = ok(wh, "--site", NY, "--point", SAT, "--start", "2025-11-10T00:00:00Z",
               "--end", "2025-11-10T10:00:00Z", "--resolution", "auto", "--out", str(out))
    assert "(raw, 1 point)" in short and len(read_csv(out)) == 600
    # 10 days: 14,400 samples and 2,880 5-minute buckets exceed 1000, 960 quarter-hours fit
    a10, b10 = datetime(2025, 11, 1, tzinfo=UTC), datetime(2025, 11, 11, tzinfo=UTC)
    long = ok(wh, "--site", NY, "--point", SAT, "--start", a10.isoformat(),
              "--end", b10.isoformat(), "--resolution", "auto", "--out", str(out))
    assert "(15min, 1 point)" in long
    assert len(read_csv(out)) == len(buckets(wh, [SAT], a10, b10, "15min")) < 960  # a gap
    for a, b, res in (("2025-11-10 00:00:00+00", "2025-11-10 10:00:00+00", "raw"),
                      ("2025-11-01 00:00:00+00", "2025-11-11 00:00:00+00", "15min")):
        assert raw_query(wh["published"] / "current.duckdb",
                         f"select distinct resolution from series('{NY}', '{SAT}', "
                         f"timestamptz '{a}', timestamptz '{b}')") == [(res,)]
    # every point of the site: the busiest decides, the same resolution for all
    many = ok(wh, "--site", NY, "--pattern", "acme", "--start", "2025-11-10T00:00:00Z",
              "--end", "2025-11-10T20:00:00Z", "--resolution", "auto", "--out", str(out))
    assert "(5min, 9 points)" in many


def test_fifteen_minutes(wh: dict[str, Any], tmp_path: Path) -> None:
    """The ladder's 15-minute grain (samples_15min), with an unaligned start."""
    a, b = datetime(2025, 11, 2, 9, 50, tzinfo=UTC), datetime(2025, 11, 2, 13, tzinfo=UTC)
    out = tmp_path / "q.parquet"
    ok(wh, "--site", NY, "--point", SAT, "--point", FAN,
       "--start", a.isoformat(), "--end", b.isoformat(), "--resolution", "15min",
       "--out", str(out))
    rows = _parquet_buckets(out)
    check_buckets(rows, buckets(wh, [SAT, FAN], a, b, "15min"))
    assert rows[0]["start"] == us(datetime(2025, 11, 2, 9, 45, tzinfo=UTC))


def test_a_range_wider_than_the_data(wh: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    ok(wh, "--site", NY, "--point", FAN, "--start", "2000-01-01", "--end", "2030-01-01",
       "--resolution", "raw", "--out", str(out))
    assert [_csv_ts(r["ts_utc"]) for r in read_csv(out)] == [
        r[0] for r in landed(wh, NY, [FAN])]


def test_warehouse_option_and_empty_range(wh: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    stdout = ok(wh, "--warehouse", str(wh["published"] / "current.duckdb"), "--site", NY,
                "--point", SAT, "--start", "2024-01-01T00:00:00Z", "--end",
                "2024-01-02T00:00:00Z", "--resolution", "raw", "--out", str(out))
    assert "exported 0 rows" in stdout
    assert out.read_text().splitlines() == [
        '"ts_utc","ts_local","timezone","site","point","value","value_raw"']


@pytest.mark.parametrize(("args", "needle"), [
    (["--site", "nowhere", "--point", SAT], "no such site"),
    (["--site", NY, "--point", "acme/nope"], "no such point"),
    (["--site", NY, "--pattern", "zzz"], "no point of site"),
    (["--site", NY, "--point", SAT, "--resolution", "2h"], "--resolution"),
    (["--site", NY, "--point", SAT, "--end", "2025-11-01T00:00:00Z"], "not before"),
    (["--site", NY, "--point", SAT, "--out", "/nonexistent/dir/x.csv"], "cannot write"),
    (["--site", NY, "--point", SAT, "--format", "xlsx"], "--format"),
])
def test_bad_input_is_one_line_exit_2(wh: dict[str, Any], tmp_path: Path, args: list[str],
                                      needle: str) -> None:
    base = {"--start": "2025-11-01T00:00:00Z", "--end": "2025-11-02T00:00:00Z",
            "--resolution": "raw", "--out": str(tmp_path / "x.csv")}
    for flag in args[::2]:
        base.pop(flag, None)
    r = run(wh, *args, *(x for kv in base.items() for x in kv))
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    assert needle in r.stderr
    assert not (tmp_path / "x.csv").exists() and not list(tmp_path.glob(".*.tmp"))


def test_memory_does_not_grow_with_the_range(wh: dict[str, Any], tmp_path: Path) -> None:
    common = ["--site", NY, "--pattern", "acme", "--resolution", "raw", "--start",
              "2025-10-01T00:00:00Z", "--format", "csv"]
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    # the smaller export already spans several windowed queries (about 50,000 rows each)
    r1 = run(wh, *common, "--end", "2025-10-11T00:00:00Z", "--out", str(small), measure=True)
    r2 = run(wh, *common, "--end", "2025-11-15T00:00:00Z", "--out", str(big), measure=True)
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    rss_small = int(r1.stderr.split()[-1]) * 1024
    rss_big = int(r2.stderr.split()[-1]) * 1024
    size = big.stat().st_size
    with open(big) as f:
        rows = sum(1 for _ in f) - 1
    assert rows == len([r for r in landed(wh, NY, [SAT, FAN, LONG, *BULK])
                        if r[0] < us(datetime(2025, 11, 15, tzinfo=UTC))])
    # DuckDB's and the allocator's caches vary by a few tens of MB between runs; an export
    # held in memory would grow by about its size
    bound = 24 * 2**20
    assert size > 2.5 * bound, size  # the export is much larger than the bound
    assert rss_big - rss_small < bound, (rss_small, rss_big, size)
