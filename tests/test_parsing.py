"""A corpus of odd and bad values, times and names, and what each must become."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pyarrow as pa
import pytest

from extract.source.pages import columns_from_samples, decode_page
from extract.source.parsing import _keep_rows, _parse_columns, parse_page

EXTRACTED = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = (datetime(2025, 10, 12, tzinfo=UTC), datetime(2025, 10, 13, tzinfo=UTC))
T = "2025-10-12T14:50:36.055960"
T_UTC = datetime(2025, 10, 12, 14, 50, 36, 55960, tzinfo=UTC)


def parse(samples: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """Through the whole path: a JSON body, decoded, then parsed."""
    body = orjson.dumps({"point_samples": samples, "next_cursor": None, "has_more": False})
    return parse_page(decode_page(body).texts, site="s", source="realtime",
                      extracted_at=EXTRACTED, run_id="r1", window=WINDOW)


VALUES = [
    # (value as received, expected double or None)
    ("-24.8571", -24.8571),
    ("90.0", 90.0),
    ("0.0", 0.0),
    ("0", 0.0),
    ("-0.0", 0.0),
    ("1.0", 1.0),
    ("1e3", 1000.0),
    ("2.5E-2", 0.025),
    ("+5", 5.0),
    (".5", 0.5),
    ("5.", 5.0),
    (" 72.5 ", 72.5),
    ("NaN", None),
    ("nan", None),
    ("inf", None),
    ("-Infinity", None),
    ("1e999", None),  # overflows to infinity: not a finite number
    ("", None),
    ("   ", None),
    (None, None),
    ("1,5", None),
    ("1_000", None),
    ("0x10", None),
    ("12abc", None),
    ("true", None),
    ("--1", None),
    ("+-1", None),
    ("1.2.3", None),
    ("١٢", None),  # Arabic-Indic digits
    (72.5, 72.5),  # a JSON number instead of a string
    (0, 0.0),
    (True, None),
]


@pytest.mark.parametrize(("raw", "expected"), VALUES)
def test_value(raw: Any, expected: float | None) -> None:
    p = parse([{"name": "a", "time": T, "value": raw}])
    assert p.bad.num_rows == 0
    row = p.good.to_pylist()[0]
    if expected is None:
        assert row["value"] is None
    else:
        assert row["value"] == pytest.approx(expected) and math.isfinite(row["value"])
    # the text is kept exactly as received (JSON non-strings keep their JSON text)
    if raw is None:
        assert row["value_raw"] is None
    elif isinstance(raw, str):
        assert row["value_raw"] == raw
    else:
        assert row["value_raw"] == {72.5: "72.5", 0: "0", True: "true"}[raw]


GOOD_TIMES = [
    (T, T_UTC),
    (T + "Z", T_UTC),
    (T + "z", T_UTC),
    (T + "+00:00", T_UTC),
    ("2025-10-12T16:50:36.055960+02:00", T_UTC),
    ("2025-10-12T09:50:36.055960-0500", T_UTC),
    ("2025-10-12T20:35:36.055960+05:45", T_UTC),
    ("2025-10-12 14:50:36.055960", T_UTC),
    ("2025-10-12T14:50:36", T_UTC.replace(microsecond=0)),
    ("2025-10-12T14:50", T_UTC.replace(second=0, microsecond=0)),
    ("2025-10-12T14:50:36.0559609", T_UTC),  # beyond microseconds: truncated
    ("2025-10-12T14:50:36.5", T_UTC.replace(microsecond=500000)),
    (" 2025-10-12T14:50:36.055960 ", T_UTC),
    ("2025-10-12T00:00:00", datetime(2025, 10, 12, tzinfo=UTC)),  # window start is inside
]


@pytest.mark.parametrize(("text", "expected"), GOOD_TIMES)
def test_time(text: str, expected: datetime) -> None:
    p = parse([{"name": "a", "time": text, "value": "1"}])
    assert p.bad.num_rows == 0 and p.out_of_window == 0
    assert p.good.to_pylist()[0]["ts"] == expected


BAD_TIMES = [
    ("not a time", "unparseable time"),
    ("2025-13-45T99:61:00", "unparseable time"),
    ("2025-02-30T00:00:00", "unparseable time"),
    ("2025-10-12", "unparseable time"),
    ("infinity", "unparseable time"),
    ("1760280636", "unparseable time"),
    ("12/10/2025 14:50", "unparseable time"),
    ("2025-10-12T14:50:36+25:00", "unparseable time"),
    ("", "missing time"),
    (None, "missing time"),
]


@pytest.mark.parametrize(("text", "reason"), BAD_TIMES)
def test_bad_time_is_quarantined_with_reason(text: str | None, reason: str) -> None:
    p = parse([{"name": "a", "time": text, "value": "3.5"}])
    assert p.good.num_rows == 0
    (row,) = p.bad.to_pylist()
    assert row["reason"] == reason
    assert row["time_raw"] == text and row["value_raw"] == "3.5" and row["point"] == "a"
    assert row["site"] == "s" and row["run_id"] == "r1" and row["origin"].startswith("api ")


NAMES = [
    "ses/ses_falls_city/192.168.96.3/n4/FallsCity_CMC/C.Drivers.LonNetwork1.AHUDampers"
    ".points.Exhaust_Damper",
    "ses/ses_falls_city/8000:33-8033/analogValue/102",
    "ses/ses_falls_city/weather/temp",
    "x" * 300,
    "name with spaces",
    "Quote'd \"point\"; drop table samples; --",
    "ünïcødé/温度",
    "CaseSensitive",
    "casesensitive",
]


def test_names_are_kept_exactly() -> None:
    p = parse([{"name": n, "time": T, "value": "1"} for n in NAMES])
    assert [r["point"] for r in p.good.to_pylist()] == NAMES


@pytest.mark.parametrize("name", ["", "   ", None])
def test_empty_name_is_quarantined(name: str | None) -> None:
    p = parse([{"name": name, "time": T, "value": "1"}])
    assert p.good.num_rows == 0
    assert p.bad.to_pylist()[0]["reason"] == "empty point name"


def test_missing_keys() -> None:
    p = parse([{"time": T, "value": "1"}, {"name": "a", "value": "1"}, {"name": "a", "time": T}])
    assert sorted(r["reason"] for r in p.bad.to_pylist()) == ["empty point name", "missing time"]
    assert p.good.to_pylist()[0]["value_raw"] is None


def test_window_is_half_open() -> None:
    start, end = WINDOW
    samples = [{"name": "a", "time": t.strftime("%Y-%m-%dT%H:%M:%S.%f"), "value": "1"} for t in
               (start, end - timedelta(microseconds=1), end)]
    p = parse(samples)
    assert [r["ts"] for r in p.good.to_pylist()] == [start, end - timedelta(microseconds=1)]
    # the sample at exactly `end` belongs to the next window: dropped, counted, not bad
    assert p.out_of_window == 1 and p.bad.num_rows == 0


def test_samples_outside_the_window_are_quarantined_with_the_reason() -> None:
    start, end = WINDOW
    stray = ["1970-01-01T00:00:00.000000", "2099-06-01T12:00:00.000000Z",
             (start - timedelta(microseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f"),
             (end + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    inside = start.strftime("%Y-%m-%dT%H:%M:%S.%f")
    p = parse([{"name": "a", "time": t, "value": "1.5"} for t in [inside, *stray]]
              + [{"name": "b", "time": "not a time", "value": "2"}])
    assert [r["ts"] for r in p.good.to_pylist()] == [start]
    bad = {(r["point"], r["time_raw"]): r for r in p.bad.to_pylist()}
    assert {t for (_, t), r in bad.items() if r["reason"] == "time outside the requested window"
            } == set(stray)
    assert bad[("a", stray[0])]["value_raw"] == "1.5"
    assert bad[("b", "not a time")]["reason"] == "unparseable time"
    assert p.out_of_window == 0


def test_columns_and_types() -> None:
    p = parse([{"name": "a", "time": T, "value": "0.0"}])
    assert p.good.schema.names == ["site", "point", "ts", "value", "value_raw", "source",
                                   "extracted_at", "run_id"]
    assert str(p.good.schema.field("ts").type) == "timestamp[us, tz=UTC]"
    row = p.good.to_pylist()[0]
    assert row["value"] == 0.0 and row["source"] == "realtime"
    assert row["extracted_at"] == EXTRACTED


def test_offset_zone_is_honoured_not_assumed_local() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    t = datetime(2025, 10, 12, 20, 20, 36, tzinfo=ist)
    p = parse([{"name": "a", "time": t.isoformat(), "value": "1"}])
    assert p.good.to_pylist()[0]["ts"] == t.astimezone(UTC)


def test_fast_decoder_and_fallback_agree() -> None:
    samples = [{"name": f"p{i}", "time": T, "value": v}
               for i, v in enumerate(["1.5", None, "", "NaN", "0.0"])]
    fast = decode_page(orjson.dumps({"point_samples": samples, "next_cursor": "c9",
                                     "has_more": True}))
    assert fast.texts.equals(columns_from_samples(samples))
    assert fast.next_cursor == "c9" and fast.has_more is True
    mixed = decode_page(orjson.dumps({"point_samples": [*samples, {"name": "n", "time": T,
                                                                   "value": 2}]}))
    assert mixed.texts.column("value_text").to_pylist()[-1] == "2"
    assert mixed.next_cursor is None and mixed.has_more is None


@pytest.mark.parametrize("body", [b'{"point_samples": [{"name": "a", "ti',
                                  b'{"point_samples": [', b"", b"<html>"])
def test_truncated_or_garbled_body_is_not_a_page(body: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        decode_page(body)


def test_empty_page() -> None:
    d = decode_page(b'{"point_samples": [], "next_cursor": "x", "has_more": false}')
    assert d.texts.num_rows == 0 and d.next_cursor == "x" and d.has_more is False


def _mutations(seed_texts: list[str], alphabet: str, count: int, seed: int) -> list[str]:
    """``count`` texts, each a seed text with one to three characters replaced or removed."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        chars = list(rng.choice(seed_texts))
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(chars))
            if rng.random() < 0.2:
                del chars[i]
            else:
                chars[i] = rng.choice(alphabet)
        out.append("".join(chars))
    return out


