"""Publishing benchmark: bytes written per publish, the full copy vs patching a retired
snapshot, side by side on the same warehouse in one run, and analysts' queries on each.

    .venv/bin/python bench/bench_publish.py [--points 500] [--days 30] [--rounds 4] [--check]
    .venv/bin/python bench/bench_publish.py --quick      # 100 points, 2 rounds

What it does (bench/README.md, "Publishing: bench_publish.py"):

1. generates the ``--days``-day lake of bench_warehouse.py (``--points`` points, 1-minute
   samples), builds the warehouse (``dbt run --full-refresh``) and moves the raw samples
   older than ``--hot-days`` to the cold tier, as bench_queries.py does;
2. publishes it into two directories: ``copy/`` always with a full copy (what publishing
   did before: ``publish(..., copy=True)``) and ``patch/`` as the main job does now (the
   first three are full copies, the pool of ``keep`` snapshots);
3. ``--rounds`` rounds, each: a 5-minute realtime delta landed, ``dbt run``, then publish
   to both directories; then one late round (a point's whole day 5 days back, backfilled,
   ``dbt run``) and one cold-tier round (the move run a day later, so a day of ``samples``
   is deleted and the tier's view and macro change), each published to both;
4. per publish: bytes written (``write_bytes`` of /proc/self/io around the call: what this
   process sent to the page cache, the file, its WAL and DuckDB's temp files), as a share
   of the warehouse file's size, wall time, rows written; the patched snapshot is checked
   equal to the warehouse table by table (count and a sum of row hashes): the benchmark
   fails if not;
5. analysts' queries on each directory's ``current.duckdb`` (one read-only session each):
   one point one day from ``samples`` (hot), the same from ``timeseries`` (a cold day),
   ``series()`` over the whole history; p50 of ``--runs``.

Floor (``--check``): the patch writes at most 5 % of the warehouse's bytes on every 5-minute
round; queries on the patched snapshot at most 1.5x the full copy's p50 (noise allowance).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
from _machine import describe, format_machine, save_results  # noqa: E402
from bench_warehouse import (  # noqa: E402
    ZONES,
    Catalogue,
    Warehouse,
    generate_lake,
    land_delta,
    land_late,
    site_name,
    snapshot_project,
)

from extract.warehouse.publish import Published, publish  # noqa: E402
from extract.warehouse.tiers import move_to_cold  # noqa: E402

FLOOR_SHARE = 0.05
FLOOR_QUERY = 1.5


def written_bytes() -> int:
    """Bytes this process has caused to be written (Linux /proc/self/io)."""
    with open("/proc/self/io", encoding="ascii") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def measured(call: Callable[[], Published]) -> tuple[Published, int, float]:
    os.sync()
    b0, t0 = written_bytes(), time.perf_counter()
    out = call()
    return out, written_bytes() - b0, time.perf_counter() - t0


def table_sums(path: Path) -> dict[str, tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (t,) in con.execute("select table_name from duckdb_tables() where "
                                "database_name = current_database() and schema_name = 'main'"
                                ).fetchall():
            cols = ", ".join(f'"{r[0]}"' for r in con.execute(
                "select column_name from duckdb_columns() where database_name = "
                "current_database() and schema_name = 'main' and table_name = ? "
                "order by column_index", [t]).fetchall())
            out[t] = tuple(con.execute(f'select count(*), sum(hash({cols})) from "{t}"'
                                       ).fetchone() or ())
        return out
    finally:
        con.close()


def p50_ms(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any], runs: int) -> float:
    con.execute(sql, params).fetch_arrow_table()
    lat = []
    for _ in range(runs):
        t = time.perf_counter()
        con.execute(sql, params).fetch_arrow_table()
        lat.append(time.perf_counter() - t)
    return statistics.median(lat) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=500, help="points, 100 per site (500)")
    ap.add_argument("--days", type=int, default=30, help="days of history (30)")
    ap.add_argument("--hot-days", type=int, default=20, help="hot_days of the move (20)")
    ap.add_argument("--rounds", type=int, default=4, help="5-minute rounds (4)")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per query (20)")
    ap.add_argument("--quick", action="store_true", help="100 points, 2 rounds, 10 runs")
    ap.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--workdir", help="parent of the temp work dir (default: system temp)")
    args = ap.parse_args(argv)
    if args.quick:
        args.points, args.rounds, args.runs = 100, 2, 10
    machine = describe()
    print(format_machine(machine), flush=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    cat = Catalogue(args.points)
    zones = {site_name(s): ZONES[s % len(ZONES)] for s in range(cat.sites)}
    vars_json = json.dumps({"site_timezones": zones}, sort_keys=True)
    work = Path(tempfile.mkdtemp(prefix="bench-publish-", dir=args.workdir))
    rows: list[dict[str, Any]] = []
    try:
        project = snapshot_project(work / "dbt_project")
        wh = Warehouse(work / "wh", project, args.days, vars_json, 0, 0.0, 0)
        wh.lake.mkdir(parents=True)
        st = generate_lake(wh.lake, cat, end, args.days, workers=2)
        print(f"lake: {st.landed_rows:,} landed rows in {st.files} files", flush=True)
        build = wh.dbt("full refresh", "run", st.landed_rows, "--full-refresh")
        print(f"warehouse built in {build.wall_s:.1f}s", flush=True)
        move_to_cold(wh.db, wh.lake, args.hot_days, end)
        dirs = {"copy": work / "copy", "patch": work / "patch"}
        for i in range(3):
            for design, d in dirs.items():
                publish(wh.db, f"{end:%Y%m%dT%H%M%S}.000000Z-init{i}", d, copy=design == "copy")

        def publish_both(case: str, tag: str) -> None:
            size = wh.db.stat().st_size
            row: dict[str, Any] = {"case": case, "warehouse_bytes": size}
            for design, d in dirs.items():
                out, written, secs = measured(lambda d=d, design=design: publish(
                    wh.db, tag, d, copy=design == "copy"))
                row[design] = {"mode": out.mode, "written_bytes": written,
                               "share": written / size, "seconds": secs,
                               "rows_written": out.rows_written,
                               "snapshot_bytes": out.bytes}
            if table_sums(wh.db) != table_sums(dirs["patch"] / "current.duckdb"):
                raise SystemExit(f"{case}: the patched snapshot differs from the warehouse")
            rows.append(row)
            c, p = row["copy"], row["patch"]
            print(f"{case:16} copy {c['written_bytes'] / 1e6:8.1f} MB {c['seconds']:6.2f}s | "
                  f"{p['mode']} {p['written_bytes'] / 1e6:8.1f} MB ({p['share']:.2%}) "
                  f"{p['seconds']:6.2f}s {p['rows_written']:,} rows", flush=True)

        t = end
        for k in range(args.rounds):
            land_delta(wh.lake, cat, t, t + timedelta(minutes=5, seconds=60))
            wh.dbt(f"delta {k + 1}", "run", args.points * 5)
            t += timedelta(minutes=5)
            publish_both(f"5-minute delta {k + 1}", f"{t:%Y%m%dT%H%M%S}.000000Z-delta{k}")
        day = (end - timedelta(days=5)).replace(hour=0)
        land_late(wh.lake, cat, 7, day, t + timedelta(minutes=1))
        wh.dbt("late day", "run", 1440)
        publish_both("late day", f"{t:%Y%m%dT%H%M%S}.500000Z-late")
        move_to_cold(wh.db, wh.lake, args.hot_days, end + timedelta(days=1))
        publish_both("cold-tier move", f"{t:%Y%m%dT%H%M%S}.900000Z-cold")

        con = duckdb.connect(str(wh.db), read_only=True)
        site, point = site_name(0), Catalogue.point_name(3)
        hot_day = (end - timedelta(days=3)).replace(hour=0)
        cold_day = (end - timedelta(days=args.hot_days + 3)).replace(hour=0)
        con.close()
        queries = [
            ("samples: one point one hot day",
             "select ts, value from samples where site = ? and point = ? and ts >= ? "
             "and ts < ? order by ts", [site, point, hot_day, hot_day + timedelta(days=1)]),
            ("timeseries: one point one cold day",
             "select ts, value from timeseries where site = ? and point = ? and ts >= ? "
             "and ts < ? order by ts", [site, point, cold_day, cold_day + timedelta(days=1)]),
            ("series(): one point, all days",
             "select * from series(?, ?, ?, ?)",
             [site, point, end - timedelta(days=args.days), end]),
        ]
        qrows = []
        sessions = {d: duckdb.connect(str(p / "current.duckdb"), read_only=True)
                    for d, p in dirs.items()}
        for name, sql, params in queries:
            r = {"query": name}
            for design, c in sessions.items():
                r[design] = p50_ms(c, sql, params, args.runs)
            r["ratio"] = r["patch"] / r["copy"]
            qrows.append(r)
        for c in sessions.values():
            c.close()
    finally:
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.points} points x {args.days} days ({st.landed_rows:,} landed rows), "
          f"warehouse {rows[0]['warehouse_bytes'] / 1e6:.0f} MB")
    print(f"{'publish':18} {'full copy MB':>12} {'s':>6} {'patch MB':>9} {'share':>7} "
          f"{'ratio':>7} {'s':>6} {'rows':>9}")
    for r in rows:
        c, p = r["copy"], r["patch"]
        ratio = p["written_bytes"] / c["written_bytes"] if c["written_bytes"] else float("nan")
        print(f"{r['case']:18} {c['written_bytes'] / 1e6:12.1f} {c['seconds']:6.2f} "
              f"{p['written_bytes'] / 1e6:9.1f} {p['share']:7.2%} {ratio:7.3f} "
              f"{p['seconds']:6.2f} {p['rows_written']:9,}" + ("" if p["mode"] == "patch"
                                                                 else f"  ({p['mode']})"))
    print(f"\n{'query (p50 ms)':36} {'full copy':>10} {'patched':>10} {'ratio':>7}")
    for r in qrows:
        print(f"{r['query']:36} {r['copy']:10.1f} {r['patch']:10.1f} {r['ratio']:7.2f}")
    deltas = [r for r in rows if r["case"].startswith("5-minute")]
    worst = max(r["patch"]["share"] for r in deltas)
    q_worst = max(r["ratio"] for r in qrows)
    ok_bytes = worst <= FLOOR_SHARE and all(r["patch"]["mode"] == "patch" for r in deltas)
    ok_query = q_worst <= FLOOR_QUERY
    print(f"\nfloor: patch <= {FLOOR_SHARE:.0%} of the warehouse's bytes per 5-minute publish: "
          f"worst {worst:.2%}: {'met' if ok_bytes else 'MISSED'}")
    print(f"floor: queries on the patched snapshot <= {FLOOR_QUERY}x the full copy's p50: "
          f"worst {q_worst:.2f}x: {'met' if ok_query else 'MISSED'}")
    save_results("publish", {"machine": machine, "args": vars(args), "publishes": rows,
                             "queries": qrows, "landed_rows": st.landed_rows})
    return 1 if args.check and not (ok_bytes and ok_query) else 0


if __name__ == "__main__":
    sys.exit(main())
