"""Reader isolation: analysts querying while scheduled runs write, three designs compared.

    .venv/bin/python bench/bench_readers.py [--points 500] [--days 7] [--runs 10] [--readers 3]

1. plain DuckDB file: readers and the build open the same file;
2. published snapshot (what the project does, extract/warehouse/publish.py): the build writes its
   own file, then checkpoints, patches a retired snapshot (a full copy for the first three)
   and swaps ``current.duckdb`` (bytes written per publish: bench_publish.py);
3. DuckLake: tables in Parquet under a SQLite catalog with snapshot isolation (needs the
   ``duckdb-ext-ducklake`` and ``duckdb-ext-sqlite`` packages, installed by ``make bench``).

Each design gets the same table (``samples``: points x days of 1-minute data), the same
scheduled "runs" (each appends a 5-minute delta, points x 5 rows, and commits) and the
same readers (separate processes asking for one point's day, in a loop). Printed per
design: whether runs and readers failed, run time, reader latency p50/p95, and for DuckLake
the files a run leaves behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe  # noqa: E402

EXT_DIR = os.path.join(sysconfig.get_paths()["purelib"], "duckdb_ext", "extensions")

READER = textwrap.dedent("""
    import duckdb, json, sys, time, os
    design, target, out, stop, ext = sys.argv[1:6]
    lat, errors = [], []
    def connect():
        if design == "ducklake":
            c = duckdb.connect(config={"extension_directory": ext})
            c.execute("load ducklake; load sqlite")
            c.execute(f"attach 'ducklake:sqlite:{target}' as lk (read_only)")
            c.execute("use lk")
            return c
        return duckdb.connect(os.path.realpath(target), read_only=True)
    con = None
    while not os.path.exists(stop):
        t = time.perf_counter()
        try:
            if con is None or design != "ducklake":
                con = connect()
            con.execute("select count(*), avg(value) from samples where point = 'p00042' "
                        "and ts >= timestamp '2025-01-03' and ts < timestamp '2025-01-04'"
                        ).fetchall()
            lat.append(time.perf_counter() - t)
            if design != "ducklake":
                con.close()
        except Exception as e:
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0][:160]}")
            time.sleep(0.05)
        time.sleep(0.005)
    json.dump({"lat": lat, "errors": errors}, open(out, "w"))
""")

GEN = """
    select 'site_a' as site, 'p' || lpad(p::varchar, 5, '0') as point,
           timestamp '2025-01-01' + to_minutes(m) as ts,
           (p % 50) + sin(m / 60.0) as value
    from range({points}) t(p), range({minutes}) u(m)