def test_fast_path_agrees_with_the_general_path() -> None:
    """Arrow's casts settle the usual shapes; the DuckDB path is the reference for all rows.

    A large page mixes the corpus with thousands of one-character mutations of the API's
    two usual time shapes (so many of them are 26 or 27 characters long, the lengths the
    fast path takes) and of usual values, scattered among good rows, so the fast path's
    piecewise fallback runs too. Every row must come out the same both ways.
    """
    times = [t for t, _ in GOOD_TIMES + BAD_TIMES if t is not None] + [
        "2025-10-12T14:50:36.0+0100", "2025-10-12T14:50:36.05+01Z", "2025-10-12T24:00:00.000000",
        "2024-02-29T00:00:00.000000", "2025-02-29T00:00:00.000000", "0000-01-01T00:00:00.000000",
        "9999-12-31T23:59:59.999999Z", "2025-10-12t14:50:36.055960", "2025-10-12 14:50:36.05596Z",
        "2025-10-12T14:50:60.000000", "2025-10-12T14:50:36.055960z", "+2025-10-12T14:50:36.05596",
    ]
    times += _mutations([T, T + "Z"], "0123456789-:.TtZz +", 6000, seed=7)
    values = [v for v, _ in VALUES if isinstance(v, str)]
    values += _mutations(["72.5", "-0.25", "1e-3", "100"], "0123456789.-+eE_ nai", 3000, seed=8)
    rng = random.Random(9)
    rows = [{"name": "p", "time": T, "value": "1"} for _ in range(20000)]
    for text in times:
        rows[rng.randrange(len(rows))]["time"] = text
    for text in values:
        rows[rng.randrange(len(rows))]["value"] = text
    for name in ["", " ", "\t", None, " x", "\u00a0", "\x01a"]:
        rows[rng.randrange(len(rows))]["name"] = name
    texts = columns_from_samples(rows)
    fast = _parse_columns(texts)
    general = _parse_columns(texts, general_only=True)
    for col in ("ts", "value", "reason"):
        # as integers: year 0 is a timestamp both ways but not a Python datetime
        a, b = (c.cast(pa.int64()) if col == "ts" else c for c in (fast[col], general[col]))
        assert a.to_pylist() == b.to_pylist(), col
    # and the mutations did reach both paths: many settled fast, many not
    reasons = general["reason"].to_pylist()
    assert 100 < sum(r == "unparseable time" for r in reasons) < 6000


