"""The value chart's parts without a warehouse: where a line breaks, the local time axis
across a DST change, the value ticks (extract/ops/chart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from extract.ops.chart.axes import fmt_value, time_ticks, value_domain, value_ticks
from extract.ops.chart.model import Bucket, Series

T0 = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)


def _series(resolution: str, starts: list[int], gaps: list[tuple[int, int | None]],
            none_at: int | None = None) -> Series:
    """Buckets at T0 + minutes, gaps as (start, end) minutes after T0."""
    s = Series("s", "p", "degF", "America/Chicago", T0, T0 + timedelta(hours=2), resolution)
    for m in starts:
        v = None if m == none_at else float(m)
        s.buckets.append(Bucket(T0 + timedelta(minutes=m), v, v, v, 1))
    s.gaps = [(T0 + timedelta(minutes=a), None if b is None else T0 + timedelta(minutes=b))
              for a, b in gaps]
    return s


def _runs(s: Series) -> list[list[int]]:
    return [[int((b.start - T0).total_seconds() // 60) for b in run] for run in s.segments()]


def test_breaks_at_gaps_between_buckets_only() -> None:
    # a gap from 10:11 to 10:31 lies between the 10:10 and 10:30 buckets: a break
    assert _runs(_series("5min", [0, 5, 10, 30, 35], [(11, 31)])) == [[0, 5, 10], [30, 35]]
    # a gap inside one bucket (10:06 to 10:09, ends before the next bucket): no break
    assert _runs(_series("5min", [0, 5, 10], [(6, 9)])) == [[0, 5, 10]]
    # a gap starting at a bucket's start is that bucket's, not the one before it
    assert _runs(_series("5min", [0, 5, 10, 15], [(10, 14)])) == [[0, 5, 10, 15]]
    # a 15-minute grain (a width series() may return) is read from its name
    assert _runs(_series("15min", [0, 15, 45], [(20, 45)])) == [[0, 15], [45]]
    # raw: the gap starts at one sample and ends at the next
    assert _runs(_series("raw", [0, 1, 2, 9, 10], [(2, 9)])) == [[0, 1, 2], [9, 10]]
    # a bucket without a numeric value ends a run; an open gap ends the last
    assert _runs(_series("1h", [0, 60, 120, 180], [(180, None)], none_at=60)) == [[0],
                                                                                 [120, 180]]


def test_daily_bucket_ends_at_the_next_local_midnight() -> None:
    zone = ZoneInfo("America/Chicago")
    start = datetime(2025, 11, 2, tzinfo=zone).astimezone(UTC)  # a 25-hour day
    s = Series("s", "p", None, "America/Chicago", start, start + timedelta(days=3), "1d")
    b = Bucket(start, 1.0, 1.0, 1.0, 1)
    assert s.bucket_end(b) - start == timedelta(hours=25)


def test_time_axis_is_local_across_the_dst_change() -> None:
    zone = ZoneInfo("America/Chicago")
    start = datetime(2025, 11, 2, tzinfo=zone).astimezone(UTC)
    end = datetime(2025, 11, 3, tzinfo=zone).astimezone(UTC)  # 25 hours later
    ticks = time_ticks(start, end, "America/Chicago")
    # 25 h / 8 ticks: a 6-hour step, at local 00, 06, 12, 18 and the next midnight
    assert [t.astimezone(zone).strftime("%d %H:%M") for t, _ in ticks] == [
        "02 00:00", "02 06:00", "02 12:00", "02 18:00", "03 00:00"]
    assert [label for _, label in ticks] == ["11-02 00:00", "06:00", "12:00", "18:00",
                                            "11-03 00:00"]
    # local 06:00 is 7 hours after local midnight that day (01:00 happened twice)
    assert ticks[1][0] - ticks[0][0] == timedelta(hours=7)


def test_value_ticks_are_round() -> None:
    lo, hi, step = value_domain([55.0, 61.0, 57.25])
    assert (lo, hi, step) == (54.0, 62.0, 2.0)  # about five steps of a round size
    ticks = value_ticks(lo, hi, step)
    assert ticks[0] == lo and abs(ticks[-1] - hi) < 1e-9
    assert [fmt_value(v, 2.5) for v in (0.0, 2.5, 5.0, 7.5)] == ["0.0", "2.5", "5.0", "7.5"]
    assert fmt_value(20.0, 20.0) == "20"
    assert value_domain([]) == (0.0, 1.0, 0.2)
    flat_lo, flat_hi, _ = value_domain([3.0, 3.0])
    assert flat_lo < 3.0 < flat_hi
