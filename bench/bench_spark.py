"""The dbt project on DuckDB and on Spark, side by side (docs/spark.md).

    .venv/bin/python bench/bench_spark.py [--points 500] [--days 10] [--quick] [--keep]

One lake (bench_warehouse.py's generator: ``--points`` points of 1-minute samples, 100 per
site, 6-hour chunk files with overlapping re-reads; 500 x 10 days = 7.2 M samples) is
built by both engines, each dbt command a fresh process, one after the other:

1. full refresh of the models Spark has (``dbt run --full-refresh``; DuckDB with
   ``--select`` of the same models, so both do the same work; DuckDB's whole project is
   timed too, for scale);
2. a 5-minute delta (every point, 5 samples, one file per site) and ``dbt run``;
3. the two engines' ``samples`` compared: row count and an order-free checksum of every
   column (Spark's read through the views file ``build-spark`` writes).

``wall`` is the time around the dbt process; ``model work`` the models' summed
``execution_time`` (run_results.json); ``start-up`` the rest (for Spark: starting the JVM
and the session, 12-25 s). Figures go to ``bench/results/spark-<timestamp>.json`` with the
machine. No floor: the figures say when Spark pays (docs/spark.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from _machine import describe, format_machine, save_results  # noqa: E402
from bench_warehouse import Catalogue, generate_lake, land_delta  # noqa: E402

from extract.warehouse.spark import LAKE_FOLDERS, write_views  # noqa: E402

DBT = REPO / ".venv" / "bin" / "dbt"
END = datetime(2026, 1, 15, tzinfo=UTC)
CHECKSUM = ("select count(*), sum(hash(site, point, ts, value, value_raw, source, "
            "extracted_at, run_id)) from samples")


def spark_models(root: Path, env: dict[str, str]) -> list[str]:
    """The models the spark target builds (dbt ls), for DuckDB's --select."""
    out = subprocess.run(
        [str(DBT), "ls", "--resource-type", "model", "--output", "name", "--target", "spark",
         "--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO),
         "--target-path", str(root / "ls-target"), "--quiet"],
        env=env, capture_output=True, text=True, check=True)
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def dbt_run(case: str, root: Path, env: dict[str, str], target: str, *extra: str,
            ) -> dict[str, Any]:
    tpath = root / f"target-{target}"
    argv = [str(DBT), "run", "--target", target, "--project-dir", str(REPO / "dbt_project"),
            "--profiles-dir", str(REPO), "--target-path", str(tpath), "--log-path",
            str(tpath / "logs"), *extra]
    (tpath / "run_results.json").unlink(missing_ok=True)
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{case}: dbt failed\n" + "\n".join(done.stdout.splitlines()[-30:]))
    results = json.loads((tpath / "run_results.json").read_text())["results"]
    models = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 2) for r in results
              if r["unique_id"].startswith("model.")}
    work = sum(models.values())
    row = {"case": case, "engine": "spark" if target == "spark" else "duckdb",
           "wall_s": round(wall, 2), "model_work_s": round(work, 2),
           "startup_s": round(wall - work, 2), "models": models}
    print(f"  {case:<34} {row['engine']:<7} wall {wall:7.1f} s  model work {work:7.1f} s  "
          f"start-up {wall - work:5.1f} s", flush=True)
    return row


def checksum(path: Path) -> tuple[Any, ...]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return tuple(con.execute(CHECKSUM).fetchone() or ())
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="100 points x 2 days")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.days = 100, 2
    print(format_machine())
    root = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    lake = root / "lake"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "LAKE_DIR": str(lake),
           "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
           "SPARK_WAREHOUSE_DIR": str(root / "spark-warehouse"),
           "SPARK_METASTORE_DIR": str(root / "metastore_db")}
    try:
        cat = Catalogue(args.points)
        st = generate_lake(lake, cat, END, args.days, workers=2)
        for folder in LAKE_FOLDERS:
            (lake / folder).mkdir(parents=True, exist_ok=True)
        print(f"lake: {st.landed_rows:,} landed rows in {st.files:,} files "
              f"({st.bytes / 1e6:.0f} MB), {args.points} points x {args.days} days")
        select = ["--select", *spark_models(root, env)]
        rows = [
            dbt_run("full refresh, Spark's models", root, env, "dev", "--full-refresh", *select),
            dbt_run("full refresh, Spark's models", root, env, "spark", "--full-refresh"),
        ]
        land_delta(lake, cat, END, END + timedelta(minutes=6))
        rows += [dbt_run("5-minute delta", root, env, "dev", *select),
                 dbt_run("5-minute delta", root, env, "spark")]
        views = root / "spark-views.duckdb"
        write_views(root / "spark-warehouse", views)
        duck_sum, spark_sum = checksum(root / "warehouse.duckdb"), checksum(views)
        equal = duck_sum == spark_sum
        print(f"samples: DuckDB {duck_sum[0]:,} rows, Spark {spark_sum[0]:,} rows; "
              f"checksums {'equal' if equal else 'DIFFER'}")
        (root / "warehouse.duckdb").unlink()
        rows.append(dbt_run("full refresh, whole project", root, env, "dev", "--full-refresh"))
        by = {(r["case"], r["engine"]): r for r in rows}
        ratios = {case: round(by[(case, "spark")]["wall_s"] / by[(case, "duckdb")]["wall_s"], 2)
                  for case in ("full refresh, Spark's models", "5-minute delta")}
        for case, ratio in ratios.items():
            print(f"Spark / DuckDB wall, {case}: {ratio}x")
        save_results("spark", {"machine": describe(), "points": args.points,
                               "days": args.days, "landed_rows": st.landed_rows,
                               "files": st.files, "runs": rows, "wall_ratio": ratios,
                               "samples_equal": equal, "samples_rows": duck_sum[0]})
        return 0 if equal else 1
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
