"""Time-weighted figures and runtime (docs/warehouse.md, "Time-weighted figures and runtime").

One site in America/New_York, on the 25-hour local day 2025-11-02 (clocks fall back at 06:00
UTC), three points configured at 60 s (gap threshold 300 s):

- `edge/temp`: a sample at 04:59:30 UTC followed by one at 05:00:30 and every minute after, so
  each hour gets 30 s of the first value;
- `gap/temp`: every minute to 03:30, nothing until 04:00 (a 30-minute gap), every minute after;
- `fan/status`: 0/1 every minute of the whole local day (from ten minutes before it), on for
  the first 10 minutes of every UTC hour, with one non-numeric sample.

Every contract table equals the truth (tests/warehouse/truth.py computes the holdings in plain
Python) after a rebuild, after an incremental run that lands late samples (one that changes
the previous hour's holdings, one inside the gap, a non-numeric one that cuts a fan holding),
and after a rebuild of that lake; and the hand-computed facts below hold.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from . import truth
from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import build, raw_query
from .landing import US, Lake, PointMeta, us
from .scenario import utc

pytestmark = pytest.mark.slow

SITE = "plant"
ZONE = "America/New_York"
EDGE, GAP, FAN = "edge/temp", "gap/temp", "fan/status"
DAY_START = utc(2025, 11, 2, 4)  # local midnight EDT
DAY_END = utc(2025, 11, 3, 5)  # local midnight EST: 25 hours later
META_AT = utc(2025, 11, 3, 6)
AS_OF = utc(2025, 11, 3, 6)
CFG = truth.Config(site_timezones={SITE: ZONE}, as_of_us=us(AS_OF))


def minutes(point: str, start: datetime, end: datetime, value: Any) -> list[Any]:
    """A sample every 60 s in [start, end); value(k, t) gives the k-th one's text."""
    out, k, t = [], 0, us(start)
    while t < us(end):
        out.append((SITE, point, t, value(k, t)))
        k += 1
        t += 60 * US
    return out


