"""Report benchmark: the data-quality report's time, peak memory and page sizes at fleet
scale.

    .venv/bin/python bench/bench_report.py [--days 1] [--shapes 1000x50,10x5000] [--check]

What it does (bench/README.md, "Report: bench_report.py"):

1. for each shape (sites x points per site; default a fleet of 1,000 sites x 50 points and
   10 sites x 5,000 points, 50,000 points each), writes a synthetic warehouse directly as
   DuckDB tables shaped like the marts the report reads (``sites``, ``points``,
   ``data_quality_daily``, ``point_gaps``, ``samples_1h``, ``samples_1d``; the generator
   is ``tests/report_fleet.py``): not built through dbt, for speed; the report reads only
   these tables' columns, so what it costs is the same;
2. writes the report (``write_report``, default options: 200 heatmap rows, 20 worst
   points, 50 site pages) in a fresh child process, timed around the call and by the
   child's wall clock, with its peak RSS from ``wait4`` (the generator runs in its own
   child, so the benchmark's own memory is not folded into the report's);
3. prints the figures and the machine, writes them to ``bench/results/report-<ts>.json``.

Floors (``--check`` makes the exit status 1 when one is missed): the main page <= 3 MB,
every site page <= 3 MB, the report <= 30 s at 50,000 points.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _machine import describe, format_machine, save_results  # noqa: E402

PAGE_FLOOR_BYTES = 3 * 1024 * 1024
SECONDS_FLOOR = 30.0

CHILD = """
import json, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from tests.report_fleet import as_of_default, make_fleet, write_warehouse
mode, n_sites, per_site, days, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \\
    int(sys.argv[4]), Path(sys.argv[5])
t = time.perf_counter()
if mode == "generate":
    fleet = make_fleet(n_sites, per_site, as_of=as_of_default(), days=days)
    write_warehouse(fleet, path)
    print(json.dumps({{"seconds": time.perf_counter() - t, "quality_rows": len(fleet.quality),
                      "gaps": len(fleet.gaps)}}))
else:
    from extract.ops.report import write_report
    out = write_report(path, path.parent / "report" / "index.html", as_of=as_of_default(),
                       days=days)
    print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""


def run_child(*args: str) -> tuple[dict[str, Any], float, float]:
    """(the child's JSON line, wall seconds, peak RSS MB) of a fresh interpreter."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(repo=str(REPO)), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout.read(), proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode}):\n"
                         f"{err.decode(errors='replace')[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


def measure(n_sites: int, per_site: int, days: int, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    warehouse = work / "fleet.duckdb"
    shape = [str(n_sites), str(per_site), str(days), str(warehouse)]
    gen, gen_wall, _ = run_child("generate", *shape)
    rep, wall, rss = run_child("report", *shape)
    pages = sorted((work / "report").iterdir())
    main = work / "report" / "index.html"
    sites = [p.stat().st_size for p in pages if p.name.startswith("site-")]
    return {
        "shape": f"{n_sites}x{per_site}", "sites": n_sites, "points": n_sites * per_site,
        "days": days, "quality_rows": gen["quality_rows"], "gaps": gen["gaps"],
        "generate_seconds": gen_wall, "warehouse_bytes": warehouse.stat().st_size,
        "report_seconds": rep["seconds"], "report_process_seconds": wall,
        "report_peak_rss_mb": rss, "main_page_bytes": main.stat().st_size,
        "site_pages": len(sites), "largest_site_page_bytes": max(sites, default=0),
        "total_bytes": sum(p.stat().st_size for p in pages),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=1, help="the report's window (default 1)")
    parser.add_argument("--shapes", default="1000x50,10x5000",
                        help="sites x points per site, comma-separated")
    parser.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    machine = describe()
    print(format_machine(machine), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-report-"))
    rows = []
    try:
        for shape in args.shapes.split(","):
            n_sites, per_site = (int(x) for x in shape.split("x"))
            print(f"\n{shape}, {args.days} day(s): generating, then reporting", flush=True)
            rows.append(measure(n_sites, per_site, args.days, work / shape))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print()
    head = (f"{'shape':<10} {'points':>7} {'days':>4} {'report s':>9} {'process s':>9} "
            f"{'peak RSS':>9} {'main page':>10} {'site pages':>10} {'largest':>9} {'total':>9}")
    print(head)
    print("-" * len(head))
    missed = []
    for r in rows:
        print(f"{r['shape']:<10} {r['points']:>7,} {r['days']:>4} {r['report_seconds']:>9.2f} "
              f"{r['report_process_seconds']:>9.2f} {r['report_peak_rss_mb']:>6.0f} MB "
              f"{r['main_page_bytes'] / 1e6:>7.2f} MB {r['site_pages']:>10} "
              f"{r['largest_site_page_bytes'] / 1e6:>6.2f} MB {r['total_bytes'] / 1e6:>6.1f} MB")
        if r["main_page_bytes"] > PAGE_FLOOR_BYTES:
            missed.append(f"{r['shape']}: main page {r['main_page_bytes']:,} B > 3 MB")
        if r["largest_site_page_bytes"] > PAGE_FLOOR_BYTES:
            missed.append(f"{r['shape']}: a site page {r['largest_site_page_bytes']:,} B > 3 MB")
        if r["points"] >= 50_000 and r["report_seconds"] > SECONDS_FLOOR:
            missed.append(f"{r['shape']}: report {r['report_seconds']:.1f} s > 30 s")
    print(f"\nfloors: main page and each site page <= 3 MB; report <= {SECONDS_FLOOR:.0f} s at "
          f"50,000 points: {'MISSED: ' + '; '.join(missed) if missed else 'ok'}")
    print("synthetic marts written directly with DuckDB (tests/report_fleet.py), not via dbt")
    save_results("report", {"benchmark": "report", "when": datetime.now(UTC).isoformat(),
                             "args": vars(args), "machine": machine, "rows": rows,
                             "missed": missed})
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
