"""The same dbt project on Spark (docs/spark.md): one lake built by DuckDB and by Spark
(dbt-spark in session mode, a real JVM) gives the same tables (samples, the file registry,
int_point_metadata, int_point_activity), after a first build, a 5-minute delta with a
changed points snapshot, a late backfill and import, and a run whose recorded positions
were lost (a crash between a table's write and its progress row).

The lake is the reference landing (tests/warehouse/scenario.py): the DST days of
America/New_York (a 25-hour local day on 2025-11-02) and March, every rule of the winner,
quarantined samples and a crash's leftover temporary file. Spark's tables are read
through the DuckDB views file ``python -m extract build-spark`` writes, which is what
analysts open; both engines are also compared with the independent truth.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest

from . import scenario
from .common import dbt_vars, expected
from .harness import SPECS, Spec, assert_same, build, read_table
from .landing import Lake
from .scenario import Landing, utc

pytestmark = pytest.mark.slow

REGISTRY = Spec("int_landed_files", ("file_path",),
                {"file_id": "int", "kind": "str", "site": "str", "partition_date": "date",
                 "run_id": "str"})
# the per-point tables ported to Spark (docs/spark.md, "What runs on Spark")
POINT_TABLES = (
    Spec("int_point_metadata", ("site", "point"),
         {"point_id": "int", "client": "str", "is_collect_enabled": "bool",
          "collect_interval_configured": "int", "collect_interval": "float",
          "point_type": "str", "unit": "str", "kv_tags": "json", "marker_tags": "json",
          "bacnet_data": "json", "collect_config": "json", "created_at": "ts",
          "updated_at": "ts", "extracted_at": "ts", "run_id": "str",
          "interval_changed_file_id": "int"}),
    Spec("int_point_activity", ("site", "point"),
         {"first_ts": "ts", "last_ts": "ts", "last_extracted_at": "ts", "n_landed": "int"}),
)


class Engines:
    """One lake, a DuckDB warehouse and a Spark warehouse built over it."""

    def __init__(self, root: Path, dbt_target: Path) -> None:
        self.root = root
        self.lake = Lake(root / "lake")
        self.cfg = scenario.config()
        self.duck = root / "warehouse.duckdb"
        self.views = root / "spark-views.duckdb"
        self.spark_dir = root / "spark-warehouse"
        self.dbt_target = dbt_target
        self.env = {**os.environ, "LAKE_DIR": str(self.lake.root),
                    "SPARK_WAREHOUSE_DIR": str(self.spark_dir),
                    "SPARK_METASTORE_DIR": str(root / "metastore_db"),
                    "DBT_TARGET_PATH": str(root / "spark-target"),
                    "DBT_LOG_PATH": str(root / "spark-logs")}

    def build(self) -> None:
        build(self.duck, self.lake.root, dbt_vars(self.cfg), self.dbt_target)
        done = subprocess.run(
            [sys.executable, "-m", "extract", "build-spark", "--views", str(self.views)],
            cwd=self.root, env=self.env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "built" in done.stdout and "samples" in done.stdout, done.stdout

    def assert_equal(self, label: str) -> None:
        """Spark's samples, file registry and per-point tables equal DuckDB's, and samples
        the truth."""
        truth = expected(self.lake, self.cfg)["samples"]
        assert truth, "the truth has rows"
        for spec in (SPECS["samples"], REGISTRY, *POINT_TABLES):
            duck = read_table(self.duck, spec)
            spark = read_table(self.views, spec)
            assert duck, f"{label}: DuckDB's {spec.table} has rows"
            assert_same(spec, duck, spark, label=f"{label}: Spark vs DuckDB: ")
        assert_same(SPECS["samples"], truth, read_table(self.views, SPECS["samples"]),
                    label=f"{label}: Spark vs truth: ")

    def spark_rows(self, sql: str) -> list[tuple[Any, ...]]:
        con = duckdb.connect(str(self.views), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, dbt_target: Path) -> Engines:
    return Engines(tmp_path_factory.mktemp("spark"), dbt_target)


def _phases() -> tuple[list[Landing], list[Landing], list[Landing]]:
    nov = scenario.nov_samples()
    fixes = scenario.overrides(nov)
    first = [Landing(scenario.mar_samples(), "realtime", utc(2025, 3, 11, 0, 5)),
             Landing(nov, "realtime", utc(2025, 11, 4, 6, 1))]
    # the next 5-minute run: a re-read of the last hours (some values changed)
    delta = fixes[:2]
    # days later: a backfill, imports and re-reads of older days, and a day 60 days back
    late = [*fixes[2:],
            Landing(scenario.late_samples(), "backfill", utc(2025, 11, 4, 13))]
    return first, delta, late


def test_first_build_delta_and_late_data_equal_on_both_engines(engines: Engines) -> None:
    first, delta, late = _phases()
    scenario.write_meta(engines.lake)
    scenario.land_all(engines.lake, first)
    scenario.extras(engines.lake)
    engines.build()
    engines.assert_equal("first build")
    # the DST day is there, whole: 25 local hours of New York on 2025-11-02
    ny_day = engines.spark_rows(
        "select count(distinct date_trunc('hour', ts)) from samples "
        "where site = 'ses_falls_city' and point = 'zone1/temp' "
        "and ts >= '2025-11-02 04:00:00+00' and ts < '2025-11-03 05:00:00+00'")
    assert ny_day == [(25,)]

    scenario.land_all(engines.lake, delta)
    # a site's points answer changed: one point's interval (the site's other points are
    # carried over on Spark, whose site partition is rewritten)
    changed = [replace(p, collect_interval=300) for p in scenario.POINTS
               if (p.site, p.point) == ("ses_falls_city", "chiller/kw")]
    engines.lake.write_points("ses_falls_city", changed, extracted_at=utc(2025, 11, 4, 6, 4),
                              run_id="20251104T060400Z-meta01")
    engines.build()
    engines.assert_equal("5-minute delta")
    assert engines.spark_rows(
        "select collect_interval, interval_changed_file_id is not null from int_point_metadata "
        "where site = 'ses_falls_city' and point = 'chiller/kw'") == [(300.0, True)]

    scenario.land_all(engines.lake, late)
    engines.build()
    engines.assert_equal("late backfill and imports")
    # an import beat a later realtime re-read, on Spark too
    assert engines.spark_rows(
        "select count(*) from samples where source = 'import'")[0][0] > 0


def _progress_files(progress: Path, model: str) -> list[Path]:
    """The Parquet files of Spark's model_progress holding a row of ``model`` (each
    recorded position is an insert of its own)."""
    con = duckdb.connect()
    try:
        return [p for p in progress.glob("*.parquet") if con.execute(
            "select count(*) from read_parquet(?) where model = ?", [str(p), model]
        ).fetchone()[0]]  # type: ignore[index]
    finally:
        con.close()


def test_progress_is_append_only_and_a_lost_position_repeats_work(engines: Engines) -> None:
    """Spark's model_progress only grows; losing its newest rows (a crash after a table
    was written, before its position was) makes the next run do the work again, with the
    same result and no duplicate: for samples (its partitions are computed again) and for
    the per-point tables (a landed file is not counted twice in int_point_activity)."""
    positions = engines.spark_rows(
        "select count(*), max(file_id) from model_progress where model = 'samples'")
    registered = engines.spark_rows("select max(file_id) from int_landed_files")
    assert positions[0][0] >= 3, "one row per build"
    assert positions[0][1] == registered[0][0]
    progress = engines.spark_dir / "ace.db" / "model_progress"
    lost = [max(_progress_files(progress, model), key=lambda p: p.stat().st_mtime_ns)
            for model in ("samples", "int_point_metadata", "int_point_activity")]
    # the late day's partitions, last written by the build whose position is lost
    late_day = engines.spark_dir / "ace.db" / "samples" / "site=ktm_plant" / (
        f"ts_date={scenario.LATE_DAY.isoformat()}")
    before = {p.name for p in late_day.glob("*.parquet")}
    assert before
    for newest in lost:
        newest.unlink()
        (progress / f".{newest.name}.crc").unlink(missing_ok=True)
    # and a new file lands meanwhile, so the repeated run has new work too
    scenario.land_all(engines.lake, [Landing(
        scenario.simple("ktm_plant", "zone1/temp", utc(2025, 11, 4, 6), utc(2025, 11, 4, 6, 20),
                        60, lambda rng, _t: f"{rng.uniform(20, 22):.2f}", 7),
        "realtime", utc(2025, 11, 4, 6, 25))])
    engines.build()
    engines.assert_equal("after a lost position")
    # the work was done again: the late day's partition was written anew
    after = {p.name for p in late_day.glob("*.parquet")}
    assert after and after.isdisjoint(before)


def test_views_file_has_duckdb_column_order_and_no_spark_only_column(engines: Engines) -> None:
    con = duckdb.connect(str(engines.views), read_only=True)
    try:
        samples = [r[0] for r in con.execute("describe samples").fetchall()]
        ts = [r[0] for r in con.execute("describe timeseries").fetchall()]
    finally:
        con.close()
    duck = duckdb.connect(str(engines.duck), read_only=True)
    try:
        expected_cols = [r[0] for r in duck.execute("describe samples").fetchall()]
    finally:
        duck.close()
    assert samples == expected_cols == ts
    assert "ts_date" not in samples
