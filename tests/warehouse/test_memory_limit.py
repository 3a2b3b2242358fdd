"""DUCKDB_MEMORY_LIMIT: the build's DuckDB memory limit (macro ace_memory_limit, an on-run-start
hook), checked by the settings before any work.

The same small lake is built three times: without the variable (DuckDB's default), under a
limit too small for any build (it must fail with DuckDB's out-of-memory error, which shows the
hook applied it), and under a comfortable limit, whose tables must equal the first build's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from extract.core.config import Settings
from extract.core.errors import ConfigError

from .harness import DbtFailed, build
from .landing import US, Lake, PointMeta, us
from .scenario import utc

pytestmark = pytest.mark.slow

SITE = "mem"
START = utc(2025, 11, 1)


def small_lake(root: Path) -> Lake:
    lake = Lake(root / "lake")
    at = START + timedelta(days=1, minutes=1)
    lake.write_sites([SITE], extracted_at=at, run_id="20251102T000100Z-meta00")
    lake.write_points(SITE, [PointMeta(SITE, f"ahu/p{i}", 60, "degC", i) for i in range(5)],
                      extracted_at=at, run_id="20251102T000100Z-meta00")
    rows = [(SITE, f"ahu/p{i}", us(START) + k * 60 * US, f"{k % 13}.25")
            for i in range(5) for k in range(1440)]
    lake.land(rows, source="realtime", extracted_at=at)
    return lake


def digest(path: Path) -> list[tuple[int, int]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [con.execute(f"select count(*), coalesce(sum(hash(t)), 0) from {t} as t").fetchone()
                for t in ("samples", "samples_5min", "samples_1d", "int_point_spacings")]  # type: ignore[misc]


def test_the_limit_applies_to_the_build(tmp_path: Path, dbt_target: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    lake = small_lake(tmp_path)
    vars = {"as_of": (START + timedelta(days=1)).isoformat()}
    monkeypatch.delenv("DUCKDB_MEMORY_LIMIT", raising=False)
    default = tmp_path / "default.duckdb"
    build(default, lake.root, vars, dbt_target)

    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "1MB")
    with pytest.raises(DbtFailed, match="(?i)out of memory"):
        build(tmp_path / "starved.duckdb", lake.root, vars, dbt_target)

    monkeypatch.setenv("DUCKDB_MEMORY_LIMIT", "2GB")
    limited = tmp_path / "limited.duckdb"
    build(limited, lake.root, vars, dbt_target)
    assert digest(limited) == digest(default)
    assert digest(default)[0][0] == 5 * 1440


@pytest.mark.parametrize("value", ["6 gigs", "80%", "GB"])
def test_a_mistyped_limit_is_one_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="DUCKDB_MEMORY_LIMIT"):
        Settings.from_env({"DUCKDB_MEMORY_LIMIT": value})


@pytest.mark.parametrize(("value", "kept"), [("", None), (" 12GiB ", "12GiB"), ("1.5GB", "1.5GB")])
def test_a_limit_is_read(value: str, kept: str | None) -> None:
    assert Settings.from_env({"DUCKDB_MEMORY_LIMIT": value}).build_memory == kept
