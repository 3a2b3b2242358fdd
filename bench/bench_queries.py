"""Query-latency benchmark: analysts' questions on the warehouse (hot and cold tiers) vs the
raw landing Parquet.

    .venv/bin/python bench/bench_queries.py [--points 500] [--days 30] [--runs 30]

What it does (bench/README.md, "Queries: bench_queries.py"):

1. generates a landing lake of ``--days`` days of 1-minute history for ``--points`` points
   (the generator of bench_warehouse.py: 6-hour chunk files, re-landed overlaps, outages),
   builds the warehouse with ``dbt run --full-refresh`` and moves the raw samples older
   than ``--hot-days`` (20) to the cold tier (extract/warehouse/tiers.py), so both tiers hold data;
2. opens one read-only DuckDB session on the warehouse file (as an analyst's notebook holds
   one) and one in-memory session over the landing Parquet (``raw/`` with hive partitions,
   no warehouse: each question deduplicates with the warehouse's winner rule and
   aggregates on the fly), and asks each question ``--runs`` times, rotating over ten
   points, after one untimed warm-up:
     * one point, one day, raw samples via ``timeseries``: a day in the cold tier and a day
       in the hot tier;
     * one point, the whole history, via ``series()`` (default max_points 1000, so hourly
       buckets) vs hourly avg/min/max/count computed from the landing Parquet;
     * every point, one day, 5-minute buckets (``samples_5min``) vs computed from the
       landing Parquet;
   each answer is fetched whole (Arrow), and the two sides' answers are compared (row
   count, sum of the sample counts): the benchmark fails if they differ;
3. prints p50 and p95 per question and side, the ratio, the floors, and writes the figures
   as JSON to ``bench/results/queries-<timestamp>.json``.

Floors (the issue's): one point one day <= 20 ms p50; one point 30 days <= 50 ms p50.
``--check`` makes the exit status 1 when a floor is missed.
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
from _machine import describe, format_machine, save_results  # noqa: E402
from bench_warehouse import (  # noqa: E402
    ZONES,
    Catalogue,
    Warehouse,
    generate_lake,
    site_name,
    snapshot_project,
)

from extract.warehouse.tiers import describe as describe_move  # noqa: E402
from extract.warehouse.tiers import move_to_cold  # noqa: E402

DAY_FLOOR_MS = 20.0
SERIES_FLOOR_MS = 50.0
ROTATION = 10  # points asked in turn

# the landing lake read directly, deduplicated with the winner rule of `samples`
RAW_WINNERS = """
select site, point, ts, value
from read_parquet('{lake}/raw/*/*/*.parquet', hive_partitioning = true,
                  hive_types_autocast = false)
where {where}
qualify row_number() over (
    partition by site, point, ts
    order by case when source = 'import' then 1 else 0 end desc, extracted_at desc,
             run_id desc, value_raw desc nulls last) = 1
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(run: Callable[[int], Any], runs: int) -> tuple[list[float], list[Any]]:
    """Milliseconds of ``run(i)`` for i in range(runs), after one untimed warm-up."""
    run(0)
    times, answers = [], []
    for i in range(runs):
        t0 = time.perf_counter()
        answer = run(i)
        times.append((time.perf_counter() - t0) * 1000)
        answers.append(answer)
    return times, answers