def test_times_are_utc_whatever_the_machine_time_zone() -> None:
    """Offsets are honoured the same on a machine whose local zone is not UTC.

    The general path casts through DuckDB's TIMESTAMPTZ, which converts with the session
    time zone; the machine's zone is read when the process starts, so a child process.
    """
    code = (
        "from datetime import UTC, datetime\n"
        "from extract.source.pages import columns_from_samples\n"
        "from extract.source.parsing import parse_page\n"
        "texts = columns_from_samples([{'name': 'a', 'value': '1', 'time': t} for t in\n"
        "    ['2025-10-12T16:50:36.055960+02:00', '2025-10-12T14:50:36.055960z',\n"
        "     '2025-10-12T09:50:36.055960-0500', '2025-10-12T14:50:36.055960Z']])\n"
        "w = (datetime(2025, 10, 12, tzinfo=UTC), datetime(2025, 10, 13, tzinfo=UTC))\n"
        "p = parse_page(texts, site='s', source='realtime', extracted_at=w[0],\n"
        "               run_id='r', window=w)\n"
        "print(sorted({r['ts'].isoformat() for r in p.good.to_pylist()}), p.bad.num_rows)\n"
    )
    for zone in ("America/Chicago", "Asia/Kolkata"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "TZ": zone}, check=True).stdout.strip()
        assert out == f"['{T_UTC.isoformat()}'] 0", (zone, out)


@pytest.mark.parametrize("dropped", [0, 1, 37, 400, 5000, 10000])
def test_keep_rows_equals_filter(dropped: int) -> None:
    """Kept as slices (few runs) or filtered (many): the same rows either way."""
    rng = random.Random(dropped)
    n = 10000
    table = pa.table({"i": list(range(n)), "s": [f"p{i}" for i in range(n)]})
    drop = set(rng.sample(range(n), dropped))
    keep = pa.array([i not in drop for i in range(n)])
    got = _keep_rows(table, keep)
    assert got.equals(table.filter(keep))
    assert got.column("i").to_pylist() == [i for i in range(n) if i not in drop]
