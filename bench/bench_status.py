"""Status benchmark: ``python -m extract status --json`` at two history lengths, a fixed
point count, old code against new in the same run.

    .venv/bin/python bench/bench_status.py [--points 5000] [--interval 300] [--days 30]
                                           [--base-days 1] [--files-per-day 288]
                                           [--repeat 3] [--old-ref REF] [--check] [--keep]

What it does (bench/README.md, "Status: bench_status.py"):

1. for each history length (``--base-days`` and ``--days``), a child process writes a lake
   and a warehouse: ``raw/site=S/date=D/`` holds ``--files-per-day`` Parquet files a day
   (a sync every 5 minutes lands one file per run), with each date directory's modification
   time at the end of its day (the newest one just written) and the usage summary a sync
   refreshes (``state/usage/raw/``), a checkpoint and a run summary; the
   warehouse holds every table of the dbt build with the build's columns and types (the
   22 tables of ``main``), written directly as DuckDB tables, not built through dbt (a
   30-day build at 5,000 points takes most of an hour here): ``samples`` (one sample per
   point every ``--interval`` seconds), ``samples_1h``, ``samples_1d``,
   ``data_quality_daily`` and ``int_point_holdings`` over the whole history, ``points``,
   ``sites``, ``point_gaps``, the cold-tier registry; the other tables empty or small;
2. publishes it with ``extract.warehouse.publish.publish`` (the new code records the table
   sizes in the snapshot), timing the record's measurement apart;
3. runs ``status --json --now T`` in a fresh process (through a launcher, so its peak RSS
   and CPU time from ``wait4`` are its own), ``--repeat`` rounds interleaving the history
   lengths and codes (a shared machine's drifting load falls on each alike), with the new
   code and, given
   ``--old-ref``, with that commit's ``extract/`` (``git archive``, first on
   ``PYTHONPATH``); checks that the new report has every key the old one has;
4. prints the figures and the machine, writes ``bench/results/status-<timestamp>.json``.

Floor (``--check`` exits 1 when missed): the new code's status at ``--days`` over
``--base-days``, median work time (inside the process, after start-up), <= 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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

from _machine import describe, format_machine, save_results  # noqa: E402
from bench_fleet import LAUNCHER  # noqa: E402

SITE = "site-0000"
END = datetime(2026, 11, 30, tzinfo=UTC)
FLOOR = 1.5

#: the dbt build's tables (main schema) with their columns, as `describe` shows them
TABLES = {
    "cold_files": "site VARCHAR, month VARCHAR, path VARCHAR, generation BIGINT, n_rows BIGINT, "
                  "active BOOLEAN, created_at TIMESTAMPTZ, superseded_at TIMESTAMPTZ",
    "cold_owner": "instance VARCHAR, claimed_at TIMESTAMPTZ",
    "cold_pending": "path VARCHAR, planned_at TIMESTAMPTZ",
    "cold_state": "cold_until TIMESTAMPTZ",
    "data_quality_daily": "site VARCHAR, point VARCHAR, day DATE, bucket_start TIMESTAMPTZ, "
                          "expected DOUBLE, actual BIGINT, numeric BIGINT, non_numeric BIGINT, "
                          "missing DOUBLE, landed BIGINT, duplicate_landings BIGINT, "
                          "coverage DOUBLE, quality_score DOUBLE, is_complete BOOLEAN, "
                          "expected_configured DOUBLE, expected_observed DOUBLE",
    "gap_repairs": "site VARCHAR, point VARCHAR, gap_start TIMESTAMPTZ, gap_end TIMESTAMPTZ, "
                   "status VARCHAR, attempts BIGINT, first_seen TIMESTAMPTZ, "
                   "last_attempt TIMESTAMPTZ, next_attempt TIMESTAMPTZ, final_at TIMESTAMPTZ",
    "int_gap_landed": "site VARCHAR, point VARCHAR, from_file_id BIGINT, is_whole BOOLEAN, "
                      "min_ts TIMESTAMPTZ, max_ts TIMESTAMPTZ, min_bucket TIMESTAMPTZ, "
                      "max_bucket_end TIMESTAMPTZ, min_day_start TIMESTAMPTZ, "
                      "max_day_end TIMESTAMPTZ",
    "int_gap_regions": "site VARCHAR, point VARCHAR, from_file_id BIGINT, is_whole BOOLEAN, "
                       "min_ts TIMESTAMPTZ, max_ts TIMESTAMPTZ, before_ts TIMESTAMPTZ, "
                       "after_ts TIMESTAMPTZ",
    "int_landed_files": "file_id BIGINT, file_path VARCHAR, kind VARCHAR, site VARCHAR, "
                        "partition_date DATE, run_id VARCHAR, registered_at TIMESTAMPTZ",
    "int_point_activity": "site VARCHAR, point VARCHAR, first_ts TIMESTAMPTZ, "
                          "last_ts TIMESTAMPTZ, last_extracted_at TIMESTAMPTZ, n_landed BIGINT",
    "int_point_holdings": "site VARCHAR, point VARCHAR, bucket_start TIMESTAMPTZ, "
                          "tw_sum DOUBLE, known_seconds DOUBLE, on_seconds DOUBLE, "
                          "n_non_binary BIGINT, starts BIGINT",
    "int_point_intervals": "site VARCHAR, point VARCHAR, configured_interval DOUBLE, "
                           "median_spacing DOUBLE, n_spacings BIGINT, observed_interval INTEGER, "
                           "is_interval_mismatch BOOLEAN, expected_interval DOUBLE, "
                           "interval_changed_file_id BIGINT",
    "int_point_metadata": "site VARCHAR, point VARCHAR, point_id BIGINT, client VARCHAR, "
                          "is_collect_enabled BOOLEAN, collect_interval_configured BIGINT, "
                          "collect_interval DOUBLE, point_type VARCHAR, unit VARCHAR, "
                          "kv_tags JSON, marker_tags JSON, bacnet_data JSON, "
                          "collect_config JSON, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, "
                          "extracted_at TIMESTAMPTZ, run_id VARCHAR, "
                          "interval_changed_file_id BIGINT",
    "model_progress": "model VARCHAR, file_id BIGINT, settings VARCHAR, updated_at TIMESTAMPTZ",
    "point_gaps": "site VARCHAR, point VARCHAR, gap_start TIMESTAMPTZ, gap_end TIMESTAMPTZ, "
                  "duration INTERVAL, missing_expected DOUBLE, is_open BOOLEAN, "
                  "duration_s DOUBLE",
    "points": "site VARCHAR, point VARCHAR, point_id BIGINT, client VARCHAR, "
              "point_type VARCHAR, unit VARCHAR, collect_interval DOUBLE, "
              "collect_interval_configured BIGINT, is_collect_enabled BOOLEAN, "
              "has_metadata BOOLEAN, timezone VARCHAR, kv_tags JSON, marker_tags JSON, "
              "bacnet_data JSON, collect_config JSON, created_at TIMESTAMPTZ, "
              "updated_at TIMESTAMPTZ, first_sample_ts TIMESTAMPTZ, last_sample_ts TIMESTAMPTZ, "
              "n_landed BIGINT, metadata_extracted_at TIMESTAMPTZ, metadata_run_id VARCHAR, "
              "observed_interval INTEGER, is_interval_mismatch BOOLEAN, "
              "expected_interval DOUBLE",
    "samples": "site VARCHAR, point VARCHAR, ts TIMESTAMPTZ, value DOUBLE, value_raw VARCHAR, "
               "source VARCHAR, extracted_at TIMESTAMPTZ, run_id VARCHAR",
    "sites": "site VARCHAR, site_id BIGINT, nice_name VARCHAR, client VARCHAR, address VARCHAR, "
             "latitude DOUBLE, longitude DOUBLE, is_archived BOOLEAN, "
             "is_collect_enabled BOOLEAN, has_metadata BOOLEAN, timezone VARCHAR, "
             "is_timezone_configured BOOLEAN, raw_json JSON, "
             "metadata_extracted_at TIMESTAMPTZ, metadata_run_id VARCHAR",
}
AGG = ("site VARCHAR, point VARCHAR, bucket_start TIMESTAMPTZ, {day}n BIGINT, n_total BIGINT, "
       "sum DOUBLE, avg DOUBLE, min DOUBLE, max DOUBLE, first_value DOUBLE, "
       "last_value DOUBLE, first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, stddev DOUBLE, "
       "n_expected DOUBLE, coverage DOUBLE, m2 DOUBLE, tw_avg DOUBLE, known_seconds DOUBLE, "
       "on_seconds DOUBLE, starts BIGINT")
for _name in ("samples_5min", "samples_15min", "samples_1h"):
    TABLES[_name] = AGG.format(day="")
TABLES["samples_1d"] = AGG.format(day="day DATE, ")


def _agg_rows(points: str, buckets: int, width_min: int, start: str, day: bool) -> str:
    """An aggregate mart's rows: one per point and bucket of ``width_min`` minutes."""
    return f"""
        select p.site, p.point, b.bs, {'b.bs::date, ' if day else ''}n, n, n * 50.0, 50.0,
               0.0, 99.9, 1.0, 2.0, b.bs, b.bs + to_minutes({width_min} - 1), 28.9, n, 1.0,
               833.0, 50.0, {width_min * 60}.0, 0.0, 0
        from (select {start} + to_minutes(k * {width_min}) as bs, 12::bigint as n
              from range({buckets}) r(k)) b cross join {points} p"""


