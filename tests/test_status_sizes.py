"""``status`` takes the tables' sizes from the record the publish writes into the snapshot
(extract/warehouse/tablesizes.py) instead of measuring every storage segment on each call:
the recorded figures equal a direct measurement of the file, a table changed after the
publish is reported "as of" the record, and a file without a record is measured."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.ops.status import collect_status
from extract.ops.status import tables as status_tables
from extract.ops.status.render import render
from extract.warehouse import tablesizes
from extract.warehouse.publish import publish

T0 = datetime(2025, 10, 12, 12, 0, tzinfo=UTC)


def _build(path: Path, minutes: int, points: int = 50) -> None:
    """A warehouse with a few tables of the marts' shapes, ``samples`` over row groups."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create table if not exists samples (site varchar, point varchar, "
                    "ts timestamptz, value double)")
        con.execute("create table if not exists points (site varchar, point varchar, "
                    "last_sample_ts timestamptz)")
        con.execute("create table if not exists cold_state (cold_until timestamptz)")
        con.execute("delete from points")
        con.execute("delete from cold_state")
        con.execute(f"""
            insert into samples
            select 'north', 'p' || (i % {points}),
                   timestamptz '2025-10-12 00:00:00+00' + to_minutes((i // {points})::bigint),
                   (i * 7919 % 1000) / 10.0
            from range((select count(*) from samples), {minutes * points}) t(i)""")
        con.execute("insert into points select site, point, max(ts) from samples group by all")
        con.execute("insert into cold_state values (timestamptz '2025-09-01 00:00:00+00')")
        con.execute("checkpoint")
    finally:
        con.close()


