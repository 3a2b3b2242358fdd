"""Deterministic landings for the warehouse tests.

Sites and their zones (``site_timezones``; ``berlin_lab`` is left to ``default_timezone``, UTC):

- ``ses_falls_city`` America/New_York: 2025-03-09 (23 h) and 2025-11-02 (25 h) local days.
- ``ktm_plant`` Asia/Kathmandu (+05:45) and ``blr_office`` Asia/Kolkata (+05:30).
- ``zone1/temp`` exists at four sites: four different points.

Special cases, each placed where a test looks for it (times UTC):

- ``ses_falls_city/zone1/temp``: 5-minute bucket 2025-11-02 14:00 of non-numeric samples only
  (``NaN``, ``""``, null, ``offline``, ``inf``); zeros (``0``, ``0.0``, ``-0.0``); a gap of
  11 min (10:00 -> 10:11), a spacing of exactly 300 s (10:30 -> 10:35, not a gap) and of 301 s
  (11:00 -> 11:05:01, a gap) on 2025-11-02; sub-second timestamps.
- ``ses_falls_city/ahu1/fan_status``: a binary 0/1 point, complete on the local days
  2025-03-09 and 2025-11-02, so its daily ``avg`` is its duty cycle.
- ``ses_falls_city/chiller/kw``: a 600 s point (``n_expected`` 0.5 per 5 minutes), with a
  1800 s spacing (not a gap: threshold max(300, 3 x 600)) and a 2400 s one (a gap).
- ``ses_falls_city/zone1/setpoint``: ``collect_interval`` absent (default 60 s), constant values.
- ``ses_falls_city/meter/kwh_total``: a counter near 1.2e6 growing ~0.1 a minute (a stddev that
  is small next to the mean: the roll-up must stay exact there too).
- ``blr_office/zone1/temp`` stops exactly 300 s before ``as_of``: no open gap.
- ``blr_office/ahu/speed`` is configured at 300 s but sends every 60 s (coverage 5 under
  ``interval_source`` configured; under auto its observed 60 s is used, coverage 1).
- ``berlin_lab/zone1/temp`` (120 s) stops on 2025-11-02 12:00: an open gap up to ``as_of``.
- ``berlin_lab/door/state``: text values only.
- ``ses_falls_city/Zone1/Temp`` (names are case-sensitive) and ``o'brien's office/temp °F``.
- ``blr_office/meter/zero_interval``: collect_interval 0, so the default 60 s applies.
- ``berlin_lab/unlisted/sensor``: samples but no metadata (default 60 s; sends every 30 s).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .landing import US, Lake, PointMeta, us
from .truth import Config

Sample = tuple[str, str, int, "str | None"]

SITE_TIMEZONES = {
    "ses_falls_city": "America/New_York",
    "ktm_plant": "Asia/Kathmandu",
    "blr_office": "Asia/Kolkata",
}
SITES = ("ses_falls_city", "ktm_plant", "blr_office", "berlin_lab")

POINTS = (
    PointMeta("ses_falls_city", "zone1/temp", 60, "degF", 101),
    PointMeta("ses_falls_city", "ahu1/fan_status", 60, None, 102),
    PointMeta("ses_falls_city", "chiller/kw", 600, "kW", 103),
    PointMeta("ses_falls_city", "zone1/setpoint", None, "degF", 104),
    PointMeta("ses_falls_city", "Zone1/Temp", 60, "degF", 105),  # names are case-sensitive
    PointMeta("ses_falls_city", "meter/kwh_total", 60, "kWh", 107),  # a counter near 1.2e6
    PointMeta("ses_falls_city", "o'brien's office/temp °F", 120, None, 106),
    PointMeta("ktm_plant", "zone1/temp", 60, "degC", 201),
    PointMeta("ktm_plant", "boiler/flow", 120, "gpm", 202),
    PointMeta("blr_office", "meter/kw", 300, "kW", 301),
    PointMeta("blr_office", "zone1/temp", 60, "degC", 302),
    PointMeta("blr_office", "ahu/speed", 300, "%", 303),  # sends every 60 s (see above)
    PointMeta("blr_office", "meter/zero_interval", 0, "kW", 304),  # not positive: default 60 s
    PointMeta("berlin_lab", "zone1/temp", 120, "degC", 401),
    PointMeta("berlin_lab", "door/state", 60, None, 402),
)

AS_OF = datetime(2025, 11, 4, 6, 2, tzinfo=UTC)
NOV_START = datetime(2025, 11, 1, tzinfo=UTC)
NOV_END = datetime(2025, 11, 4, 6, 0, tzinfo=UTC)
MAR_START = datetime(2025, 3, 8, tzinfo=UTC)
MAR_END = datetime(2025, 3, 11, tzinfo=UTC)
LATE_DAY = date(2025, 9, 3)  # 60 days before 2025-11-02
META_AT = datetime(2025, 11, 4, 6, 0, 30, tzinfo=UTC)


def config() -> Config:
    return Config(site_timezones=dict(SITE_TIMEZONES), as_of_us=us(AS_OF))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def times(start: datetime, end: datetime, step_s: int) -> Iterator[int]:
    t, stop = us(start), us(end)
    while t < stop:
        yield t
        t += step_s * US


def write_meta(lake: Lake, at: datetime = META_AT, run_id: str = "20251104T060030Z-meta00") -> None:
    lake.write_sites(SITES, extracted_at=at, run_id=run_id)
    for site in SITES:
        points = [p for p in POINTS if p.site == site]
        lake.write_points(site, points, extracted_at=at, run_id=run_id)


# -- the per-point series ------------------------------------------------------------------


def _num(rng: random.Random, centre: float, spread: float, decimals: int = 2) -> str:
    return f"{centre + rng.uniform(-spread, spread):.{decimals}f}"


def ny_temp(start: datetime, end: datetime, seed: int = 1) -> list[Sample]:
    rng = random.Random(seed)
    out: list[Sample] = []
    special_drop = {
        us(utc(2025, 11, 2, 10, m)) for m in range(1, 11)  # 10:00 -> 10:11: a gap
    } | {us(utc(2025, 11, 2, 10, m)) for m in range(31, 35)}  # 10:30 -> 10:35: exactly 300 s
    special_drop |= {us(utc(2025, 11, 2, 11, m)) for m in range(1, 5)}  # 11:00 -> 11:05:01
    texts = {0: "NaN", 1: "", 2: None, 3: "offline", 4: "inf"}
    nonnum_bucket = us(utc(2025, 11, 2, 14, 0))
    for i, t in enumerate(times(start, end, 60)):
        if t in special_drop:
            continue
        if t == us(utc(2025, 11, 2, 11, 5)):
            t += 1 * US  # 301 s after 11:00
        if nonnum_bucket <= t < nonnum_bucket + 300 * US:
            out.append(("ses_falls_city", "zone1/temp", t, texts[(t - nonnum_bucket) // (60 * US)]))
            continue
        if us(utc(2025, 11, 2, 9, 55)) <= t < us(utc(2025, 11, 2, 11, 10)):
            out.append(("ses_falls_city", "zone1/temp", t, _num(rng, 70.0, 4.0)))
            continue
        if i % 97 == 13:
            value: str | None = rng.choice(["nan", "NaN", "-inf", "n/a", None, " "])
        elif i % 211 == 7:
            value = rng.choice(["0", "0.0", "-0.0", "+0", "0e3"])
        elif i % 53 == 5:
            t += rng.randrange(1, 59_000_000)  # sub-second and jittered, same minute
            value = _num(rng, 70.0, 4.0, 3)
        else:
            value = _num(rng, 70.0, 4.0)
        if i % 389 == 3:
            continue  # a random dropout
        out.append(("ses_falls_city", "zone1/temp", t, value))
    return out


def fan_status(start: datetime, end: datetime, seed: int = 2) -> list[Sample]:
    rng = random.Random(seed)
    out: list[Sample] = []
    state = 0
    for t in times(start, end, 60):
        if rng.random() < 0.03:
            state = 1 - state
        out.append(("ses_falls_city", "ahu1/fan_status", t, rng.choice(["0", "0.0"]) if state == 0
                    else rng.choice(["1", "1.0"])))
    return out


def chiller(start: datetime, end: datetime, seed: int = 3) -> list[Sample]:
    rng = random.Random(seed)
    drop = {us(utc(2025, 11, 2, 6, 10)), us(utc(2025, 11, 2, 6, 20))}  # 06:00 -> 06:30: 1800 s
    drop |= {us(utc(2025, 11, 3, 9, m)) for m in (10, 20, 30)}  # 09:00 -> 09:40: 2400 s, a gap
    out: list[Sample] = []
    for i, t in enumerate(times(start, end, 600)):
        if t in drop:
            continue
        hour = (t // (3600 * US)) % 24
        value = "0.0" if hour < 6 else _num(rng, 350.0, 120.0, 1)
        if i % 41 == 0:
            value = "-0"
        out.append(("ses_falls_city", "chiller/kw", t, value))
    return out


def setpoint(start: datetime, end: datetime) -> list[Sample]:
    out: list[Sample] = []
    for t in times(start, end, 60):
        value = "20.1" if t < us(utc(2025, 11, 3)) else "21.3"
        out.append(("ses_falls_city", "zone1/setpoint", t, value))
    return out


def counter(start: datetime, end: datetime, seed: int = 4) -> list[Sample]:
    """A cumulative energy meter: large values, small variance (stddev conditioning)."""
    rng = random.Random(seed)
    total = 1_234_567.0
    out: list[Sample] = []
    for t in times(start, end, 60):
        total += rng.uniform(0.05, 0.2)
        out.append(("ses_falls_city", "meter/kwh_total", t, f"{total:.3f}"))
    return out


def simple(
    site: str,
    point: str,
    start: datetime,
    end: datetime,
    step_s: int,
    value: Callable[[random.Random, int], str | None],
    seed: int,
) -> list[Sample]:
    rng = random.Random(seed)
    return [(site, point, t, value(rng, t)) for t in times(start, end, step_s)]


def nov_samples() -> list[Sample]:
    """The recent data of every point (2025-11-01 .. 2025-11-04 06:00 UTC)."""
    s, e = NOV_START, NOV_END
    out: list[Sample] = []
    out += ny_temp(s, e)
    out += fan_status(s, e)
    out += chiller(s, e)
    out += setpoint(s, e)
    out += simple("ktm_plant", "zone1/temp", s, e, 60, lambda r, t: _num(r, 24.0, 2.0), 5)
    out += simple("ktm_plant", "boiler/flow", s, e, 120, lambda r, t: _num(r, 150.0, 30.0, 3), 6)
    out += simple("blr_office", "meter/kw", s, e, 300, lambda r, t: _num(r, 800.0, 200.0, 1), 7)
    out += simple(
        "blr_office", "zone1/temp", s, e - timedelta(minutes=2), 60,
        lambda r, t: _num(r, 26.0, 1.5), 8,
    )  # last sample 05:57, exactly 300 s before as_of
    out += simple(
        "blr_office", "ahu/speed", utc(2025, 11, 2), e, 60,
        lambda r, t: "NaN" if r.random() < 0.05 else _num(r, 60.0, 30.0, 1), 11,
    )  # faster than configured, some non-numeric: quality_score = numeric / actual
    out += counter(s, e)
    out += simple(
        "ses_falls_city", "Zone1/Temp", utc(2025, 11, 2), utc(2025, 11, 2, 6), 60,
        lambda r, t: _num(r, 10.0, 1.0), 12,
    )
    out += simple(
        "ses_falls_city", "o'brien's office/temp °F", utc(2025, 11, 3), utc(2025, 11, 3, 3), 120,
        lambda r, t: _num(r, 71.0, 1.0), 13,
    )
    out += simple(
        "blr_office", "meter/zero_interval", utc(2025, 11, 3), e, 60,
        lambda r, t: _num(r, 5.0, 1.0), 14,
    )
    out += simple(  # a point in no metadata snapshot: default 60 s, sends every 30 s
        "berlin_lab", "unlisted/sensor", utc(2025, 11, 3), utc(2025, 11, 3, 2), 30,
        lambda r, t: _num(r, 1.0, 1.0), 15,
    )
    out += simple(
        "berlin_lab", "zone1/temp", s, utc(2025, 11, 2, 12), 120, lambda r, t: _num(r, 19.0, 1.0), 9
    )  # stops: open gap
    out += simple(
        "berlin_lab", "door/state", utc(2025, 11, 3, 8), utc(2025, 11, 3, 12), 60,
        lambda r, t: r.choice(["OPEN", "CLOSED"]), 10,
    )
    return out


def mar_samples() -> list[Sample]:
    """The March DST days of the New York points."""
    out = ny_temp(MAR_START, MAR_END, seed=11)
    out += fan_status(MAR_START, MAR_END, seed=12)
    return out


def late_samples(points: Iterable[tuple[str, str]] | None = None) -> list[Sample]:
    """A whole UTC day 60 days back (plus the edges of its local days), for some points."""
    start = datetime.combine(LATE_DAY, datetime.min.time(), tzinfo=UTC) - timedelta(hours=6)
    end = start + timedelta(hours=36)
    rng = random.Random(99)
    wanted = set(points) if points is not None else {
        ("ses_falls_city", "zone1/temp"),
        ("ses_falls_city", "chiller/kw"),
        ("ktm_plant", "zone1/temp"),
        ("blr_office", "meter/kw"),
    }
    steps = {(p.site, p.point): p.collect_interval or 60 for p in POINTS}
    out: list[Sample] = []
    for site, point in sorted(wanted):
        for t in times(start, end, steps[(site, point)]):
            if rng.random() < 0.02:
                continue
            out.append((site, point, t, _num(rng, 50.0, 10.0)))
    return out


# -- landings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Landing:
    samples: list[Sample]
    source: str
    extracted_at: datetime
    run_id: str | None = None


def between(samples: Iterable[Sample], site: str, point: str, start: datetime, end: datetime,
            ) -> list[Sample]:
    a, b = us(start), us(end)
    return [s for s in samples if s[0] == site and s[1] == point and a <= s[2] < b]


def changed(samples: Iterable[Sample], delta: float, every: int = 1) -> list[Sample]:
    """The same keys with other values (every ``every``-th one; the others unchanged)."""
    out = []
    for i, (site, point, t, value) in enumerate(samples):
        if i % every == 0:
            try:
                value = f"{float(value or 'x'):.2f}"
                value = f"{float(value) + delta:.2f}"
            except ValueError:
                value = f"{delta:.2f}"
        out.append((site, point, t, value))
    return out


def overrides(nov: list[Sample]) -> list[Landing]:
    """Re-landings that exercise every rule of the `samples` winner."""
    x = utc(2025, 11, 4)
    ny = "ses_falls_city"
    reread = between(nov, ny, "zone1/temp", utc(2025, 11, 4, 4), utc(2025, 11, 4, 6))
    imported = between(nov, ny, "zone1/temp", utc(2025, 11, 3, 0), utc(2025, 11, 3, 1))
    ktm = between(nov, "ktm_plant", "zone1/temp", utc(2025, 11, 2, 12), utc(2025, 11, 2, 14))
    blr = between(nov, "blr_office", "meter/kw", utc(2025, 11, 3, 0), utc(2025, 11, 3, 3))
    fan = between(nov, ny, "ahu1/fan_status", utc(2025, 11, 3, 5), utc(2025, 11, 3, 5, 30))
    flow = between(nov, "ktm_plant", "boiler/flow", utc(2025, 11, 3, 1), utc(2025, 11, 3, 2))
    flips = [(s, p, t, "0" if v not in ("0", "0.0") else "1") for s, p, t, v in fan]
    return [
        # a crash re-lands a window unchanged, and a re-read changes some values: later wins
        Landing(reread, "realtime", x.replace(hour=6, minute=1, second=30)),
        Landing(changed(reread, 0.05, every=7), "realtime", x.replace(hour=6, minute=1, second=45)),
        # a backfill with later extracted_at replaces realtime (same rank)
        Landing(changed(ktm, -1.0), "backfill", x.replace(hour=7)),
        # an import beats realtime although extracted earlier ...
        Landing(changed(imported, 3.0), "import", x.replace(hour=5)),
        # ... and a later realtime re-read does not beat it
        Landing(changed(imported[30:40], 9.0), "realtime", x.replace(hour=8)),
        # same extracted_at: the larger run_id wins (landed in reverse order on purpose)
        Landing(changed(blr, 2.0), "realtime", x.replace(hour=9), "20251104T090000Z-bbbbbb"),
        Landing(changed(blr, 1.0), "realtime", x.replace(hour=9), "20251104T090000Z-aaaaaa"),
        # two imports: the later extracted_at wins
        Landing(flips, "import", x.replace(hour=11)),
        Landing(fan, "import", x.replace(hour=10)),
        # a later re-read turns numeric samples into nulls
        Landing([(s, p, t, None) for s, p, t, _v in flow[::3]], "realtime", x.replace(hour=12)),
    ]


def extras(lake: Lake) -> None:
    """What else a lake holds: rejected samples in quarantine/ and a crash's leftover partial
    file (``.<name>.parquet.tmp``); neither may reach a contract table."""
    leftover = lake.root / "raw" / "site=ses_falls_city" / "date=2025-11-03"
    leftover.mkdir(parents=True, exist_ok=True)
    (leftover / ".20251104T070000Z-crash0-1.parquet.tmp").write_bytes(b"PAR1 truncated")
    lake.quarantine(
        [
            ("ses_falls_city", "zone1/temp", "not a time", "70.1", "unparseable time"),
            ("ses_falls_city", "", "2025-11-03T01:00:00Z", "1", "empty point name"),
            ("ktm_plant", None, None, "2", "missing time"),
        ],
        source="realtime", extracted_at=utc(2025, 11, 4, 6, 1), run_id="20251104T060100Z-quar00",
    )


def land_all(lake: Lake, landings: Iterable[Landing]) -> None:
    for item in landings:
        lake.land(item.samples, source=item.source, extracted_at=item.extracted_at,
                  run_id=item.run_id)


def reference_landings() -> list[Landing]:
    """Everything the single-build reference test lands before its one build."""
    nov = nov_samples()
    return [
        Landing(mar_samples(), "realtime", utc(2025, 3, 11, 0, 5)),
        Landing(nov, "realtime", utc(2025, 11, 4, 6, 1)),
        *overrides(nov),
    ]