def generate(root: Path, points: int, days: int, interval_s: int, files_per_day: int) -> None:
    """The lake, warehouse and published snapshot of one history length (in a child)."""
    import duckdb
    import pyarrow.parquet as pq

    from extract.core.schema import RAW_SCHEMA
    from extract.landing import usage
    from extract.landing.lake import atomic_write_json
    from extract.warehouse.publish import publish

    lake = root / "lake"
    one = root / "one.parquet"
    pq.write_table(RAW_SCHEMA.empty_table(), one)
    data = one.read_bytes()
    start = END - timedelta(days=days)
    for d in range(days):
        folder = lake / "raw" / f"site={SITE}" / f"date={(start + timedelta(days=d)).date()}"
        folder.mkdir(parents=True)
        for k in range(files_per_day):
            (folder / f"{d:04d}{k:04d}-run-0.parquet").write_bytes(data)
        if d < days - 1:  # last written at the day's end; the newest is being written
            t = int((start + timedelta(days=d + 1)).timestamp() * 1e9)
            os.utime(folder, ns=(t, t))
    # the summary each sync's commit refreshes (extract/landing/usage.py)
    usage.refresh(lake, "raw", f"site={SITE}")
    run_id = f"{END:%Y%m%dT%H%M%S}.000000Z-bench0"
    atomic_write_json(lake / "state" / "checkpoints" / f"{SITE}.json",
                      {"site": SITE, "synced_through": END.isoformat()})
    atomic_write_json(lake / "state" / "runs" / f"{run_id}.json", {
        "run_id": run_id, "command": "sync", "ok": True, "started_at": END.isoformat(),
        "finished_at": END.isoformat(), "totals": {"landed": points, "quarantined": 0},
        "sites": [{"site": SITE, "ok": True, "landed": points, "quarantined": 0}]})

    wh = root / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    t0 = time.perf_counter()
    for name, cols in TABLES.items():
        con.execute(f"create table {name} ({cols})")
    lo = f"timestamptz '{start.isoformat()}'"
    con.execute(f"""create temp table pts as select '{SITE}' as site,
                    'ahu-' || (j // 10) || '.sensor-' || lpad(j::varchar, 5, '0') as point, j
                    from range({points}) r(j)""")
    per_day = 86400 // interval_s
    con.execute(f"""create temp table steps as select {lo} + to_seconds(m * {interval_s}) as ts,
                    m, 'run-' || (m * {interval_s} // 300) as run_id
                    from range({days * per_day}) r(m)""")
    con.execute("""insert into samples select p.site, p.point, s.ts,
                    ((s.m * 7919 + p.j * 104729) % 1000) / 10.0, null, 'realtime',
                    s.ts + interval 6 minute, s.run_id from steps s cross join pts p""")
    con.execute("insert into samples_1h " + _agg_rows("pts", days * 24, 60, lo, False))
    con.execute("insert into samples_1d " + _agg_rows("pts", days, 1440, lo, True))
    con.execute(f"""insert into data_quality_daily
                    select p.site, p.point, d.day, d.day::timestamptz, {per_day}, {per_day},
                           {per_day}, 0, 0, {per_day}, 0, 1.0, 1.0, true, {per_day}, {per_day}
                    from (select ({lo} + to_days(k))::date as day from range({days}) r(k)) d
                    cross join pts p""")
    con.execute(f"""insert into int_point_holdings
                    select p.site, p.point, {lo} + to_minutes(k * 60), 180000.0, 3600.0, 0.0,
                           12, 0 from range({days * 24}) r(k) cross join pts p""")
    con.execute(f"""insert into points (site, point, point_id, collect_interval,
                        collect_interval_configured, is_collect_enabled, has_metadata,
                        timezone, first_sample_ts, last_sample_ts, n_landed,
                        observed_interval, is_interval_mismatch, expected_interval)
                    select site, point, j, {interval_s}, {interval_s}, true, true, 'UTC',
                           {lo}, timestamptz '{END.isoformat()}' - to_seconds({interval_s}),
                           {days * per_day}, {interval_s}, j % 997 = 5, {interval_s}
                    from pts""")
    con.execute(f"""insert into int_point_intervals select site, point, {interval_s},
                    {interval_s}, {days * per_day}, {interval_s}, j % 997 = 5, {interval_s},
                    null from pts""")
    con.execute(f"""insert into int_point_activity select site, point, {lo},
                    timestamptz '{END.isoformat()}', timestamptz '{END.isoformat()}',
                    {days * per_day} from pts""")
    con.execute(f"""insert into int_point_metadata (site, point, point_id, is_collect_enabled,
                        collect_interval_configured, collect_interval)
                    select site, point, j, true, {interval_s}, {interval_s} from pts""")
    con.execute(f"""insert into point_gaps select site, point,
                    {lo} + to_days(j % {days}), {lo} + to_days(j % {days}) + interval 1 hour,
                    interval 1 hour, 3600 / {interval_s}, false, 3600
                    from pts where j % 50 = 0""")
    con.execute(f"""insert into int_landed_files select k, 'raw/site={SITE}/' || k, 'raw',
                    '{SITE}', ({lo} + to_minutes(k * 5))::date, 'run-' || k,
                    {lo} + to_minutes(k * 5) from range({days * files_per_day}) r(k)""")
    con.execute(f"insert into sites (site, site_id, timezone) values ('{SITE}', 1, 'UTC')")
    con.execute(f"insert into cold_state values ({lo})")
    con.execute("insert into model_progress values ('samples', 1, '', now())")
    con.execute("checkpoint")
    (samples,) = con.execute("select count(*) from samples").fetchone() or (0,)
    con.close()
    gen_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    snapshot = publish(wh, run_id, root / "published").path
    publish_s = time.perf_counter() - t0
    con = duckdb.connect(str(snapshot), read_only=True)
    from extract.warehouse.tablesizes import measure
    t0 = time.perf_counter()
    measure(con, str(con.execute("select current_database()").fetchone()[0]))  # type: ignore[index]
    measure_s = time.perf_counter() - t0
    con.close()
    (root / "generated.json").write_text(json.dumps({
        "samples": int(samples), "generate_s": gen_s, "publish_s": publish_s,
        "record_measure_s": measure_s, "warehouse_bytes": wh.stat().st_size,
        "snapshot_bytes": snapshot.stat().st_size,
        "raw_files": days * files_per_day}))


