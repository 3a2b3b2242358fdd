"""The steady-state sync alone: peak RSS and time of a 5-minute run with the 2-hour look-back.

    .venv/bin/python bench/bench_sync_steady.py [--points 5000] [--sites 1] [--repeat 2]

What bench_fleet.py measures once per case as "steady-state sync", without its lake and its
warehouse (bench/README.md, "Steady-state sync: bench_sync_steady.py"): the stand-in serves
``--sites`` x ``--points`` (``uniform60``, clock frozen); a first sync lands 2 h 5 min
(``--initial-history 125m``; ``--prime-runs 25``: in 25 runs of 5 minutes, a file each, as
a scheduled sync's lake holds them), then the measured sync runs 5 minutes later with the
default settings (checkpoint 5 minutes back, look-back 2 hours: it fetches 2 h 5 min again
and lands the 5 new minutes). Each sync is a fresh process through bench_fleet.py's
launcher (peak RSS from ``wait4``). The lake is checked to hold exactly what a fresh sync
of the whole span lands (rows from the Parquet footers), and a repeated sync to land
nothing. Floor (``--check``): peak RSS <= 400 MB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_fleet as bf  # noqa: E402
from _machine import describe, format_machine, save_results  # noqa: E402

END = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(hours=2)  # the sync's default (EXTRACT_LOOKBACK)


def sync(server: bf.StandIn, lake: Path, until: datetime, log: Path, *extra: str) -> bf.Child:
    argv = [sys.executable, "-m", "extract", "sync", "--until", bf.iso(until), "--settle", "0s",
            "--lake", str(lake), *extra]
    env = bf.child_env({"ACE_API_URL": server.url, "ACE_API_KEY": bf.TOKEN,
                        "LAKE_DIR": str(lake), "EXTRACT_MAX_RPS": "100000"})
    c = bf.run_child("sync", argv, env, log)
    c.detail = {"raw_rows": bf.parquet_rows(lake / "raw"),
                "quarantined_rows": bf.parquet_rows(lake / "quarantine")}
    return c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=5000, help="points per site (5000)")
    ap.add_argument("--sites", type=int, default=1, help="sites (1)")
    ap.add_argument("--repeat", type=int, default=2, help="measured syncs (2)")
    ap.add_argument("--prime-runs", type=int, default=1,
                    help="syncs that land the first 2 h 5 min (1; 25: a file per 5-minute run)")
    ap.add_argument("--check", action="store_true", help="exit 1 when the floor is missed")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args(argv)
    machine = describe()
    print(format_machine(machine), flush=True)
    shape = bf.Shape(args.sites, args.points, 0)
    work = Path(tempfile.mkdtemp(prefix="bench-sync-steady-"))
    final = END + timedelta(minutes=bf.DELTA_MINUTES * (args.repeat + 1))
    server = bf.StandIn(shape, final, work / "standin.log")
    runs: list[dict[str, Any]] = []
    try:
        # the whole span in one fresh sync: the rows a loss-free steady sync must end with
        last = END + timedelta(minutes=bf.DELTA_MINUTES * args.repeat)
        first = END - timedelta(minutes=125)
        step = timedelta(minutes=125) / max(1, args.prime_runs)
        if args.prime_runs > 1:  # the second run's look-back reaches before the first's start
            first = min(first, first + step - LOOKBACK)
        whole = sync(server, work / "whole", last, work / "whole.log", "--initial-history",
                     f"{(last - first).total_seconds():.0f}s")
        lake = work / "lake"
        if args.prime_runs <= 1:
            prime = sync(server, lake, END, work / "prime.log", "--initial-history", "125m")
        else:  # as 5-minute runs land it: a file per run
            t = END - timedelta(minutes=125) + step
            prime = sync(server, lake, t, work / "prime.log", "--initial-history",
                         f"{step.total_seconds():.0f}s")
            while t < END:
                t = min(END, t + step)
                prime = sync(server, lake, t, work / "prime.log")
        print(f"prime: {prime.detail['raw_rows']:,} rows, {prime.wall_s:.2f}s, "
              f"{prime.rss_mb:.0f} MB", flush=True)
        before = prime.detail["raw_rows"]
        for i in range(args.repeat):
            until = END + timedelta(minutes=bf.DELTA_MINUTES * (i + 1))
            c = sync(server, lake, until, work / f"steady-{i}.log")
            landed = c.detail["raw_rows"] - before
            before = c.detail["raw_rows"]
            runs.append({"wall_s": c.wall_s, "rss_mb": c.rss_mb, "cpu_s": c.cpu_s,
                         "landed_rows": landed})
            print(f"steady sync {i + 1}: {c.wall_s:.2f}s, peak RSS {c.rss_mb:.0f} MB, "
                  f"landed {landed:,}", flush=True)
        again = sync(server, lake, last, work / "again.log")
        idem = again.detail["raw_rows"] - before
        whole_rows = whole.detail["raw_rows"]
        print(f"a repeated sync landed {idem} rows; the lake holds {before:,} rows, a fresh "
              f"sync of the whole span {whole_rows:,}", flush=True)
    finally:
        server.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    peak = max(r["rss_mb"] for r in runs)
    ok = peak <= bf.SYNC_RSS_FLOOR_MB and idem == 0 and before == whole_rows
    print(f"{'PASS' if ok else 'FAIL'}: peak RSS {peak:.0f} MB (floor {bf.SYNC_RSS_FLOOR_MB}),"
          f" {'loss-free' if before == whole_rows else 'ROWS DIFFER'}, "
          f"{'idempotent' if idem == 0 else 'NOT IDEMPOTENT'}")
    save_results("sync-steady", {"benchmark": "sync-steady", "args": vars(args),
                                 "machine": machine, "runs": runs, "peak_rss_mb": peak,
                                 "repeat_landed": idem, "rows": before,
                                 "whole_span_rows": whole_rows, "ok": ok})
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