def _truth(path: Path) -> dict[str, tuple[int, int]]:
    """Rows and block bytes of every table, measured directly on the file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        (block_size,) = con.execute("select block_size from pragma_database_size()"
                                    ).fetchone() or (0,)
        out = {}
        for (name,) in con.execute("select table_name from duckdb_tables() "
                                   "where schema_name = 'main'").fetchall():
            (rows,) = con.execute(f"select count(*) from {name}").fetchone() or (0,)
            blocks = {b for (b,) in con.execute(
                "select block_id from pragma_storage_info(?) where persistent "
                "and block_id >= 0", [name]).fetchall()}
            out[name] = (int(rows), len(blocks) * int(block_size))
        return out
    finally:
        con.close()


def _sizes(st: object) -> dict[str, tuple[int, int | None]]:
    return {t.name: (t.rows, t.approx_bytes) for t in st.warehouse.tables}  # type: ignore[attr-defined]


def test_recorded_sizes_equal_a_direct_measurement_and_are_not_measured_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh, pub, lake = tmp_path / "warehouse.duckdb", tmp_path / "published", tmp_path / "lake"
    _build(wh, minutes=6000)  # 300,000 samples: three row groups
    snapshot = publish(wh, "20251012T120000.000000Z-aaaaaa", pub).path

    def no_measuring(*_a: object, **_k: object) -> None:
        raise AssertionError("status measured a table that the publish recorded")

    monkeypatch.setattr(status_tables.tablesizes, "measure", no_measuring)
    st = collect_status(lake, published_dir=pub, build_warehouse=wh, now=T0)
    assert st.warehouse.path == snapshot and st.warehouse.error is None
    truth = _truth(snapshot)
    assert _sizes(st) == truth and truth["samples"] == (300_000, truth["samples"][1])
    assert truth["samples"][1] >= 2 * 262_144  # more than one block: a real measurement
    sizes = st.warehouse.sizes
    assert sizes.source == "recorded" and sizes.changed_since == []
    assert sizes.measured_at is not None
    assert abs(datetime.now(UTC) - sizes.measured_at) < timedelta(minutes=5)
    assert all(t.approx_bytes_as_of is None for t in st.warehouse.tables)
    doc = st.to_dict()["warehouse"]
    assert doc["sizes"]["source"] == "recorded"
    assert {tuple(sorted(t)) for t in doc["tables"]} == {
        ("approx_bytes", "approx_bytes_as_of", "name", "rows")}
    assert "sizes:" not in render(st)


def test_a_table_changed_after_the_publish_is_reported_as_of_the_record(
        tmp_path: Path) -> None:
    wh, pub, lake = tmp_path / "warehouse.duckdb", tmp_path / "published", tmp_path / "lake"
    _build(wh, minutes=3000)
    snapshot = publish(wh, "20251012T120000.000000Z-aaaaaa", pub).path
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(snapshot, copy)
    before = _truth(copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("insert into samples select site, point, ts + interval 10 day, value "
                    "from samples")
        con.execute("checkpoint")
    finally:
        con.close()
    st = collect_status(lake, warehouse=copy, published_dir=pub, now=T0)
    sizes = st.warehouse.sizes
    assert sizes.source == "recorded" and sizes.changed_since == ["samples"]
    by_name = {t.name: t for t in st.warehouse.tables}
    now_truth = _truth(copy)
    # the rows are now's; the size is the record's, flagged with the record's instant
    assert by_name["samples"].rows == now_truth["samples"][0] == 2 * before["samples"][0]
    assert by_name["samples"].approx_bytes == before["samples"][1]
    assert by_name["samples"].approx_bytes_as_of == sizes.measured_at
    for name in ("points", "cold_state"):
        assert (by_name[name].rows, by_name[name].approx_bytes) == now_truth[name]
        assert by_name[name].approx_bytes_as_of is None
    text = render(st)
    assert f"sizes: as of {sizes.measured_at:%Y-%m-%d %H:%M:%S}Z" in text
    assert "for samples: changed since" in text


def test_a_file_without_a_record_is_measured(tmp_path: Path) -> None:
    wh = tmp_path / "warehouse.duckdb"
    _build(wh, minutes=3000)
    st = collect_status(tmp_path / "lake", warehouse=wh, published_dir=tmp_path / "none",
                        now=T0)
    assert st.warehouse.sizes.source == "measured"
    assert st.warehouse.sizes.measured_at is None and st.warehouse.sizes.changed_since == []
    assert _sizes(st) == _truth(wh)


def test_a_patched_snapshot_records_its_own_sizes(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish that patches a retired snapshot whose record is due measures the patched
    file, not the warehouse (their storage differs)."""
    monkeypatch.setattr(tablesizes, "RECORD_EVERY", timedelta(0))
    wh, pub, lake = tmp_path / "warehouse.duckdb", tmp_path / "published", tmp_path / "lake"
    published = []
    for i, minutes in enumerate((3000, 3100, 3200)):
        _build(wh, minutes=minutes)
        published.append(publish(wh, f"20251012T12000{i}.000000Z-aaaaaa", pub, keep=2))
    assert published[-1].mode == "patch"
    st = collect_status(lake, published_dir=pub, build_warehouse=wh, now=T0)
    assert st.warehouse.path == published[-1].path
    assert st.warehouse.sizes.source == "recorded" and st.warehouse.sizes.changed_since == []
    assert _sizes(st) == _truth(published[-1].path)


def test_a_patch_within_the_hour_keeps_the_record(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A retired snapshot's record younger than RECORD_EVERY is kept by the patch, without
    measuring: status reports the tables the patch changed "as of" that record."""
    wh, pub, lake = tmp_path / "warehouse.duckdb", tmp_path / "published", tmp_path / "lake"
    published = []
    for i, minutes in enumerate((3000, 3100)):
        _build(wh, minutes=minutes)
        published.append(publish(wh, f"20251012T12000{i}.000000Z-aaaaaa", pub, keep=2))
    first = _truth(published[0].path)

    def no_measuring(*_a: object, **_k: object) -> None:
        raise AssertionError("the publish measured a snapshot whose record is fresh")

    monkeypatch.setattr(tablesizes, "measure", no_measuring)
    _build(wh, minutes=3200)
    patched = publish(wh, "20251012T120002.000000Z-aaaaaa", pub, keep=2)
    assert patched.mode == "patch" and patched.path.name != published[1].path.name
    monkeypatch.undo()
    st = collect_status(lake, published_dir=pub, build_warehouse=wh, now=T0)
    assert st.warehouse.path == patched.path
    sizes = st.warehouse.sizes
    assert sizes.source == "recorded" and "samples" in sizes.changed_since
    by_name = {t.name: t for t in st.warehouse.tables}
    assert by_name["samples"].rows == _truth(patched.path)["samples"][0] == 3200 * 50
    assert by_name["samples"].approx_bytes == first["samples"][1]
    assert by_name["samples"].approx_bytes_as_of == sizes.measured_at
