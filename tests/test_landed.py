"""What counts as landed already (landing/lake.py ``only_new``): a row is skipped only when
the latest landed row of its (point, ts) and class has the same text, whatever else the
files hold, and only the rows' own keys are read back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from extract.core.schema import RAW_SCHEMA
from extract.landing.lake import Lake, PartitionWriter, landed_files, only_new, utc_dates

T = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
SITE = "s1"


def rows(*items: tuple[str, int, str | None], source: str = "realtime",
         at: datetime = T, run_id: str = "r") -> pa.Table:
    """(point, minute after T, value_raw) rows, extracted at ``at``."""
    return pa.table({
        "site": [SITE] * len(items), "point": [p for p, _, _ in items],
        "ts": [T + timedelta(minutes=m) for _, m, _ in items],
        "value": [float(v) if v not in (None, "x") else None for _, _, v in items],
        "value_raw": [v for _, _, v in items], "source": [source] * len(items),
        "extracted_at": [at] * len(items), "run_id": [run_id] * len(items)},
        schema=RAW_SCHEMA)


def land(lake: Lake, table: pa.Table, seq: itertools.count[int]) -> None:
    run_id = table["run_id"][0].as_py()
    w = PartitionWriter(lake, SITE, run_id, seq)
    w.write(table)
    w.commit()


def new_keys(lake: Lake, page: pa.Table, source_is_import: bool = False) -> set[tuple]:
    days = utc_dates(T - timedelta(days=1), T + timedelta(days=2))
    out = only_new(page, landed_files(lake, SITE, days), source_is_import)
    assert out.schema == page.schema
    return set(zip(out["point"].to_pylist(),
                   [(t - T) // timedelta(minutes=1) for t in out["ts"].to_pylist()],
                   out["value_raw"].to_pylist(), strict=True))


def test_the_latest_landing_decides(tmp_path: Path) -> None:
    lake, seq = Lake(tmp_path), itertools.count(1)
    land(lake, rows(("a", 0, "1"), ("a", 1, "1")), seq)
    # revised later: a/0 to 2 (a later extraction), a/1 to 2 in a later run at the same time
    land(lake, rows(("a", 0, "2"), at=T + timedelta(hours=1), run_id="r2"), seq)
    land(lake, rows(("a", 1, "2"), run_id="r3"), seq)
    # the API serving the first text again: it differs from the latest, so it lands
    assert new_keys(lake, rows(("a", 0, "1"), ("a", 1, "1"))) == {("a", 0, "1"), ("a", 1, "1")}
    assert new_keys(lake, rows(("a", 0, "2"), ("a", 1, "2"))) == set()


def test_null_text_is_a_value(tmp_path: Path) -> None:
    lake, seq = Lake(tmp_path), itertools.count(1)
    land(lake, rows(("a", 0, None), ("a", 1, "5")), seq)
    land(lake, rows(("a", 1, None), at=T + timedelta(hours=1), run_id="r2"), seq)
    page = rows(("a", 0, None), ("a", 1, None), ("a", 2, None), ("b", 0, "5"))
    assert new_keys(lake, page) == {("a", 2, None), ("b", 0, "5")}
    assert new_keys(lake, rows(("a", 0, "7"), ("a", 1, "5"))) == {("a", 0, "7"), ("a", 1, "5")}


def test_imports_and_the_rest_are_compared_apart(tmp_path: Path) -> None:
    lake, seq = Lake(tmp_path), itertools.count(1)
    land(lake, rows(("a", 0, "1"), source="import", run_id="i1"), seq)
    land(lake, rows(("a", 1, "1")), seq)
    page = rows(("a", 0, "1"), ("a", 1, "1"))
    assert new_keys(lake, page) == {("a", 0, "1")}  # a realtime re-read of an import lands
    imported = rows(("a", 0, "1"), ("a", 1, "1"), source="import", run_id="i2")
    assert new_keys(lake, imported, source_is_import=True) == {("a", 1, "1")}


def test_rows_of_other_keys_and_times_change_nothing(tmp_path: Path) -> None:
    lake, seq = Lake(tmp_path), itertools.count(1)
    # a day of one point landed, across a UTC midnight; the page asks about two minutes
    land(lake, rows(*((p, m, "1") for p in ("a", "b") for m in range(-721, 721, 7))), seq)
    land(lake, rows(("a", 14, "9"), at=T + timedelta(hours=1), run_id="r2"), seq)
    page = rows(("a", 14, "1"), ("a", 21, "1"), ("b", 21, "2"), ("c", 21, "1"))
    assert new_keys(lake, page) == {("a", 14, "1"), ("b", 21, "2"), ("c", 21, "1")}
    across = rows(("a", -714, "1"), ("b", 707, "1"), ("b", 708, "1"))
    assert new_keys(lake, across) == {("b", 708, "1")}


def test_nothing_landed_keeps_every_row(tmp_path: Path) -> None:
    page = rows(("a", 0, "1"), ("a", 0, "1"))
    assert new_keys(Lake(tmp_path), page) == {("a", 0, "1")}
    assert only_new(page, [], False).num_rows == 2