"""


def delta_sql(points: int, start_minute: int) -> str:
    return GEN.format(points=points, minutes=5).replace(
        "to_minutes(m)", f"to_minutes(m + {start_minute})")


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


def start_readers(design: str, target: str, n: int, work: Path) -> list[tuple]:
    stop = work / f"stop-{design}"
    procs = []
    for i in range(n):
        out = work / f"{design}-reader{i}.json"
        procs.append((subprocess.Popen([sys.executable, "-c", READER, design, target,
                                        str(out), str(stop), EXT_DIR]), out))
    time.sleep(1.5)
    return [(p, o, stop) for p, o in procs]


def stop_readers(readers: list[tuple]) -> dict:
    readers[0][2].touch()
    lat: list[float] = []
    errors: list[str] = []
    for p, out, _ in readers:
        p.wait(timeout=60)
        doc = json.loads(out.read_text())
        lat += doc["lat"]
        errors += doc["errors"]
    return {"queries": len(lat), "p50_ms": pct(lat, 0.5), "p95_ms": pct(lat, 0.95),
            "reader_errors": len(errors), "first_error": errors[0] if errors else None}


def plain(work: Path, a: argparse.Namespace) -> dict:
    db = work / "plain.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create table samples as " + GEN.format(points=a.points, minutes=a.days * 1440))
    con.close()
    readers = start_readers("plain", str(db), a.readers, work)
    run_s, failures = [], []
    for k in range(a.runs):
        t = time.perf_counter()
        try:
            w = duckdb.connect(str(db))
            w.execute("insert into samples " + delta_sql(a.points, a.days * 1440 + 5 * k))
            w.close()
            run_s.append(time.perf_counter() - t)
        except duckdb.Error as e:
            failures.append(str(e).splitlines()[0][:160])
    res = stop_readers(readers)
    return {"design": "plain DuckDB file", "runs_ok": len(run_s), "runs_failed": len(failures),
            "first_run_error": failures[0] if failures else None,
            "run_p50_s": statistics.median(run_s) if run_s else None, **res}


def published(work: Path, a: argparse.Namespace) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from extract.warehouse.publish import publish

    build = work / "build.duckdb"
    pub = work / "published"
    con = duckdb.connect(str(build))
    con.execute("create table samples as " + GEN.format(points=a.points, minutes=a.days * 1440))
    con.close()
    publish(build, "00000", pub)
    readers = start_readers("published", str(pub / "current.duckdb"), a.readers, work)
    run_s, publish_s, failures = [], [], []
    for k in range(a.runs):
        t = time.perf_counter()
        try:
            w = duckdb.connect(str(build))
            w.execute("insert into samples " + delta_sql(a.points, a.days * 1440 + 5 * k))
            w.close()
            t1 = time.perf_counter()
            publish(build, f"{k + 1:05d}", pub)
            publish_s.append(time.perf_counter() - t1)
            run_s.append(time.perf_counter() - t)
        except Exception as e:
            failures.append(str(e).splitlines()[0][:160])
    res = stop_readers(readers)
    return {"design": "published snapshot", "runs_ok": len(run_s),
            "runs_failed": len(failures), "first_run_error": failures[0] if failures else None,
            "run_p50_s": statistics.median(run_s) if run_s else None,
            "publish_p50_s": statistics.median(publish_s) if publish_s else None,
            "file_mb": build.stat().st_size / 1e6, **res}


def ducklake(work: Path, a: argparse.Namespace) -> dict:
    if not os.path.isdir(EXT_DIR):
        return {"design": "DuckLake (SQLite catalog)", "skipped": "duckdb-ext-ducklake missing"}
    cat = work / "cat.sqlite"
    data = work / "lake_data"

    def connect() -> duckdb.DuckDBPyConnection:
        c = duckdb.connect(config={"extension_directory": EXT_DIR})
        c.execute("load ducklake; load sqlite")
        c.execute(f"attach 'ducklake:sqlite:{cat}' as lk (data_path '{data}/')")
        c.execute("use lk")
        return c

    con = connect()
    con.execute("create table samples as " + GEN.format(points=a.points,
                                                         minutes=a.days * 1440))
    con.close()
    files_before = sum(1 for _ in data.rglob("*.parquet"))
    readers = start_readers("ducklake", str(cat), a.readers, work)
    run_s, failures = [], []
    for k in range(a.runs):
        t = time.perf_counter()
        try:
            w = connect()
            w.execute("insert into samples " + delta_sql(a.points, a.days * 1440 + 5 * k))
            w.close()
            run_s.append(time.perf_counter() - t)
        except Exception as e:
            failures.append(str(e).splitlines()[0][:160])
    res = stop_readers(readers)
    files_after = sum(1 for _ in data.rglob("*.parquet"))
    return {"design": "DuckLake (SQLite catalog)", "runs_ok": len(run_s),
            "runs_failed": len(failures), "first_run_error": failures[0] if failures else None,
            "run_p50_s": statistics.median(run_s) if run_s else None,
            "parquet_files_added_per_run": (files_after - files_before) / max(a.runs, 1), **res}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--readers", type=int, default=3)
    a = ap.parse_args()
    machine = describe()
    print(machine if isinstance(machine, str) else json.dumps(machine))
    work = Path(tempfile.mkdtemp(prefix="bench-readers-"))
    results = []
    try:
        for design in (plain, published, ducklake):
            r = design(work, a)
            results.append(r)
            print(json.dumps(r))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{a.points} points x {a.days} days ({a.points * a.days * 1440:,} rows), "
          f"{a.runs} runs of a 5-minute delta, {a.readers} reader processes")
    print(f"{'design':28} {'runs ok/failed':>15} {'run p50 s':>10} {'reads':>7} "
          f"{'read errors':>12} {'p50 ms':>8} {'p95 ms':>8}")
    for r in results:
        if "skipped" in r:
            print(f"{r['design']:28} skipped: {r['skipped']}")
            continue
        print(f"{r['design']:28} {r['runs_ok']:>7}/{r['runs_failed']:<7} "
              f"{(r['run_p50_s'] or 0):>10.3f} {r['queries']:>7} {r['reader_errors']:>12} "
              f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f}")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"readers-{time.strftime('%Y%m%dT%H%M%S')}.json").write_text(
        json.dumps({"machine": machine, "args": vars(a), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
