"""The warehouse's contract (issue 3, "Definitions"; docs/warehouse.md) computed in plain Python.

Everything here is derived from the rows the tests landed (:class:`.landing.Landed`), never from
the warehouse and never from the model SQL's logic (only the ladder's grains, the bucket widths,
are read from the models' ``ace_aggregate`` calls: ladder.py). Times are integer epoch
microseconds (UTC), so bucketing and gap lengths are exact; sums use ``math.fsum`` and the
standard deviation a two-pass formula over the exact mean, so the expected floats are as
accurate as a double allows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from .ladder import DAYS, LADDER, by_label
from .landing import US, Landed, dt, us

Key = tuple[str, str, int]  # (site, point, ts or bucket_start in epoch us)
Row = dict[str, object]

SOURCE_RANK = {"import": 1, "realtime": 0, "backfill": 0}


@dataclass(frozen=True)
class Config:
    """The dbt variables a build runs with, as the truth needs them."""

    site_timezones: Mapping[str, str] = field(default_factory=dict)
    default_timezone: str = "UTC"
    gap_threshold_s: int = 300
    gap_k: int = 3
    as_of_us: int | None = None
    interval_source: str = "auto"

    def tz(self, site: str) -> str:
        return self.site_timezones.get(site, self.default_timezone)


# -- samples ------------------------------------------------------------------------------


def winner_key(row: Landed) -> tuple[int, int, str]:
    """import beats realtime/backfill; then later extracted_at; then larger run_id (string)."""
    return (SOURCE_RANK[row.source], row.extracted_at, row.run_id)


def samples(rows: Iterable[Landed]) -> dict[Key, Landed]:
    """The `samples` mart: one winning landed row per (site, point, ts)."""
    best: dict[Key, Landed] = {}
    for row in rows:
        key = (row.site, row.point, row.ts)
        cur = best.get(key)
        if cur is None or winner_key(row) > winner_key(cur):
            best[key] = row
        elif winner_key(row) == winner_key(cur) and row != cur:
            raise AssertionError(f"test data lands two different rows with one rank: {row}")
    return best


def samples_rows(rows: Iterable[Landed]) -> dict[Key, Row]:
    return {
        key: {
            "value": r.value,
            "value_raw": r.value_raw,
            "source": r.source,
            "extracted_at": r.extracted_at,
            "run_id": r.run_id,
        }
        for key, r in samples(rows).items()
    }


# -- buckets ------------------------------------------------------------------------------


@cache
def _local_day_bounds(tz_name: str, day: date) -> tuple[int, int]:
    """[start, end) of a local calendar day as epoch microseconds."""
    tz = ZoneInfo(tz_name)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return us(start), us(end)


def local_day(tz_name: str, ts_us: int) -> date:
    return dt(ts_us).astimezone(ZoneInfo(tz_name)).date()


def bucket_of(grain: str, tz_name: str, ts_us: int) -> tuple[int, int, date | None]:
    """(bucket_start, bucket_end, local day) of a sample time for a grain."""
    spec = by_label(grain)
    if spec.is_local_day:
        day = local_day(tz_name, ts_us)
        start, end = _local_day_bounds(tz_name, day)
        assert start <= ts_us < end
        return start, end, day
    size = spec.seconds * US
    start = ts_us - ts_us % size
    return start, start + size, None


def _stats(values: list[float]) -> tuple[float | None, ...]:
    """sum, avg, min, max, stddev (sample; None when n < 2) of the numeric values."""
    n = len(values)
    if n == 0:
        return None, None, None, None, None
    total = math.fsum(values)
    mean = total / n
    stddev = None
    if n >= 2:
        # Two-pass over an accurate mean, corrected (Bjorck): accurate to a few ulps.
        dev = [v - mean for v in values]
        corr = math.fsum(dev)
        var = (math.fsum(d * d for d in dev) - corr * corr / n) / (n - 1)
        stddev = math.sqrt(max(var, 0.0))
    return total, total / n, min(values), max(values), stddev


@dataclass
class Held:
    """What the holdings of one point put in one bucket (docs/warehouse.md, "Time-weighted
    figures and runtime"): value x seconds, seconds, seconds at 1, non-0/1 holdings, starts."""

    tw_sum: list[float] = field(default_factory=list)
    known_us: int = 0
    on_us: int = 0
    non_binary: int = 0
    starts: int = 0


def _bucket_edges(grain: str, tz_name: str, start_us: int, end_us: int) -> list[tuple[int, int]]:
    """The [start, end) of every bucket of the grain that [start_us, end_us) overlaps."""
    edges = []
    t = start_us
    while t < end_us:
        b_start, b_end, _day = bucket_of(grain, tz_name, t)
        edges.append((b_start, b_end))
        t = b_end
    return edges


def holdings(
    winners: Mapping[Key, Landed],
    intervals: Mapping[tuple[str, str], int],
    grain: str,
    cfg: Config,
) -> dict[Key, Held]:
    """Per (site, point, bucket_start) of the grain: the holdings of the point's samples in it.
    A numeric sample holds its value until the next sample of any kind, or for one interval
    when that is more than the gap threshold away (or there is none); a non-numeric sample
    holds nothing; a start is a 1 whose previous sample, within the threshold, was a 0."""
    by_point: dict[tuple[str, str], list[Landed]] = defaultdict(list)
    for (site, point, _ts), row in winners.items():
        by_point[(site, point)].append(row)
    out: dict[Key, Held] = defaultdict(Held)
    for (site, point), rows in by_point.items():
        rows.sort(key=lambda r: r.ts)
        interval = intervals.get((site, point), 60)
        gap = gap_threshold_us(cfg, interval)
        for i, row in enumerate(rows):
            if row.value is None:
                continue
            nxt = rows[i + 1].ts if i + 1 < len(rows) else None
            held_to = nxt if nxt is not None and nxt - row.ts <= gap else row.ts + interval * US
            prev = rows[i - 1] if i > 0 else None
            is_start = (row.value == 1 and prev is not None and prev.value == 0
                        and row.ts - prev.ts <= gap)
            for n, (b_start, b_end) in enumerate(
                    _bucket_edges(grain, cfg.tz(site), row.ts, held_to)):
                seconds_us = min(held_to, b_end) - max(row.ts, b_start)
                held = out[(site, point, b_start)]
                held.tw_sum.append(row.value * seconds_us / US)
                held.known_us += seconds_us
                if row.value == 1:
                    held.on_us += seconds_us
                elif row.value != 0:
                    held.non_binary += 1
                if n == 0 and is_start:
                    held.starts += 1
    return out


def _held_columns(held: Held | None) -> Row:
    """tw_avg, known_seconds, on_seconds, starts of an aggregate row from its holdings."""
    if held is None or held.known_us == 0:
        return {"tw_avg": None, "known_seconds": 0.0, "on_seconds": None, "starts": None}
    binary = held.non_binary == 0
    return {
        "tw_avg": math.fsum(held.tw_sum) / (held.known_us / US),
        "known_seconds": held.known_us / US,
        "on_seconds": held.on_us / US if binary else None,
        "starts": held.starts if binary else None,
    }


def aggregates(
    winners: Mapping[Key, Landed],
    intervals: Mapping[tuple[str, str], int],
    grain: str,
    cfg: Config,
) -> dict[Key, Row]:
    """The rows of the ladder's model of this grain (its label: 5min, 1h, 1d, ...), keyed by
    (site, point, bucket_start), computed from the raw winners (never from a finer grain)."""
    held = holdings(winners, intervals, grain, cfg)
    groups: dict[Key, list[Landed]] = defaultdict(list)
    bounds: dict[Key, tuple[int, date | None]] = {}
    for (site, point, ts), row in winners.items():
        start, end, day = bucket_of(grain, cfg.tz(site), ts)
        key = (site, point, start)
        groups[key].append(row)
        bounds[key] = (end, day)
    out: dict[Key, Row] = {}
    for key, rows in groups.items():
        site, point, start = key
        rows.sort(key=lambda r: r.ts)
        numeric = [r for r in rows if r.value is not None]
        values = [r.value for r in numeric]
        total, avg, vmin, vmax, stddev = _stats(values)  # type: ignore[arg-type]
        end, day = bounds[key]
        interval = intervals.get((site, point), 60)
        n_expected = ((end - start) / US) / interval
        row: Row = {
            "n": len(numeric),
            "n_total": len(rows),
            "sum": total,
            "avg": avg,
            "min": vmin,
            "max": vmax,
            "first_value": numeric[0].value if numeric else None,
            "last_value": numeric[-1].value if numeric else None,
            "first_ts": rows[0].ts,
            "last_ts": rows[-1].ts,
            "stddev": stddev,
            "n_expected": n_expected,
            "coverage": len(numeric) / n_expected,
            **_held_columns(held.get(key)),
        }
        if grain == "1d":
            row["day"] = day
        out[key] = row
    return out


# -- gaps ---------------------------------------------------------------------------------


def gap_threshold_us(cfg: Config, interval: int) -> int:
    return max(cfg.gap_threshold_s, cfg.gap_k * interval) * US


def missing_expected(duration_us: int, interval: int) -> float:
    """Samples the point should have sent inside a gap: duration / interval - 1, a real number,
    the same for an open gap measured to as_of (dbt_project/models/marts/point_gaps.yml)."""
    return duration_us / US / interval - 1


def point_gaps(
    winners: Mapping[Key, Landed], intervals: Mapping[tuple[str, str], int], cfg: Config
) -> dict[Key, Row]:
    """point_gaps rows keyed by (site, point, gap_start)."""
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for site, point, ts in winners:
        times[(site, point)].append(ts)
    out: dict[Key, Row] = {}
    for (site, point), tss in times.items():
        tss.sort()
        interval = intervals.get((site, point), 60)
        threshold = gap_threshold_us(cfg, interval)
        for a, b in zip(tss, tss[1:], strict=False):
            if b - a > threshold:
                out[(site, point, a)] = {
                    "gap_end": b,
                    "duration": (b - a) / US,
                    "missing_expected": missing_expected(b - a, interval),
                    "is_open": False,
                    "duration_s": (b - a) / US,
                }
        last = tss[-1]
        if cfg.as_of_us is not None and cfg.as_of_us - last > threshold:
            out[(site, point, last)] = {
                "gap_end": None,
                "duration": (cfg.as_of_us - last) / US,
                "missing_expected": missing_expected(cfg.as_of_us - last, interval),
                "is_open": True,
                "duration_s": (cfg.as_of_us - last) / US,
            }
    return out


# -- data quality -------------------------------------------------------------------------


def data_quality_daily(
    landed: Iterable[Landed],
    winners: Mapping[Key, Landed],
    intervals: Mapping[tuple[str, str], int],
    cfg: Config,
    found: Mapping[tuple[str, str], PointInterval] | None = None,
) -> dict[Key, Row]:
    """data_quality_daily keyed by (site, point, local day start); see docs/warehouse.md.

    A day that has not ended by as_of (None: now, the run's start) is unfinished: it expects
    samples only over its elapsed part, from its start to as_of (or to its last sample, if
    later), at the point's expected interval (`intervals`). With `found` (point_intervals),
    also expected_configured and expected_observed, over the same (elapsed) seconds."""
    daily = aggregates(winners, intervals, DAYS.label, cfg)
    as_of = cfg.as_of_us if cfg.as_of_us is not None else us(datetime.now(UTC))
    landings: dict[Key, int] = defaultdict(int)
    for r in landed:
        start, _end, _day = bucket_of(DAYS.label, cfg.tz(r.site), r.ts)
        landings[(r.site, r.point, start)] += 1
    out: dict[Key, Row] = {}
    for key, agg in daily.items():
        site, point, start = key
        day = agg["day"]
        assert isinstance(day, date)
        end = _local_day_bounds(cfg.tz(site), day)[1]
        is_complete = end <= as_of
        expected = agg["n_expected"]
        actual = agg["n_total"]
        numeric = agg["n"]
        assert isinstance(expected, float) and isinstance(actual, int)
        assert isinstance(numeric, int)
        coverage = agg["coverage"]
        # the seconds scored: the whole day's, or an unfinished day's elapsed part's
        seconds = (end - start) / US
        if not is_complete:
            last = agg["last_ts"]
            assert isinstance(last, int)
            seconds = max(min(end, max(as_of, last)) - start, 0) / US
            expected = seconds / intervals.get((site, point), 60)
            coverage = numeric / expected if expected else None
        landed = landings[key]
        out[key] = {
            "day": agg["day"],
            "bucket_start": key[2],
            "expected": expected,
            "actual": actual,
            "numeric": numeric,
            "non_numeric": actual - numeric,
            "missing": max(expected - actual, 0.0),
            "landed": landed,
            "duplicate_landings": landed - actual,
            "coverage": coverage,
            "quality_score": quality_score(expected, actual, numeric),
            "is_complete": is_complete,
        }
        if found is not None:
            pi = found.get((site, point), PointInterval(60, None))
            out[key]["expected_configured"] = seconds / pi.configured
            out[key]["expected_observed"] = None if pi.observed is None else seconds / pi.observed
    return out


def quality_score(expected: float, actual: int, numeric: int) -> float:
    """Completeness x validity: least(actual / expected, 1) x numeric / actual (documented in
    dbt_project/models/marts/data_quality_daily.yml); completeness is 1 when nothing was
    expected yet (an unfinished day whose elapsed part is empty)."""
    completeness = min(actual / expected, 1.0) if expected else 1.0
    return completeness * (numeric / actual)


# -- observed intervals -------------------------------------------------------------------

INTERVAL_LEVELS = (30, 60, 120, 300, 600, 900, 1800, 3600)
RECENT_US = 24 * 3600 * US
HOUR_US = 3600 * US


def observed_interval(tss: Iterable[int]) -> int | None:
    """The median spacing between consecutive samples of the window (from the UTC hour 24
    hours before the hour of the latest sample on), each spacing rounded half up to whole
    seconds, rounded to the level nearest by ratio; None with fewer than 2 spacings."""
    ordered = sorted(tss)
    if not ordered:
        return None
    window_start = ordered[-1] // HOUR_US * HOUR_US - RECENT_US
    recent = [t for t in ordered if t >= window_start]
    gaps = sorted((b - a + US // 2) // US for a, b in zip(recent, recent[1:], strict=False))
    if len(gaps) < 2:
        return None
    mid = len(gaps) // 2
    median_s = gaps[mid] if len(gaps) % 2 else (gaps[mid - 1] + gaps[mid]) / 2
    if median_s <= 0:
        return None
    return min(INTERVAL_LEVELS, key=lambda level: abs(math.log(median_s / level)))


@dataclass(frozen=True)
class PointInterval:
    configured: int
    observed: int | None

    @property
    def is_mismatch(self) -> bool:
        o, c = self.observed, self.configured
        return o is not None and (o >= 2 * c or 2 * o <= c)

    def expected(self, source: str) -> int:
        if source == "configured" or self.observed is None:
            return self.configured
        if source == "observed" or self.is_mismatch:
            return self.observed
        return self.configured


def point_intervals(
    winners: Mapping[Key, Landed], configured: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], PointInterval]:
    """Every point with samples or metadata: its configured and observed interval."""
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for site, point, ts in winners:
        times[(site, point)].append(ts)
    keys = set(times) | set(configured)
    return {
        k: PointInterval(configured.get(k, 60), observed_interval(times.get(k, []))) for k in keys
    }


def expected_intervals(
    winners: Mapping[Key, Landed], configured: Mapping[tuple[str, str], int], cfg: Config
) -> dict[tuple[str, str], int]:
    """The interval n_expected, coverage and the gap rule use, per var interval_source."""
    found = point_intervals(winners, configured)
    return {k: v.expected(cfg.interval_source) for k, v in found.items()}


# -- everything ---------------------------------------------------------------------------


def warehouse(
    landed: list[Landed], intervals: Mapping[tuple[str, str], int], cfg: Config
) -> dict[str, dict[Key, Row]]:
    """Every checked table of the warehouse, keyed by table name; `intervals` are the configured
    ones (Lake.intervals), turned into the expected ones by cfg.interval_source."""
    win = samples(landed)
    found = point_intervals(win, intervals)
    expected = {k: v.expected(cfg.interval_source) for k, v in found.items()}
    return {
        "samples": samples_rows(landed),
        **{grain.name: aggregates(win, expected, grain.label, cfg) for grain in LADDER},
        "point_gaps": point_gaps(win, expected, cfg),
        "data_quality_daily": data_quality_daily(landed, win, expected, cfg, found),
    }
