"""The lake's sizes as ``status`` reads them (extract/landing/usage.py): the writers'
per-partition summaries plus a listing of what changed since equal a listing of every
file, whatever changed after a summary was written; settled, unchanged partitions are not
listed again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.core.schema import QUARANTINE_SCHEMA, RAW_SCHEMA
from extract.landing import usage
from extract.ops.status.collect import collect_status

HOUR_NS = 3600 * 10**9


def _write(path: Path, rows: int, schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {f.name: pa.array(["x"] * rows, f.type) if pa.types.is_string(f.type)
            else pa.nulls(rows, f.type) for f in schema}
    pq.write_table(pa.table(cols, schema=schema), path)


def _age(directory: Path, hours: float) -> None:
    """Set the directory's modification time ``hours`` back, as if written then."""
    t = time.time_ns() - int(hours * HOUR_NS)
    os.utime(directory, ns=(t, t))


def _truth(root: Path, rows: bool) -> usage.Usage:
    """Every visible Parquet file under ``root``, listed directly."""
    out = usage.Usage()
    for p in root.rglob("*.parquet"):
        if p.name.startswith("."):
            continue
        out.files += 1
        out.bytes += p.stat().st_size
        out.rows += pq.read_metadata(p).num_rows if rows else 0
    return out


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    lake = tmp_path / "lake"
    for site in ("north", "south"):
        for d, n in (("2025-10-01", 3), ("2025-10-02", 2), ("2025-10-03", 2)):
            for k in range(n):
                _write(lake / "raw" / f"site={site}" / f"date={d}" / f"r{k}.parquet", 5 + k,
                       RAW_SCHEMA)
            _write(lake / "quarantine" / f"site={site}" / f"date={d}" / "q.parquet", 2,
                   QUARANTINE_SCHEMA)
        (lake / "raw" / f"site={site}" / "date=2025-10-01" / ".r9.parquet.tmp").write_bytes(b"x")
        (lake / "raw" / f"site={site}" / "date=2025-10-01" / "notes.txt").write_text("x")
    for kind in usage.KINDS:
        for site_dir in (lake / kind).iterdir():
            _age(site_dir / "date=2025-10-01", 48)
            _age(site_dir / "date=2025-10-02", 24)  # 2025-10-03: just written
    return lake


def _refresh_all(lake: Path) -> None:
    for kind in usage.KINDS:
        for site_dir in (lake / kind).iterdir():
            usage.refresh(lake, kind, site_dir.name)


def _listed(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = usage.list_tree

    def spy(root: Path | str, rows: bool) -> tuple[usage.Usage, bool]:
        seen.append(Path(root))
        return real(root, rows)

    monkeypatch.setattr(usage, "list_tree", spy)
    return seen


def test_summaries_record_settled_partitions_and_add_up_to_a_full_listing(
        lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _refresh_all(lake)
    summary = usage._read_summary(usage.summary_path(lake, "raw", "site=north"))
    assert sorted(summary) == ["date=2025-10-01", "date=2025-10-02"]  # not the fresh one
    assert summary["date=2025-10-01"]["files"] == 3
    listed = _listed(monkeypatch)
    for kind, rows in (("raw", False), ("quarantine", True)):
        assert usage.tree_usage(lake, kind) == _truth(lake / kind, rows)
    # only the partitions being written were listed
    assert sorted({p.name for p in listed}) == ["date=2025-10-03"]
    assert len(listed) == 4  # 2 sites x (raw, quarantine)


def test_changes_after_the_summary_are_seen(lake: Path) -> None:
    _refresh_all(lake)
    north = lake / "raw" / "site=north"
    _write(north / "date=2025-10-01" / "late.parquet", 50, RAW_SCHEMA)  # a backfill
    (north / "date=2025-10-02" / "r0.parquet").unlink()  # the retention
    _write(lake / "raw" / "site=east" / "date=2025-10-02" / "r0.parquet", 3, RAW_SCHEMA)
    bad = lake / "quarantine" / "site=south" / "date=2025-10-01"
    os.replace(bad / "q.parquet", lake / "q-set-aside.parquet")  # a damaged file moved out
    _write(lake / "raw" / "stray.parquet", 1, RAW_SCHEMA)  # outside any partition
    assert usage.tree_usage(lake, "raw") == _truth(lake / "raw", False)
    assert usage.tree_usage(lake, "quarantine") == _truth(lake / "quarantine", True)
    _refresh_all(lake)  # the next sync: still equal
    assert usage.tree_usage(lake, "raw") == _truth(lake / "raw", False)


def test_a_summary_that_does_not_match_the_directory_is_not_trusted(lake: Path) -> None:
    _refresh_all(lake)
    path = usage.summary_path(lake, "raw", "site=north")
    doc = usage._read_summary(path)
    entry = doc["date=2025-10-01"]
    # listed too soon after its last change: the kernel's coarse clock could hide one
    doc["date=2025-10-01"] = {**entry, "files": 99, "listed_ns": entry["mtime_ns"] + 1}
    doc["date=2025-10-02"] = {**doc["date=2025-10-02"], "files": 99, "mtime_ns": 1}
    usage.atomic_write_json(path, {"dirs": doc})
    assert usage.tree_usage(lake, "raw") == _truth(lake / "raw", False)
    path.write_text("{truncated")
    assert usage.tree_usage(lake, "raw") == _truth(lake / "raw", False)


def test_a_committed_landing_refreshes_its_site_and_status_reports_the_truth(
        lake: Path) -> None:
    committed = [lake / "raw" / "site=north" / "date=2025-10-03" / "r0.parquet",
                 lake / "quarantine" / "site=south" / "date=2025-10-03" / "q.parquet"]
    usage.refresh_committed(lake, committed)
    assert usage.summary_path(lake, "raw", "site=north").exists()
    assert usage.summary_path(lake, "quarantine", "site=south").exists()
    assert not usage.summary_path(lake, "raw", "site=south").exists()
    st = collect_status(lake, warehouse=lake / "none.duckdb", published_dir=lake / "none")
    raw, bad = _truth(lake / "raw", False), _truth(lake / "quarantine", True)
    assert (st.tiers.raw.files, st.tiers.raw.bytes) == (raw.files, raw.bytes)
    assert (st.tiers.quarantine.files, st.tiers.quarantine.bytes,
            st.tiers.quarantine.rows) == (bad.files, bad.bytes, bad.rows)
