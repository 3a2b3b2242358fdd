"""Raw retention: bytes per sample in raw/ and in the cold tier, and what a prune costs.

    .venv/bin/python bench/bench_retention.py [--points 200] [--days 30] [--hot-days 20]

What it does (docs/operations.md, "Raw retention"), in a temp dir:

1. generates a lake as ``bench_warehouse.py`` does (``--points`` points, 100 per site, 1-minute
   samples for ``--days`` days, one raw file per site, UTC date and 6-hour chunk, each later
   chunk of a day re-landing the previous chunk's last 3 minutes, as the look-back does);
2. builds the warehouse (``dbt run --full-refresh``, models only) and moves the samples older
   than ``--hot-days`` to the cold tier (extract/warehouse/tiers.py, as the main job does);
3. prunes with ``--older-than-days`` = ``--hot-days`` (every raw file the cold tier holds),
   timed, and reports the raw files deleted, their bytes per landed row and per distinct
   sample, the cold tier's bytes per sample, and the rows and bytes of the record a rebuild
   reads (the landings Parquet files under ``state/retention/landings/``) and of the
   warehouse's ``raw_pruned`` table (the file's growth, after a checkpoint).

Prints the figures and the machine, and writes them to ``bench/results/retention-<ts>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _machine import describe, format_machine, save_results  # noqa: E402
from bench_warehouse import DBT, QUIET_ENV, Catalogue, generate_lake  # noqa: E402

from extract.warehouse import prunelog  # noqa: E402
from extract.warehouse.retention import prune_raw  # noqa: E402
from extract.warehouse.tiers import move_to_cold  # noqa: E402

END = datetime(2026, 1, 31, tzinfo=UTC)


def _rows(files: list[Path]) -> int:
    return sum(pq.read_metadata(f).num_rows for f in files)


def _checkpointed_size(wh: Path) -> int:
    con = duckdb.connect(str(wh))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    return wh.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--hot-days", type=int, default=20)
    args = ap.parse_args(argv)
    machine = describe()
    print(format_machine(machine), flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-retention-") as tmp:
        root = Path(tmp)
        lake, wh = root / "lake", root / "warehouse.duckdb"
        st = generate_lake(lake, Catalogue(args.points), END, args.days, workers=2)
        print(f"lake: {st.files:,} raw files, {st.landed_rows:,} landed rows, "
              f"{st.bytes / 1e6:.1f} MB ({st.seconds:.1f}s)", flush=True)
        env = {**os.environ, **QUIET_ENV, "LAKE_DIR": str(lake), "WAREHOUSE_PATH": str(wh)}
        t0 = time.perf_counter()
        subprocess.run([str(DBT), "run", "--full-refresh", "--project-dir", "dbt_project",
                        "--profiles-dir", ".", "--target-path", str(root / "target"),
                        "--log-path", str(root / "logs"), "--threads", "1", "--quiet"],
                       cwd=REPO, env=env, check=True)
        build_s = time.perf_counter() - t0
        moved = move_to_cold(wh, lake, args.hot_days, now=END)
        cold_files = sorted((lake / "cold").glob("site=*/month=*/*.parquet"))
        cold_bytes = sum(f.stat().st_size for f in cold_files)
        cold_rows = _rows(cold_files)
        raw_before = sorted((lake / "raw").rglob("*.parquet"))
        wh_before = _checkpointed_size(wh)
        t0 = time.perf_counter()
        res = prune_raw(wh, lake, args.hot_days, now=END)
        prune_s = time.perf_counter() - t0
        pruned_bytes = res.bytes_freed
        pruned_rows = sum(int(f["rows"]) for f in res.deleted)
        landings = sorted(prunelog.landings_dir(lake).glob("*.parquet"))
        ledger_rows = _rows(landings)
        ledger_bytes = sum(f.stat().st_size for f in landings)
        wh_growth = _checkpointed_size(wh) - wh_before
        raw_after = sorted((lake / "raw").rglob("*.parquet"))
    figures: dict[str, Any] = {
        "points": args.points, "days": args.days, "hot_days": args.hot_days,
        "raw_files": len(raw_before), "landed_rows": st.landed_rows, "build_s": round(build_s, 1),
        "cold_until": str(moved.cold_until), "cold_files": len(cold_files),
        "cold_samples": cold_rows, "cold_bytes": cold_bytes,
        "cold_bytes_per_sample": round(cold_bytes / cold_rows, 3),
        "pruned_files": len(res.deleted), "pruned_rows": pruned_rows,
        "pruned_bytes": pruned_bytes,
        "raw_bytes_per_landed_row": round(pruned_bytes / pruned_rows, 3),
        "raw_bytes_per_sample": round(pruned_bytes / cold_rows, 3),
        "raw_files_left": len(raw_after), "kept_not_in_cold": len(res.kept),
        "prune_s": round(prune_s, 2),
        "landings_files": len(landings), "landings_rows": ledger_rows,
        "landings_bytes": ledger_bytes,
        "landings_bytes_per_sample": round(ledger_bytes / cold_rows, 4),
        "warehouse_growth_bytes": wh_growth,
    }
    print(f"""
raw retention, {args.points} points x {args.days} days of 1-minute samples, hot_days {args.hot_days}
  cold tier          {cold_rows:,} samples in {len(cold_files)} files, {cold_bytes / 1e6:.1f} MB: \
{figures['cold_bytes_per_sample']} bytes/sample
  raw pruned         {len(res.deleted):,} files, {pruned_rows:,} landed rows, \
{pruned_bytes / 1e6:.1f} MB: {figures['raw_bytes_per_landed_row']} bytes/landed row, \
{figures['raw_bytes_per_sample']} bytes/sample
  kept               {len(raw_after):,} raw files (the hot days), {len(res.kept)} judged not in cold
  prune              {prune_s:.2f}s ({res.checked:,} files judged)
  rebuild record     {len(landings)} landings files, {ledger_rows:,} rows, \
{ledger_bytes / 1e6:.2f} MB ({figures['landings_bytes_per_sample']} bytes/sample); \
warehouse file {wh_growth / 1e6:+.2f} MB (raw_pruned)
""", flush=True)
    path = save_results("retention", {"machine": machine, "figures": figures})
    print(f"written {path}")
    print(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