STEP = r"""
import json, sys, time, io, contextlib
a = json.loads(sys.argv[1])
import extract
from extract.cli import main
buf = io.StringIO()
t = time.perf_counter()
with contextlib.redirect_stdout(buf):
    code = main(["status", "--json", "--now", a["now"]])
work = time.perf_counter() - t
with open(a["result"], "w") as f:
    json.dump({"work_s": work, "exit": code, "extract": extract.__file__,
               "doc": json.loads(buf.getvalue())}, f)
"""


def run_status(root: Path, code_dir: Path | None) -> dict[str, Any]:
    """``status --json`` once, in a fresh process under the launcher: wall, work, RSS (run in
    ``root``: the working directory comes first on ``sys.path``, before ``PYTHONPATH``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    env.update(LAKE_DIR=str(root / "lake"), WAREHOUSE_PATH=str(root / "warehouse.duckdb"),
               PUBLISHED_DIR=str(root / "published"))
    if code_dir is not None:
        env["PYTHONPATH"] = str(code_dir)
    result, rusage, log = root / "step.json", root / "rusage.json", root / "status.log"
    argv = [sys.executable, "-c", STEP, json.dumps({"now": END.isoformat(),
                                                    "result": str(result)})]
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER,
                           json.dumps([argv, str(root), str(rusage), str(log)])],
                          env=env, cwd=root, capture_output=True)
    if proc.returncode != 0 or not result.exists():
        raise SystemExit(f"status failed: {proc.stderr.decode()[-2000:]}\n"
                         f"{log.read_text()[-3000:] if log.exists() else ''}")
    r, ru = json.loads(result.read_text()), json.loads(rusage.read_text())
    result.unlink()
    want = str(code_dir) if code_dir is not None else str(REPO / "extract")
    if not r["extract"].startswith(want):
        raise SystemExit(f"status ran {r['extract']}, not the code under {want}")
    return {"wall_s": ru["seconds"], "work_s": r["work_s"], "rss_mb": ru["maxrss_kib"] / 1024,
            "cpu_s": ru["cpu_s"], "exit": r["exit"], "doc": r["doc"]}


def keys(doc: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document (list items merged)."""
    out: set[str] = set()
    if isinstance(doc, dict):
        for k, v in doc.items():
            out |= {f"{prefix}{k}"} | keys(v, f"{prefix}{k}.")
    elif isinstance(doc, list):
        for v in doc:
            out |= keys(v, f"{prefix}[].")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=5000)
    ap.add_argument("--interval", type=int, default=300, help="seconds between samples")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--base-days", type=int, default=1)
    ap.add_argument("--files-per-day", type=int, default=288)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old-ref", help="also time this commit's extract/ (e.g. 693e05e)")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--generate", nargs=2, metavar=("DIR", "DAYS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate:
        generate(Path(args.generate[0]), args.points, int(args.generate[1]), args.interval,
                 args.files_per_day)
        return 0
    print(format_machine())
    work = Path(tempfile.mkdtemp(prefix="bench-status-"))
    codes: dict[str, Path | None] = {"new": None}
    if args.old_ref:
        old = work / "old"
        old.mkdir()
        tar = subprocess.run(["git", "archive", args.old_ref, "extract"], cwd=REPO,
                             capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
        codes = {"old": old, "new": None}
    cases: dict[str, Any] = {}
    try:
        for days in (args.base_days, args.days):
            root = work / f"{days}d"
            root.mkdir()
            t0 = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--generate", str(root), str(days),
                            "--points", str(args.points), "--interval", str(args.interval),
                            "--files-per-day", str(args.files_per_day)], check=True, cwd=REPO)
            gen = json.loads((root / "generated.json").read_text())
            print(f"{days} d: {gen['samples']:,} samples, {args.points:,} points, "
                  f"{gen['raw_files']:,} raw files; generated in "
                  f"{time.perf_counter() - t0:.0f} s; publish {gen['publish_s']:.2f} s, "
                  f"of it the sizes' measurement {gen['record_measure_s']:.2f} s")
            cases[f"{days}d"] = {"generated": gen, "root": root}
        # interleaved (case by case, code by code, round after round), so that the load of
        # a shared machine drifting over the run falls on every combination alike
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            for name, case in cases.items():
                for code, where in codes.items():
                    runs.setdefault((name, code), []).append(run_status(case["root"], where))
        for (name, code), rs in runs.items():
            case = cases[name]
            case[code] = {
                "runs": [{k: v for k, v in r.items() if k != "doc"} for r in rs],
                **{f: statistics.median(r[f] for r in rs)
                   for f in ("wall_s", "work_s", "rss_mb", "cpu_s")},
                "work_min_s": min(r["work_s"] for r in rs),
                "keys": sorted(keys(rs[0]["doc"])),
                "sizes": rs[0]["doc"]["warehouse"].get("sizes")}
            print(f"{name} {code}: work {case[code]['work_s']:.3f} s (min "
                  f"{case[code]['work_min_s']:.3f}), CPU {case[code]['cpu_s']:.3f} s, wall "
                  f"{case[code]['wall_s']:.3f} s, peak RSS {case[code]['rss_mb']:.0f} MB"
                  f" (median of {args.repeat})")
        for case in cases.values():
            case.pop("root")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    long_, short = cases[f"{args.days}d"], cases[f"{args.base_days}d"]
    doc: dict[str, Any] = {"machine": describe(), "points": args.points,
                           "interval_s": args.interval, "days": args.days,
                           "base_days": args.base_days, "files_per_day": args.files_per_day,
                           "old_ref": args.old_ref, "cases": cases, "ratios": {}}
    for code in codes:
        ratio = long_[code]["work_s"] / short[code]["work_s"]
        doc["ratios"][code] = ratio
        doc["ratios"][f"{code}_min"] = long_[code]["work_min_s"] / short[code]["work_min_s"]
        doc["ratios"][f"{code}_cpu"] = long_[code]["cpu_s"] / short[code]["cpu_s"]
        r = doc["ratios"]
        print(f"{code}: status {args.days}d/{args.base_days}d work ratio {ratio:.2f} (medians;"
              f" minima {r[f'{code}_min']:.2f}, CPU {r[f'{code}_cpu']:.2f})")
    if "old" in codes:
        missing = sorted(set(long_["old"]["keys"]) - set(long_["new"]["keys"]))
        doc["keys_missing_in_new"] = missing
        print("every key of the old report is in the new one" if not missing
              else f"keys of the old report missing in the new: {missing}")
    ok = doc["ratios"]["new"] <= FLOOR
    doc["floor"] = {"ratio_max": FLOOR, "ok": ok}
    print(f"floor: new {args.days}d/{args.base_days}d <= {FLOOR}: "
          f"{'PASS' if ok else 'FAIL'}")
    save_results("status", doc)
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
