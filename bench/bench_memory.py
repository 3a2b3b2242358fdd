"""Build memory: a full refresh under several DuckDB memory limits (DUCKDB_MEMORY_LIMIT).

Generates the lake of ``bench_warehouse.py`` (``--points`` x ``--days``), then builds it from
scratch (``dbt run --full-refresh``) once per limit in ``--limits``, each into its own
warehouse file, in a fresh process whose peak RSS is read with ``wait4``. Prints per limit the
wall time, the peak RSS, the bytes spilled to ``<warehouse>.tmp/`` at its largest (sampled),
and checks that every build's tables are equal (row count, a sum of row hashes of the
columns other than doubles, and each double column's sum within 1e-9 relative): a limit
may make a build spill, never change its result.

    .venv/bin/python bench/bench_memory.py [--points 1000] [--days 3] [--limits 6GB,1GB,500MB]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_warehouse as bw  # noqa: E402
from _machine import describe, format_machine, save_results  # noqa: E402

TABLES = ("samples", "samples_5min", "samples_1h", "samples_1d", "int_point_holdings",
          "int_point_spacings", "point_gaps", "data_quality_daily")


def dir_bytes(root: Path) -> int:
    total = 0
    with contextlib.suppress(OSError):  # the spill directory or a file removed meanwhile
        for path in root.rglob("*"):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
    return total


def build(root: Path, lake: Path, project: Path, limit: str, as_of: datetime) -> dict[str, Any]:
    db = root / f"warehouse-{limit}.duckdb"
    target = root / f"target-{limit}"
    argv = [str(bw.DBT), "run", "--full-refresh", "--project-dir", str(project),
            "--profiles-dir", str(bw.REPO), "--target-path", str(target), "--threads", "1"]
    env = {**os.environ, **bw.QUIET_ENV, "LAKE_DIR": str(lake), "WAREHOUSE_PATH": str(db),
           "DUCKDB_MEMORY_LIMIT": limit,
           # one run time for every build: open gaps and unfinished days depend on it
           "DBT_ACE_AS_OF": as_of.isoformat()}
    spill = {"max": 0}
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            spill["max"] = max(spill["max"], dir_bytes(Path(f"{db}.tmp")))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    with open(root / f"dbt-{limit}.out", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(argv, cwd=bw.REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    watcher.join()
    out: dict[str, Any] = {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024,
                           "spilled_mb": spill["max"] / 1e6, "db": str(db), "failed": None}
    if os.waitstatus_to_exitcode(status) != 0:
        text = (root / f"dbt-{limit}.out").read_text(encoding="utf-8")
        model = re.search(r"Failure in model (\S+)", text)
        error = re.search(r"(Out of Memory Error|Runtime Error)[^\n]*", text)
        out["failed"] = (f"{model.group(1) if model else '?'}: "
                         f"{error.group(0) if error else text.splitlines()[-1]}")
    return out


def digests(db: str) -> dict[str, tuple[int, int, list[float]]]:
    """Per table: the row count, a sum of the hashes of the rows' columns other than doubles,
    and the sum of each double column (compared within 1e-9 relative: two builds' parallel
    sums differ in their last bits)."""
    with duckdb.connect(db, read_only=True) as con:
        out = {}
        for t in TABLES:
            kinds = con.execute("select column_name, data_type from duckdb_columns()"
                                " where table_name = ? order by column_index", [t]).fetchall()
            exact = [c for c, kind in kinds if kind != "DOUBLE"]
            doubles = [f"coalesce(sum({c}), 0)" for c, kind in kinds if kind == "DOUBLE"]
            row = con.execute(f"select count(*), coalesce(sum(hash({', '.join(exact)})), 0)"
                              f"{''.join(', ' + d for d in doubles)} from {t}").fetchone()
            assert row is not None
            out[t] = (int(row[0]), int(row[1]), [float(x) for x in row[2:]])
        return out


def same(a: tuple[int, int, list[float]], b: tuple[int, int, list[float]]) -> bool:
    return a[:2] == b[:2] and all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
                                  for x, y in zip(a[2], b[2], strict=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--limits", default="6GB,1GB,500MB")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    limits = [x.strip() for x in args.limits.split(",") if x.strip()]
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    project = bw.snapshot_project(root / "dbt_project")
    cat = bw.Catalogue(args.points)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    stats = bw.generate_lake(root / "lake", cat, end, args.days, workers=2)
    print(format_machine())
    print(f"lake: {args.points} points x {args.days} days, {stats.landed_rows:,} landed rows")
    results = {}
    for limit in limits:
        r = build(root, root / "lake", project, limit, end)
        results[limit] = r
        print(f"  {limit:>8}: wall {r['wall_s']:7.1f} s, peak RSS {r['peak_rss_mb']:8,.0f} MB, "
              f"spilled at most {r['spilled_mb']:8,.0f} MB"
              + (f"; FAILED in {r['failed']}" if r["failed"] else ""))
    built = [r for r in results.values() if not r["failed"]]
    reference = digests(built[0]["db"]) if built else None
    differing = sorted({t for r in built for t, d in digests(r["db"]).items()
                        if reference is not None and not same(d, reference[t])})
    equal = not differing
    print(f"tables equal under every limit that built ({len(built)} of {len(results)}): {equal}"
          + (f" (differing: {', '.join(differing)})" if differing else ""))
    save_results("memory", {
        "benchmark": "memory", "args": vars(args), "machine": describe(),
        "landed_rows": stats.landed_rows,
        "results": {k: {x: v for x, v in r.items() if x != "db"} for k, r in results.items()},
        "equal": equal})
    if not args.keep:
        import shutil
        shutil.rmtree(root, ignore_errors=True)
    return 0 if equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