def summary(table: Any, count_column: str | None) -> tuple[int, int]:
    """(rows, samples) of an answer: samples = rows for raw answers, else sum(count)."""
    if count_column is None:
        return table.num_rows, table.num_rows
    import pyarrow.compute as pc

    return table.num_rows, int(pc.sum(table.column(count_column)).as_py() or 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=500, help="points, 100 per site (500)")
    ap.add_argument("--days", type=int, default=30, help="days of history (30)")
    ap.add_argument("--hot-days", type=int, default=20, help="hot_days of the move (20)")
    ap.add_argument("--runs", type=int, default=30, help="timed runs per question (30)")
    ap.add_argument("--threads", type=int, default=0,
                    help="DuckDB threads of both sessions (0: DuckDB's default)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--workdir", help="parent of the temp work dir (default: system temp)")
    args = ap.parse_args(argv)
    if args.days <= args.hot_days + 2:
        ap.error("--days must exceed --hot-days + 2 (a cold day is asked for)")

    machine = describe()
    print(format_machine(machine), flush=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
    t_start = time.perf_counter()
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    cat = Catalogue(args.points)
    zones = {site_name(s): ZONES[s % len(ZONES)] for s in range(cat.sites)}
    vars_json = json.dumps({"site_timezones": zones}, sort_keys=True)
    work = Path(tempfile.mkdtemp(prefix="bench-queries-", dir=args.workdir))
    try:
        project = snapshot_project(work / "dbt_project")
        wh = Warehouse(work / "wh", project, args.days, vars_json, 0, 0.0, 0)
        wh.lake.mkdir(parents=True)
        st = generate_lake(wh.lake, cat, end, args.days, workers=2)
        print(f"lake: {st.landed_rows:,} landed rows in {st.files} files "
              f"({st.bytes / 2**20:.0f} MiB), history ends {end:%Y-%m-%d %H:%M}Z", flush=True)
        build = wh.dbt("full refresh", "run", st.landed_rows, "--full-refresh")
        print(f"warehouse built in {build.wall_s:.1f}s", flush=True)
        moved = describe_move(move_to_cold(wh.db, wh.lake, args.hot_days, end))
        print(f"moved to the cold tier: {moved}", flush=True)

        wcon = duckdb.connect(str(wh.db), read_only=True)
        rcon = duckdb.connect()
        for con in (wcon, rcon):
            con.execute("set TimeZone = 'UTC'")
            if args.threads:
                con.execute(f"set threads = {args.threads}")
        hot_rows, cold_rows = wcon.execute(
            "select (select count(*) from samples), (select sum(n_rows) from cold_files "
            "where active)").fetchone() or (0, 0)
        print(f"tiers: {hot_rows:,} hot rows, {cold_rows:,} cold rows", flush=True)

        day0 = end.replace(hour=0)
        cold_day = day0 - timedelta(days=args.hot_days + 3)
        hot_day = day0 - timedelta(days=3)
        first = end - timedelta(days=args.days)
        points = [(site_name(p // 100), Catalogue.point_name(p))
                  for p in range(0, cat.points, max(1, cat.points // ROTATION))][:ROTATION]
        lake = str(wh.lake)

        def w_day(day: datetime) -> Callable[[int], Any]:
            def run(i: int) -> Any:
                site, point = points[i % len(points)]
                return wcon.execute(
                    "select ts, value from timeseries where site = ? and point = ? "
                    "and ts >= ? and ts < ? order by ts",
                    [site, point, day, day + timedelta(days=1)]).fetch_arrow_table()
            return run

        def r_day(day: datetime) -> Callable[[int], Any]:
            def run(i: int) -> Any:
                site, point = points[i % len(points)]
                sql = RAW_WINNERS.format(lake=lake, where=(
                    "site = $site and date = $date and point = $point "
                    "and ts >= $lo and ts < $hi"))
                return rcon.execute(
                    f"select ts, value from ({sql}) order by ts",
                    {"site": site, "date": day.date().isoformat(), "point": point,
                     "lo": day, "hi": day + timedelta(days=1)}).fetch_arrow_table()
            return run

        def w_series(i: int) -> Any:
            site, point = points[i % len(points)]
            return wcon.execute("select * from series(?, ?, ?, ?)",
                                [site, point, first, end]).fetch_arrow_table()

        def r_series(i: int) -> Any:
            site, point = points[i % len(points)]
            sql = RAW_WINNERS.format(lake=lake, where=(
                "site = $site and point = $point and ts >= $lo and ts < $hi"))
            return rcon.execute(f"""
                select time_bucket(interval 1 hour, ts) as bucket_start, avg(value) as avg,
                       min(value) as min, max(value) as max, count(value) as n
                from ({sql}) group by 1 order by 1""",
                {"site": site, "point": point, "lo": first, "hi": end}).fetch_arrow_table()

        def w_all_5min(i: int) -> Any:
            day = hot_day - timedelta(days=i % 2 * args.hot_days)  # hot, cold in turn
            return wcon.execute(
                "select site, point, bucket_start, avg, min, max, n, n_total "
                "from samples_5min where bucket_start >= ? and bucket_start < ?",
                [day, day + timedelta(days=1)]).fetch_arrow_table()

        def r_all_5min(i: int) -> Any:
            day = hot_day - timedelta(days=i % 2 * args.hot_days)
            sql = RAW_WINNERS.format(lake=lake, where=(
                "date = $date and ts >= $lo and ts < $hi"))
            return rcon.execute(f"""
                select site, point, time_bucket(interval 5 minute, ts) as bucket_start,
                       avg(value) as avg, min(value) as min, max(value) as max,
                       count(value) as n, count(*) as n_total
                from ({sql}) group by all""",
                {"date": day.date().isoformat(), "lo": day,
                 "hi": day + timedelta(days=1)}).fetch_arrow_table()

        questions = [
            ("one point, one day, raw (cold day)", w_day(cold_day), r_day(cold_day), None,
             DAY_FLOOR_MS),
            ("one point, one day, raw (hot day)", w_day(hot_day), r_day(hot_day), None,
             DAY_FLOOR_MS),
            (f"one point, {args.days} days, series()", w_series, r_series, "n",
             SERIES_FLOOR_MS),
            ("all points, one day, 5 min", w_all_5min, r_all_5min, "n_total", None),
        ]
        rows: list[dict[str, Any]] = []
        mismatches = []
        for name, wrun, rrun, count_col, floor in questions:
            wt, wans = timed(wrun, args.runs)
            rt, rans = timed(rrun, args.runs)
            for i, (a, b) in enumerate(zip(wans, rans, strict=True)):
                sa, sb = summary(a, count_col), summary(b, count_col)
                if sa != sb:
                    mismatches.append({"question": name, "run": i, "warehouse": sa, "raw": sb})
            row = {"question": name, "rows": summary(wans[0], count_col)[0],
                   "warehouse_p50_ms": statistics.median(wt), "warehouse_p95_ms": pct(wt, 0.95),
                   "raw_p50_ms": statistics.median(rt), "raw_p95_ms": pct(rt, 0.95),
                   "floor_p50_ms": floor}
            row["raw_over_warehouse"] = row["raw_p50_ms"] / row["warehouse_p50_ms"]
            row["ok"] = floor is None or row["warehouse_p50_ms"] <= floor
            rows.append(row)
            print(f"  {name}: warehouse p50 {row['warehouse_p50_ms']:.1f} ms, raw Parquet p50 "
                  f"{row['raw_p50_ms']:.1f} ms", flush=True)
        wcon.close()
        rcon.close()

        print()
        head = (f"{'question':<36} {'rows':>7} {'warehouse p50':>13} {'p95':>8} "
                f"{'raw Parquet p50':>15} {'p95':>8} {'raw/wh':>7}  floor")
        print(head)
        print("-" * len(head))
        for r in rows:
            floor = (f"{'ok' if r['ok'] else 'MISSED'} (<= {r['floor_p50_ms']:.0f} ms)"
                     if r["floor_p50_ms"] else "")
            print(f"{r['question']:<36} {r['rows']:>7,} {r['warehouse_p50_ms']:>10.1f} ms "
                  f"{r['warehouse_p95_ms']:>5.1f} ms {r['raw_p50_ms']:>12.1f} ms "
                  f"{r['raw_p95_ms']:>5.1f} ms {r['raw_over_warehouse']:>6.1f}x  {floor}")
        if mismatches:
            print(f"\nERROR: the warehouse and the raw Parquet answered differently: "
                  f"{mismatches[:3]}")
        total = time.perf_counter() - t_start
        print(f"\n{args.runs} timed runs per question and side, after a warm-up; one held "
              f"session each; total {total:.0f}s")
        save_results("queries", {
            "benchmark": "queries", "when": datetime.now(UTC).isoformat(),
            "args": vars(args), "machine": machine,
            "history_end": end.isoformat(), "lake": {"landed_rows": st.landed_rows,
                                                     "files": st.files, "bytes": st.bytes},
            "tiers": {"hot_rows": hot_rows, "cold_rows": cold_rows, "move": moved},
            "rows": rows, "mismatches": mismatches, "total_seconds": total,
        })
        missed = [r for r in rows if not r["ok"]]
        return 1 if mismatches or (args.check and missed) else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
