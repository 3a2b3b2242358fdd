"""An operator's mistakes get one clear line before any work: a lake that cannot be
written, a mistyped flag (named with its subcommand's usage), a bad ACE_HOT_DAYS; and a
publish killed mid-copy leaves nothing that the next publish does not clean up."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extract.core.config import Settings
from extract.core.errors import ConfigError
from extract.warehouse.publish import publish

REPO = Path(__file__).resolve().parent.parent


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e.update(env)
    return subprocess.run([sys.executable, "-m", "extract", *args], cwd=REPO, env=e,
                          capture_output=True, text=True, timeout=120)


def test_a_lake_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where the lake's parent should be")
    lake = blocker / "lake"
    for args in (["sync"], ["backfill", "--site", "s", "--start", "2026-11-01T00:00:00Z", "--end",
                            "2026-11-02T00:00:00Z"], ["run", "--skip-dbt"]):
        r = cli(args, LAKE_DIR=str(lake), ACE_API_URL="http://127.0.0.1:9", ACE_API_KEY="k")
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip().splitlines() == [
            f"error: LAKE_DIR {lake} cannot be written: Not a directory"], (args, r.stderr)
        assert r.stdout == ""


def test_a_read_only_lake_is_refused_before_any_work(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(self: Path, data: bytes) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    monkeypatch.setattr(Path, "write_bytes", read_only)
    settings = Settings(lake=tmp_path / "lake")
    with pytest.raises(ConfigError) as e:
        settings.require_writable_lake()
    assert str(e.value) == f"LAKE_DIR {tmp_path / 'lake'} cannot be written: Read-only file system"


def test_a_mistyped_flag_names_its_subcommand(tmp_path: Path) -> None:
    r = cli(["sync", "--untill", "2026-11-01T00:00:00Z"], LAKE_DIR=str(tmp_path / "lake"))
    assert r.returncode == 2
    assert r.stderr.startswith("usage: python -m extract sync "), r.stderr
    assert r.stderr.strip().endswith(
        "python -m extract sync: error: unrecognized arguments: --untill "
        "2026-11-01T00:00:00Z"), r.stderr
    assert not (tmp_path / "lake").exists()


def test_hot_days_zero_is_refused_before_the_sync(tmp_path: Path) -> None:
    r = cli(["run"], LAKE_DIR=str(tmp_path / "lake"), ACE_HOT_DAYS="0")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "ACE_HOT_DAYS" in r.stderr, r.stderr
    assert not (tmp_path / "lake").exists()


def test_publish_removes_what_a_killed_publish_left(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table t as select range as x from range(1000)")
    con.close()
    published = tmp_path / "published"
    published.mkdir()
    stale = published / ".warehouse-20261202T000000.000000Z-abcdef.duckdb.tmp"
    stale.write_bytes(os.urandom(4096))  # a copy cut short by kill -9
    out = publish(warehouse, "20261202T000500.000000Z-123456", published)
    assert not stale.exists()
    assert sorted(p.name for p in published.iterdir()) == [
        "current.duckdb", "warehouse-20261202T000500.000000Z-123456.duckdb"]
    reader = duckdb.connect(str(out.path), read_only=True)
    try:
        assert reader.execute("select count(*), sum(x) from t").fetchone() == (1000, 499500)
    finally:
        reader.close()
