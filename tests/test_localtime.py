"""The import's local times agree with zoneinfo, around every DST change of several zones."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from extract.source.localtime import TimeRules
from extract.source.parsing import parse_texts

ZONES = ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago",
         "Asia/Kolkata", "UTC")
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)


def expected(wall: datetime, zone: str) -> tuple[datetime | None, str | None]:
    """(instant, None), or (None, 'ambiguous' | 'nonexistent'), as zoneinfo says."""
    z = zoneinfo.ZoneInfo(zone)
    first, second = wall.replace(tzinfo=z, fold=0), wall.replace(tzinfo=z, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC), None
    back = first.astimezone(UTC).astimezone(z).replace(tzinfo=None)
    return None, ("ambiguous" if back == wall else "nonexistent")


def walls(zone: str, rng: random.Random) -> list[datetime]:
    """Minutes within two hours of every offset change of 2024-2027, and random others."""
    z = zoneinfo.ZoneInfo(zone)
    start = datetime(2024, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # a wall time, no zone
    out = [start + timedelta(minutes=rng.randrange(4 * 525_600)) for _ in range(200)]
    t = datetime(2024, 1, 1, tzinfo=UTC)
    while t < datetime(2028, 1, 1, tzinfo=UTC):
        nxt = t + timedelta(hours=1)
        if t.astimezone(z).utcoffset() != nxt.astimezone(z).utcoffset():
            wall = nxt.astimezone(z).replace(tzinfo=None)
            out += [wall + timedelta(minutes=m) for m in range(-150, 151, 7)]
        t = nxt
    return out


def test_local_times_match_zoneinfo_around_every_change() -> None:
    rng = random.Random(5)
    for zone in ZONES:
        texts = walls(zone, rng)
        named = [f"{w:%Y-%m-%d %H:%M:%S} {zone}" for w in texts]
        for time_texts, rules in (
                ([f"{w:%Y-%m-%dT%H:%M:%S}" for w in texts], TimeRules(EARLIEST, LATEST, zone)),
                (named, TimeRules(EARLIEST, LATEST))):
            table = pa.table({"name": [f"p{i}" for i in range(len(texts))],
                              "time_text": time_texts, "value_text": ["1"] * len(texts)})
            parsed = parse_texts(table, site="s", source="import",
                                 extracted_at=EARLIEST, run_id="r", origin="o", refine=rules)
            got = {p: ("ok", ts) for p, ts in zip(parsed.good["point"].to_pylist(),
                                                  parsed.good["ts"].to_pylist(), strict=True)}
            got |= {p: (str(r).split()[0], None) for p, r in zip(
                parsed.bad["point"].to_pylist(), parsed.bad["reason"].to_pylist(),
                strict=True)}
            for i, wall in enumerate(texts):
                instant, problem = expected(wall, zone)
                want = ("ok", instant) if problem is None else (problem, None)
                assert got[f"p{i}"] == want, (zone, wall, time_texts[i])
