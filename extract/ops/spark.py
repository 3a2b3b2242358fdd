"""``python -m extract build-spark`` and ``spark-views``: the dbt project on Spark
(warehouse/spark.py does the work; docs/spark.md says when and how)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..core.config import Settings
from ..core.errors import ConfigError
from ..warehouse.spark import build_spark, write_views

BUILD_HELP = "build the dbt project on Spark (the spark target of profiles.yml)"
VIEWS_HELP = "write a DuckDB file of views over Spark's tables, for analysts"
DEFAULT_VIEWS = Path("spark-views.duckdb")


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "build-spark", help=BUILD_HELP,
        description=BUILD_HELP + ": dbt build --target spark over LAKE_DIR, with tables under "
        "SPARK_WAREHOUSE_DIR (default spark-warehouse) and the metastore in "
        "SPARK_METASTORE_DIR (default metastore_db), then the views file (--views). Needs "
        "pyspark and dbt-spark (installed by make setup) and Java 17. docs/spark.md.")
    p.add_argument("--full-refresh", action="store_true",
                   help="rebuild every incremental table from the lake")
    p.add_argument("--views", type=Path, default=DEFAULT_VIEWS, metavar="PATH",
                   help=f"the DuckDB views file written after the build (default {DEFAULT_VIEWS})")
    p = sub.add_parser("spark-views", help=VIEWS_HELP, description=VIEWS_HELP + (
        " (one view per Parquet table under SPARK_WAREHOUSE_DIR/ace.db, and timeseries), "
        "without building; open it with duckdb PATH. docs/spark.md."))
    p.add_argument("--out", type=Path, default=DEFAULT_VIEWS, metavar="PATH",
                   help=f"the file to write (default {DEFAULT_VIEWS})")


def _build(args: argparse.Namespace) -> int:
    s = Settings.from_env()
    s.require_writable_lake()
    extra = ["--full-refresh"] if args.full_refresh else []
    log = (s.dbt_log_dir or Path("logs")) / "spark" / "dbt.log"
    result = build_spark(s.lake, s.spark_warehouse, s.spark_metastore, s.dbt_vars, extra, log)
    if not result.ok or result.failed_models or result.count("fail") or result.count("error"):
        detail = result.error or "; ".join(result.messages[:1]) or ", ".join(
            result.failed_models + result.tests.get("fail", []) + result.tests.get("error", []))
        print(f"error: the Spark build failed ({detail}); see {log}")
        return 1
    print(f"built {result.models} model(s) on Spark, {result.count('pass')} test(s) passed; "
          f"log {log}")
    return _views(s, args.views)


def _views(s: Settings, out: Path) -> int:
    try:
        print(write_views(s.spark_warehouse, out).render())
    except FileNotFoundError as e:
        raise ConfigError(str(e)) from None
    return 0


def handlers() -> dict[str, Callable[[argparse.Namespace], int]]:
    return {"build-spark": _build,
            "spark-views": lambda a: _views(Settings.from_env(), a.out)}
