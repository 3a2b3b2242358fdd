"""The dbt project on Spark (docs/spark.md): building it with the ``spark`` target of
``profiles.yml`` (dbt-spark), and a DuckDB file of views over the Parquet tables Spark
wrote, so that analysts query them as they query the DuckDB warehouse.

Spark's tables are plain Parquet folders under ``<SPARK_WAREHOUSE_DIR>/<schema>.db/``; a
partitioned one has ``<column>=<value>/`` folders. The views read exactly that depth, so
the ``_temporary/`` folder of a write in progress is never read.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dbt import BuildResult, dbt_build

#: the schema of the spark target (profiles.yml)
SCHEMA = "ace"

#: the lake folders the spark target lists (Spark refuses to list a folder that is missing;
#: the extractor creates them as it lands the first file of each kind)
LAKE_FOLDERS = ("raw", "quarantine", "meta/points", "meta/sites")

#: columns that only Spark's tables have (its partitioning of samples, and the merge position
#: of a per-point table's site partition: docs/spark.md); DuckDB's tables do not have them,
#: so neither do the views
SPARK_ONLY = {"samples": ("ts_date",), "int_point_activity": ("merged_file_id",)}

_PARTITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=")


@dataclass
class Views:
    """What :func:`write_views` made: table -> columns, and the tables left out (why)."""

    path: Path
    tables: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        lines = [f"wrote {self.path}: {len(self.tables)} view(s) over Spark's tables"]
        lines += [f"  {name} ({len(cols)} columns)" for name, cols in self.tables.items()]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped.items()]
        return "\n".join(lines)


def spark_env(lake: Path, spark_warehouse: Path, metastore: Path) -> dict[str, str]:
    """The environment the spark target's profile reads (absolute paths: dbt may run
    anywhere)."""
    return {"LAKE_DIR": str(lake.resolve()),
            "SPARK_WAREHOUSE_DIR": str(spark_warehouse.resolve()),
            "SPARK_METASTORE_DIR": str(metastore.resolve())}


def build_spark(lake: Path, spark_warehouse: Path, metastore: Path,
                dbt_vars: dict[str, Any] | None = None, extra: list[str] | None = None,
                log: Path | None = None) -> BuildResult:
    """``dbt build --target spark`` over ``lake`` (session mode: Spark runs in this
    process's JVM child, one build at a time per metastore)."""
    for folder in LAKE_FOLDERS:
        (lake / folder).mkdir(parents=True, exist_ok=True)
    os.environ.update(spark_env(lake, spark_warehouse, metastore))
    return dbt_build(lake, dbt_vars, extra=["--target", "spark", *(extra or [])], log=log)


def _layout(table_dir: Path) -> tuple[list[str], str] | None:
    """(partition columns, glob) of a table folder, or None when it holds no Parquet file."""
    partitions: list[str] = []
    here = table_dir
    while True:
        subdirs = sorted(p for p in here.iterdir()
                         if p.is_dir() and not p.name.startswith(("_", ".")))
        named = [p for p in subdirs if _PARTITION.match(p.name)]
        if not named:
            break
        partitions.append(_PARTITION.match(named[0].name).group(1))  # type: ignore[union-attr]
        here = named[0]
    glob = "/".join([str(table_dir), *(f"{c}=*" for c in partitions), "*.parquet"])
    return (partitions, glob) if any(here.glob("*.parquet")) else None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_views(spark_warehouse: Path, out: Path, schema: str = SCHEMA) -> Views:
    """Write ``out``, a DuckDB file with one view per Parquet table of Spark's ``schema``
    (the columns DuckDB's tables have, in the same order where Spark moved partition
    columns last), and ``timeseries`` over ``samples`` (Spark has no cold tier: its
    ``samples`` holds the whole history). Replaces ``out`` in one rename."""
    import duckdb

    root = spark_warehouse / f"{schema}.db"
    if not root.is_dir():
        raise FileNotFoundError(f"no Spark schema {schema} at {root}: run build-spark first")
    result = Views(path=out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(tmp))
    try:
        for table_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            name = table_dir.name
            layout = _layout(table_dir)
            if layout is None:
                result.skipped[name] = "no Parquet file (an empty table, or a Spark view)"
                continue
            partitions, glob = layout
            scan = (f"read_parquet('{glob}', hive_partitioning = {str(bool(partitions)).lower()}"
                    + (", hive_types_autocast = false" if partitions else "") + ")")
            found = [r[0] for r in con.execute(f"describe select * from {scan}").fetchall()]
            hidden = SPARK_ONLY.get(name, ())
            kept = [c for c in partitions if c not in hidden]
            columns = kept + [c for c in found if c not in partitions and c not in hidden]
            con.execute(f"create view {_quote(name)} as select "
                        f"{', '.join(_quote(c) for c in columns)} from {scan}")
            result.tables[name] = columns
        if "samples" in result.tables:
            con.execute("create view timeseries as select * from samples")
            result.tables["timeseries"] = result.tables["samples"]
    finally:
        con.close()
    os.replace(tmp, out)
    return result
