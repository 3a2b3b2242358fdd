"""One build over the reference landing: every row of every contract table equals the truth.

The landing (tests/warehouse/scenario.py) covers the DST days of America/New_York, the +05:45
and +05:30 zones, a binary point, a 600 s point, non-numeric samples, zeros, the same point name
at several sites, every rule of the `samples` winner, gaps at and just over the threshold and
open gaps. Besides the row-by-row comparison, a few facts are checked against literal values
worked out by hand, which holds the truth module itself to the contract.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from . import scenario, truth
from .common import TABLES, Built, dbt_vars, expected
from .harness import SPECS, assert_same, build, raw_query, read_table
from .landing import US, Lake, us
from .scenario import utc

pytestmark = pytest.mark.slow

NY = "ses_falls_city"


@pytest.fixture(scope="module")
def ref(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> Built:
    root = tmp_path_factory.mktemp("reference")
    lake = Lake(root / "lake")
    scenario.write_meta(lake)
    scenario.land_all(lake, scenario.reference_landings())
    scenario.extras(lake)
    cfg = scenario.config()
    warehouse = root / "warehouse.duckdb"
    build(warehouse, lake.root, dbt_vars(cfg), dbt_target, unit_tests=True)
    return Built(warehouse, lake, cfg, expected(lake, cfg))


@pytest.fixture(scope="module")
def tables(ref: Built) -> dict[str, dict[Any, dict[str, Any]]]:
    return {name: read_table(ref.warehouse, SPECS[name]) for name in TABLES}


@pytest.mark.parametrize("table", TABLES)
def test_table_equals_truth(ref: Built, tables: dict[str, Any], table: str) -> None:
    assert ref.truth[table], "the truth of every table has rows"
    assert_same(SPECS[table], ref.truth[table], tables[table])


# -- facts worked out by hand (they hold both the truth and the warehouse) ---------------------


def _both(ref: Built, tables: dict[str, Any], table: str, key: tuple[Any, ...]) -> list[dict]:
    assert key in ref.truth[table], f"truth lacks {table} {key}"
    assert key in tables[table], f"warehouse lacks {table} {key}"
    return [ref.truth[table][key], tables[table][key]]


def test_dst_days_are_23_and_25_hours(ref: Built, tables: dict[str, Any]) -> None:
    spring = (NY, "ahu1/fan_status", us(utc(2025, 3, 9, 5)))  # local midnight EST
    fall = (NY, "ahu1/fan_status", us(utc(2025, 11, 2, 4)))  # local midnight EDT
    for row in _both(ref, tables, "samples_1d", spring):
        assert row["day"] == date(2025, 3, 9)
        assert row["n_expected"] == pytest.approx(23 * 60, rel=1e-12)
        assert row["n_total"] == 23 * 60  # the binary point is complete on these days
        assert row["coverage"] == pytest.approx(1.0, rel=1e-12)
    for row in _both(ref, tables, "samples_1d", fall):
        assert row["day"] == date(2025, 11, 2)
        assert row["n_expected"] == pytest.approx(25 * 60, rel=1e-12)
        assert row["n_total"] == 25 * 60


@pytest.mark.parametrize(
    ("site", "start"),
    [("ktm_plant", utc(2025, 11, 1, 18, 15)), ("blr_office", utc(2025, 11, 1, 18, 30))],
)
def test_half_and_quarter_hour_zones(
    ref: Built, tables: dict[str, Any], site: str, start: Any
) -> None:
    key = (site, "zone1/temp", us(start))
    winners = [
        r for r in ref.lake.rows if r.site == site and r.point == "zone1/temp"
        and us(start) <= r.ts < us(start) + 86400 * US
    ]
    n_total = len({r.ts for r in winners})
    assert n_total > 1000
    for row in _both(ref, tables, "samples_1d", key):
        assert row["day"] == date(2025, 11, 2)
        assert row["n_total"] == n_total
        assert row["n_expected"] == pytest.approx(1440, rel=1e-12)


def test_binary_point_daily_avg_is_its_duty_cycle(ref: Built, tables: dict[str, Any]) -> None:
    start, end = us(utc(2025, 11, 2, 4)), us(utc(2025, 11, 3, 5))
    on = total = 0
    for (site, point, ts), r in truth.samples(ref.lake.rows).items():
        if (site, point) == (NY, "ahu1/fan_status") and start <= ts < end:
            total += 1
            on += r.value_raw in ("1", "1.0")
    assert total == 1500
    for row in _both(ref, tables, "samples_1d", (NY, "ahu1/fan_status", start)):
        assert row["avg"] == pytest.approx(on / total, rel=1e-12)
        assert row["min"] == 0.0 and row["max"] == 1.0


def test_600s_point_expects_half_a_sample_per_5min(ref: Built, tables: dict[str, Any]) -> None:
    key = (NY, "chiller/kw", us(utc(2025, 11, 2, 12, 0)))
    for row in _both(ref, tables, "samples_5min", key):
        assert row["n"] == 1
        assert row["n_expected"] == pytest.approx(0.5, rel=1e-12)
        assert row["coverage"] == pytest.approx(2.0, rel=1e-12)
    assert (NY, "chiller/kw", us(utc(2025, 11, 2, 12, 5))) not in tables["samples_5min"]
    for row in _both(ref, tables, "samples_1h", (NY, "chiller/kw", us(utc(2025, 11, 2, 12)))):
        assert row["n_expected"] == pytest.approx(6.0, rel=1e-12)


def test_bucket_of_non_numeric_samples_only(ref: Built, tables: dict[str, Any]) -> None:
    key = (NY, "zone1/temp", us(utc(2025, 11, 2, 14, 0)))
    for row in _both(ref, tables, "samples_5min", key):
        assert row["n"] == 0 and row["n_total"] == 5
        assert row["coverage"] == 0
        for col in ("sum", "avg", "min", "max", "stddev", "first_value", "last_value"):
            assert row[col] is None, col
        assert row["first_ts"] == us(utc(2025, 11, 2, 14, 0))
        assert row["last_ts"] == us(utc(2025, 11, 2, 14, 4))


def test_zeros_are_numeric(ref: Built, tables: dict[str, Any]) -> None:
    zeros = [k for k, r in tables["samples"].items() if r["value_raw"] in ("0", "-0.0", "0e3")]
    assert len(zeros) >= 3
    for key in zeros:
        assert tables["samples"][key]["value"] == 0.0


def test_same_point_name_at_four_sites(ref: Built, tables: dict[str, Any]) -> None:
    sites = {k[0] for k in tables["samples_1d"] if k[1] == "zone1/temp"}
    assert sites == {"ses_falls_city", "ktm_plant", "blr_office", "berlin_lab"}


def test_gap_thresholds(ref: Built, tables: dict[str, Any]) -> None:
    def gap(site: str, point: str, start: Any) -> tuple[str, str, int]:
        return (site, point, us(start))

    for row in _both(ref, tables, "point_gaps", gap(NY, "zone1/temp", utc(2025, 11, 2, 10))):
        assert row["gap_end"] == us(utc(2025, 11, 2, 10, 11))
        assert row["duration"] == pytest.approx(660)
        assert row["duration_s"] == pytest.approx(660)  # spacing 10:00 -> 10:11, a number
    assert gap(NY, "zone1/temp", utc(2025, 11, 2, 10, 30)) not in tables["point_gaps"]  # = 300 s
    for row in _both(ref, tables, "point_gaps", gap(NY, "zone1/temp", utc(2025, 11, 2, 11))):
        assert row["gap_end"] == us(utc(2025, 11, 2, 11, 5, 1))  # 301 s
        assert row["duration_s"] == pytest.approx(301)
    assert gap(NY, "chiller/kw", utc(2025, 11, 2, 6)) not in tables["point_gaps"]  # 1800 s
    for row in _both(ref, tables, "point_gaps", gap(NY, "chiller/kw", utc(2025, 11, 3, 9))):
        assert row["gap_end"] == us(utc(2025, 11, 3, 9, 40))
    for row in _both(ref, tables, "point_gaps", gap("berlin_lab", "zone1/temp",
                                                    utc(2025, 11, 2, 11, 58))):
        assert row["is_open"] is True and row["gap_end"] is None
    open_points = {k[:2] for k, r in tables["point_gaps"].items() if r["is_open"]}
    assert open_points == {
        ("berlin_lab", "zone1/temp"),
        ("berlin_lab", "door/state"),
        ("berlin_lab", "unlisted/sensor"),
        (NY, "Zone1/Temp"),
        (NY, "o'brien's office/temp °F"),
    }


def test_points_and_sites_marts(ref: Built) -> None:
    """points: latest metadata, effective interval, unit from kv_tags, the site's zone, first
    and last sample, rows landed; points seen only in samples have has_metadata false."""
    meta = ref.lake.latest_meta()
    intervals = ref.lake.intervals()
    first: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], int] = {}
    for site, point, ts in truth.samples(ref.lake.rows):
        first[(site, point)] = min(first.get((site, point), ts), ts)
        last[(site, point)] = max(last.get((site, point), ts), ts)
    landed = Counter((row.site, row.point) for row in ref.lake.rows)
    found = truth.point_intervals(truth.samples(ref.lake.rows), intervals)
    want = {
        key: (
            key in meta,
            float(intervals.get(key, 60)),
            meta[key].unit if key in meta else None,
            ref.cfg.tz(key[0]),
            meta[key].point_id if key in meta else None,
            first.get(key),
            last.get(key),
            landed[key],
            found[key].observed,
            found[key].is_mismatch,
            float(found[key].expected(ref.cfg.interval_source)),
        )
        for key in set(first) | set(meta)
    }
    got_rows = raw_query(
        ref.warehouse,
        "select site, point, has_metadata, collect_interval::double, unit, timezone, point_id,"
        " epoch_us(first_sample_ts), epoch_us(last_sample_ts), coalesce(n_landed, 0),"
        " observed_interval, is_interval_mismatch, expected_interval::double"
        " from points",
    )
    got = {(r[0], r[1]): tuple(r[2:]) for r in got_rows}
    assert got == want
    sites = dict(raw_query(ref.warehouse, "select site, timezone from sites"))
    assert sites == {site: ref.cfg.tz(site) for site in scenario.SITES}


def test_open_gaps_default_to_the_run_start(ref: Built, dbt_target: Path, tmp_path: Path) -> None:
    """Without var as_of, "the run's time" is when the dbt run started."""
    cfg = replace(ref.cfg, as_of_us=None)
    warehouse = tmp_path / "warehouse.duckdb"
    before = us(datetime.now(UTC))
    build(warehouse, ref.lake.root, dbt_vars(cfg), dbt_target)
    after = us(datetime.now(UTC))
    got = read_table(warehouse, SPECS["point_gaps"])
    winners = truth.samples(ref.lake.rows)
    expected_intervals = truth.expected_intervals(winners, ref.lake.intervals(), cfg)
    closed = truth.point_gaps(winners, expected_intervals, cfg)
    assert_same(SPECS["point_gaps"], closed, {k: r for k, r in got.items() if not r["is_open"]})
    last: dict[tuple[str, str], int] = {}
    for site, point, ts in truth.samples(ref.lake.rows):
        last[(site, point)] = max(last.get((site, point), ts), ts)
    open_rows = {k: r for k, r in got.items() if r["is_open"]}
    assert set(open_rows) == {(*key, ts) for key, ts in last.items()}  # all silent for a year
    for (site, point, start), row in open_rows.items():
        assert row["gap_end"] is None
        assert (before - start) / US <= row["duration"] <= (after - start) / US
        interval = expected_intervals[(site, point)]
        assert row["missing_expected"] == pytest.approx(row["duration"] / interval - 1, rel=1e-9)


def test_unfinished_day_is_scored_on_its_elapsed_part(ref: Built, tables: dict[str, Any]) -> None:
    """as_of is 2025-11-04 06:02 UTC: New York's Nov 4 began at 05:00 UTC, so 62 minutes of
    it have elapsed (62 samples of a 60 s point expected, not 1440); Nov 3 is complete."""
    rows = tables["data_quality_daily"]
    today = rows[(NY, "zone1/temp", date(2025, 11, 4))]
    assert today["is_complete"] is False
    assert today["expected"] == pytest.approx(62)
    assert today["missing"] == pytest.approx(max(62 - today["actual"], 0))
    assert today["quality_score"] == pytest.approx(
        min(today["actual"] / 62, 1) * today["numeric"] / today["actual"])
    yesterday = rows[(NY, "zone1/temp", date(2025, 11, 3))]
    assert yesterday["is_complete"] is True and yesterday["expected"] == pytest.approx(1440)
    # no day ending after as_of is complete, none ending by it is unfinished
    for (site, _point, day), row in rows.items():
        end = truth._local_day_bounds(ref.cfg.tz(site), day)[1]
        assert row["is_complete"] is (end <= us(scenario.AS_OF)), (site, day)
