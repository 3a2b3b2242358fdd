"""Property: any interleaving of landings with incremental runs between equals a full refresh,
and both equal the truth.

For each seed a small universe of landings is drawn (realtime chunks, late chunks 60 days and
8 months back, identical re-landings, re-reads with changed values, backfills, imports, a later
realtime re-read of imported keys, two runs with one `extracted_at`, points snapshots that
change a point's collect_interval, a point's first metadata arriving after its samples),
shuffled, landed in that
order with `extracted_at` increasing with the landing order (as the extractor's lock makes it),
and cut into 3 or 4 incremental `dbt build`s, each with its own `as_of`. The seed and the order
are in every failure message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import DbtFailed, build
from .landing import US, Lake, PointMeta, run_id_for, us
from .scenario import Sample, times, utc
from .truth import Config

pytestmark = pytest.mark.slow

SEEDS = (101, 202, 303)
# seed -> (site_timezones, default_timezone): the last seed leaves Kathmandu to the default
ZONES = {
    101: ({"prop_ny": "America/New_York", "prop_ktm": "Asia/Kathmandu"}, "UTC"),
    202: ({"prop_ny": "America/New_York", "prop_ktm": "Asia/Kathmandu"}, "UTC"),
    303: ({"prop_ny": "America/New_York"}, "Asia/Kathmandu"),
}

SITES = ("prop_ny", "prop_ktm")
POINTS = (
    PointMeta("prop_ny", "p/temp", 60),
    PointMeta("prop_ny", "p/bin", 600),
    PointMeta("prop_ktm", "p/temp", 60),
    PointMeta("prop_ktm", "p/flow", 120),
)
RANGES = (
    (utc(2025, 11, 2, 3), utc(2025, 11, 2, 9)),  # recent; NY falls back at 06:00 UTC
    (utc(2025, 9, 3, 16), utc(2025, 9, 3, 20)),  # 60 days back; Kathmandu midnight 18:15 UTC
    (utc(2025, 3, 9, 5), utc(2025, 3, 9, 9)),  # NY springs forward at 07:00 UTC
)
FIRST_EXTRACTION = utc(2025, 11, 2, 9, 30)
LATE_META = ("prop_ktm", "p/flow")  # absent from the first points snapshot


@dataclass
class Event:
    label: str
    samples: list[Sample]
    source: str
    tie_group: int | None = None
    meta: list[PointMeta] | None = None  # a points snapshot of one site instead of samples


def _value(rng: random.Random, point: PointMeta) -> str | None:
    if point.point == "p/bin":
        return rng.choice(["0", "1", "1.0", "0.0"])
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["NaN", None, "", "err"])
    if roll < 0.05:
        return "0"
    return f"{rng.uniform(-20, 80):.3f}"


def _universe(rng: random.Random) -> list[Event | tuple[Event, Event]]:
    base: dict[tuple[str, str, int], str | None] = {}
    events: list[Event | tuple[Event, Event]] = []
    for r, (start, end) in enumerate(RANGES):
        silent = {}  # a long silence per point somewhere: a gap
        for p in POINTS:
            a = us(start) + rng.randrange(0, 3 * 3600) * US
            silent[(p.site, p.point)] = (a, a + rng.choice([200, 900, 2400]) * US)
        t = start
        while t < end:
            t2 = min(end, t + timedelta(minutes=rng.choice([30, 60, 90])))
            for site in SITES:
                chunk: list[Sample] = []
                for p in POINTS:
                    if p.site != site:
                        continue
                    lo, hi = silent[(p.site, p.point)]
                    for ts in times(t, t2, p.collect_interval or 60):
                        if lo <= ts < hi or rng.random() < 0.03:
                            continue
                        ts += rng.choice([0, 0, 0, rng.randrange(0, 10 * US)])
                        value = _value(rng, p)
                        base[(site, p.point, ts)] = value
                        chunk.append((site, p.point, ts, value))
                label = f"{'recent' if r == 0 else 'late'} {site} {t:%m-%d %H:%M}"
                events.append(Event(label, chunk, "realtime"))
            t = t2
    chunks = [e for e in events if isinstance(e, Event)]

    def changed(samples: list[Sample]) -> list[Sample]:
        return [(s, p, t, f"{rng.uniform(-5, 5):.2f}" if rng.random() < 0.7 else v)
                for s, p, t, v in samples]

    def window(point: PointMeta) -> list[Sample]:
        start, end = rng.choice(RANGES)
        a = start + timedelta(minutes=rng.randrange(0, 150))
        b = min(end, a + timedelta(minutes=rng.choice([20, 60, 120])))
        out = [k + (v,) for k, v in base.items()
               if k[:2] == (point.site, point.point) and us(a) <= k[2] < us(b)]
        # a backfill or an import also carries samples realtime never got
        out += [(point.site, point.point, ts, f"{rng.uniform(0, 9):.1f}")
                for ts in times(a, b, point.collect_interval or 60)
                if (point.site, point.point, ts) not in base and rng.random() < 0.3]
        return sorted(out, key=lambda s: s[2])

    for i in range(3):
        events.append(Event(f"identical re-landing {i}", list(rng.choice(chunks).samples),
                            "realtime"))
    for i in range(2):
        picked = rng.choice(chunks).samples
        events.append(Event(f"re-read {i}", changed(rng.sample(picked, len(picked) // 3)),
                            "realtime"))
    for i in range(2):
        events.append(Event(f"backfill {i}", changed(window(rng.choice(POINTS))), "backfill"))
    imported = changed(window(rng.choice(POINTS)))
    events.append(Event("import", imported, "import"))
    events.append(Event("import again", changed(imported[::2]), "import"))
    events.append(Event("realtime re-read of imported keys", changed(imported[1::2]), "realtime"))
    for i in range(2):  # a new points snapshot changes one point's interval (or drops it)
        changed_point = rng.choice(POINTS)
        interval = rng.choice([30, 120, 300, 600, None, 0])
        snapshot = [
            replace(p, collect_interval=interval) if p == changed_point else p
            for p in POINTS
            if p.site == changed_point.site
        ]
        label = f"metadata {i}: {changed_point.site}/{changed_point.point} interval {interval}"
        events.append(Event(label, [], "meta", meta=snapshot))
    # the first snapshot of prop_ktm lacks p/flow (LATE_META): its metadata arrives later
    events.append(Event("late metadata of prop_ktm/p/flow", [], "meta",
                        meta=[p for p in POINTS if p.site == "prop_ktm"]))
    tie_keys = rng.choice(chunks).samples[:40]
    events.append((Event("tie a", changed(tie_keys), "realtime", 0),
                   Event("tie b", changed(tie_keys), "realtime", 0)))
    return events


def _plan(seed: int) -> tuple[list[tuple[Event, datetime, str]], list[int]]:
    """The landing order (event, extracted_at, run_id) and the build cut points."""
    rng = random.Random(seed)
    units = _universe(rng)
    rng.shuffle(units)
    order: list[tuple[Event, datetime, str]] = []
    at = FIRST_EXTRACTION
    for unit in units:
        at += timedelta(minutes=1)
        if isinstance(unit, tuple):
            a, b = unit if rng.random() < 0.5 else unit[::-1]
            order.append((a, at, run_id_for(at, "aaaaaa" if a.label == "tie a" else "ffffff")))
            order.append((b, at, run_id_for(at, "aaaaaa" if b.label == "tie a" else "ffffff")))
        else:
            order.append((unit, at, run_id_for(at, f"{len(order):06x}")))
    builds = rng.choice([3, 4])
    cuts = sorted(rng.sample(range(1, len(order)), builds - 1)) + [len(order)]
    return order, cuts


@pytest.mark.parametrize("seed", SEEDS)
def test_interleavings_equal_full_refresh_and_truth(
    seed: int, tmp_path: Path, dbt_target: Path
) -> None:
    order, cuts = _plan(seed)
    lake = Lake(tmp_path / "lake")
    at = FIRST_EXTRACTION
    lake.write_sites(SITES, extracted_at=at, run_id=run_id_for(at, "meta00"))
    for site in SITES:
        first = [p for p in POINTS if p.site == site and (p.site, p.point) != LATE_META]
        lake.write_points(site, first, extracted_at=at, run_id=run_id_for(at, "meta00"))
    warehouse = tmp_path / "incremental.duckdb"
    landed = 0
    zones, default_zone = ZONES[seed]
    cfg = Config(site_timezones=zones, default_timezone=default_zone)
    for n, cut in enumerate(cuts, start=1):
        for event, extracted_at, run_id in order[landed:cut]:
            if event.meta is not None:
                site = event.meta[0].site
                lake.write_points(site, event.meta, extracted_at=extracted_at, run_id=run_id)
            else:
                lake.land(event.samples, source=event.source, extracted_at=extracted_at,
                          run_id=run_id)
        landed = cut
        as_of = order[cut - 1][1] + timedelta(seconds=30)
        cfg = Config(site_timezones=zones, default_timezone=default_zone, as_of_us=us(as_of))
        story = " | ".join(
            f"{e.label} ({e.source}, {r})" + (" || build" if i + 1 in cuts else "")
            for i, (e, _x, r) in enumerate(order[:cut])
        )
        label = f"seed {seed}, after build {n} of {len(cuts)} [{story}]"
        try:
            build(warehouse, lake.root, dbt_vars(cfg), dbt_target)
        except DbtFailed as exc:
            raise DbtFailed(f"{label}:\n{exc}") from None
        assert_tables_equal(expected(lake, cfg), read_all(warehouse), label)
    full = tmp_path / "full_refresh.duckdb"
    build(full, lake.root, dbt_vars(cfg), dbt_target, full_refresh=True)
    refreshed = read_all(full)
    assert_tables_equal(expected(lake, cfg), refreshed, f"seed {seed}, full refresh vs truth")
    assert_tables_equal(refreshed, read_all(warehouse), f"seed {seed}, incremental vs full refresh")