def fan_state(_k: int, t: int) -> str:
    return "1.0" if (t // US) % 3600 < 600 else "0.0"


def first_landing() -> list[Any]:
    edge = [(SITE, EDGE, us(utc(2025, 11, 2, 4, 59, 30)), "10")]
    edge += minutes(EDGE, utc(2025, 11, 2, 5, 0, 30), utc(2025, 11, 2, 7), lambda k, _t: "20")
    gap = minutes(GAP, utc(2025, 11, 2, 3), utc(2025, 11, 2, 3, 31), lambda k, _t: str(k))
    gap += minutes(GAP, utc(2025, 11, 2, 4), utc(2025, 11, 2, 5), lambda k, _t: "50")
    # from 03:50 UTC, so that the day's first sample (04:00, on) follows a 0
    fan = [row for row in minutes(FAN, utc(2025, 11, 2, 3, 50), DAY_END, fan_state)
           if row[2] != us(utc(2025, 11, 2, 9, 5))]
    fan.append((SITE, FAN, us(utc(2025, 11, 2, 9, 5)), "OFFLINE"))  # holds nothing
    return edge + gap + fan


def late_landing() -> list[Any]:
    return [
        (SITE, EDGE, us(utc(2025, 11, 2, 4, 59, 50)), "40"),  # cuts 04:59:30's holding
        (SITE, GAP, us(utc(2025, 11, 2, 3, 45)), "7"),  # inside the gap, 15 min from each side
        (SITE, FAN, us(utc(2025, 11, 2, 12, 5, 30)), None),  # null: cuts a fan holding
    ]


def new_lake(root: Path) -> Lake:
    lake = Lake(root / "lake")
    lake.write_sites([SITE], extracted_at=META_AT, run_id="20251103T060000Z-meta00")
    points = [PointMeta(SITE, p, 60, None, i) for i, p in enumerate((EDGE, GAP, FAN), 1)]
    lake.write_points(SITE, points, extracted_at=META_AT, run_id="20251103T060000Z-meta00")
    return lake


def hour(warehouse: Path, point: str, start: datetime, columns: str) -> tuple[Any, ...]:
    rows = raw_query(
        warehouse,
        f"select {columns} from samples_1h where point = '{point}'"
        f" and bucket_start = '{start.isoformat()}'",
    )
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("holdings")
    lake = new_lake(root)
    lake.land(first_landing(), source="realtime", extracted_at=META_AT)
    warehouse = root / "warehouse.duckdb"
    build(warehouse, lake.root, dbt_vars(CFG), dbt_target)
    first = {"tables": read_all(warehouse), "truth": expected(lake, CFG),
             "edge": hour(warehouse, EDGE, utc(2025, 11, 2, 4), "tw_avg, known_seconds, avg")}
    lake.land(late_landing(), source="backfill", extracted_at=META_AT + timedelta(minutes=5))
    build(warehouse, lake.root, dbt_vars(CFG), dbt_target)
    late = {"tables": read_all(warehouse), "truth": expected(lake, CFG),
            "edge": hour(warehouse, EDGE, utc(2025, 11, 2, 4), "tw_avg, known_seconds, avg")}
    rebuilt = root / "rebuilt.duckdb"
    build(rebuilt, lake.root, dbt_vars(CFG), dbt_target, full_refresh=True)
    return {"first": first, "late": late, "rebuilt": read_all(rebuilt), "warehouse": warehouse}


def test_tables_equal_truth_before_and_after_late_data(runs: dict[str, Any]) -> None:
    assert_tables_equal(runs["first"]["truth"], runs["first"]["tables"], "first build")
    assert_tables_equal(runs["late"]["truth"], runs["late"]["tables"], "after late samples")
    assert_tables_equal(runs["late"]["truth"], runs["rebuilt"], "rebuilt")


def test_the_truth_itself_changed_with_the_late_samples(runs: dict[str, Any]) -> None:
    # the late samples are not a no-op: they change the previous hour's time-weighted figures
    before = runs["first"]["truth"]["samples_1h"]
    after = runs["late"]["truth"]["samples_1h"]
    key = (SITE, EDGE, us(utc(2025, 11, 2, 4)))
    assert before[key]["tw_avg"] != after[key]["tw_avg"]


def test_a_bucket_edge_splits_the_holding(runs: dict[str, Any]) -> None:
    # 04:59:30 -> 05:00:30: 30 s of "10" in the 04:00 hour, the rest in the 05:00 hour
    assert runs["first"]["edge"] == (pytest.approx(10.0), pytest.approx(30.0), pytest.approx(10.0))
    # the late 04:59:50 sample (40) cuts it: 20 s of 10 and 10 s of 40 in the 04:00 hour
    tw, known, avg = runs["late"]["edge"]
    assert (known, tw) == (pytest.approx(30.0), pytest.approx((10 * 20 + 40 * 10) / 30))
    assert avg == pytest.approx(25.0)  # the plain average weighs the two alike


def test_a_gap_holds_one_interval(runs: dict[str, Any]) -> None:
    warehouse = runs["warehouse"]
    # 03:00..03:29 held to the next minute, 03:30 for 60 s, 03:45 (late, a gap either side) 60 s
    tw, known = hour(warehouse, GAP, utc(2025, 11, 2, 3), "tw_avg, known_seconds")
    assert known == pytest.approx(31 * 60 + 60)
    assert tw == pytest.approx((sum(range(31)) * 60 + 7 * 60) / known)


def test_runtime_and_starts_on_the_25_hour_day(runs: dict[str, Any]) -> None:
    warehouse = runs["warehouse"]
    (row,) = raw_query(
        warehouse,
        "select bucket_start, known_seconds, on_seconds, starts from samples_1d"
        f" where point = '{FAN}' and day = '2025-11-02'",
    )
    bucket_start, known, on, starts = row
    assert bucket_start == DAY_START
    # 25 hours known but the minute of the non-numeric 09:05 sample and the 30 s the late
    # null at 12:05:30 cuts; the day's last sample (04:59 UTC) holds one interval, to its end
    assert known == pytest.approx(25 * 3600 - 60 - 30)
    # on for 10 minutes of each of the 25 UTC hours (09:05 and 12:05:30 fall inside them)
    assert on == pytest.approx(25 * 600 - 60 - 30)
    # one start per hour (the 1 at HH:00 after the 0 at HH-1:59); the 1s after the
    # non-numeric 09:05 and the null 12:05:30 follow no 0, so they are no start
    assert starts == 25
    hourly = raw_query(
        warehouse,
        f"select sum(on_seconds), sum(starts) from samples_1h where point = '{FAN}'"
        f" and bucket_start >= '{DAY_START.isoformat()}'"
        f" and bucket_start < '{DAY_END.isoformat()}'",
    )
    assert hourly == [(pytest.approx(on), starts)]


def test_non_binary_buckets_have_no_runtime(runs: dict[str, Any]) -> None:
    on, starts = hour(runs["warehouse"], EDGE, utc(2025, 11, 2, 5), "on_seconds, starts")
    assert (on, starts) == (None, None)
