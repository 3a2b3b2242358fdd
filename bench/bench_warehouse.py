"""Warehouse benchmark: the incremental build's cost must follow the delta, not the history.

    .venv/bin/python bench/bench_warehouse.py [--points 500] [--days 30] [--repeat 3]

What it does (see bench/README.md, section "Warehouse: bench_warehouse.py"), on a copy of
dbt_project/ taken at the start (so edits made meanwhile do not mix into the figures):

1. generates two landing lakes in a temp dir, exactly as docs/landing.md lays them out: a short
   one (``--short-days``, 1 day) and a long one (``--days``, 30 days) of 1-minute history for
   ``--points`` points (100 per site), one Parquet file per (site, UTC date, 6-hour chunk), with
   the site and point metadata snapshots (collect_interval 60);
2. builds each warehouse with ``dbt run --full-refresh`` (models only), timed, and runs the data
   tests once (``dbt test --exclude-resource-type unit_test``), timed separately; then moves
   the raw samples older than ``--hot-days`` (20) to the cold tier, as the main job does
   (extract/warehouse/tiers.py), timed, so both tiers are populated;
3. ``--repeat`` times: lands a 5-minute realtime delta (every point, 5 samples each) at the end
   of each lake's history as new files and runs ``dbt run``; then lands a late backfill into the
   long lake (one point, one whole UTC day, ``--late-days-back`` (25) days back, so in the
   cold tier, later ``extracted_at``, changed values) and runs ``dbt run`` again; plus one
   no-op ``dbt run`` (nothing new) per warehouse;
4. prints the table, checks the floors and writes the figures as JSON to
   ``bench/results/warehouse-<timestamp>.json``.

How it measures: every dbt command is a fresh ``.venv/bin/dbt`` process (as a scheduler runs
it); ``wall`` is the time around that process. ``model work`` is the sum of the models'
``execution_time`` in dbt's ``run_results.json`` (compile + execute of each model, the staging
views included); ``dbt start-up`` is wall minus model work: interpreter start-up, imports,
(partial) parsing, the on-run-start hook, connection and cache set-up, and writing the
artifacts. The timed runs use ``--threads 1`` by default, so that the models run one after the
other and wall = start-up + model work exactly (``--threads 0`` keeps the profile's 2; start-up
is then wall minus the models' span, as their summed times overlap). The CPU used by other
processes during each run is measured and reported: on a shared machine it inflates wall time.

Floors (the issue's): long/short model-work ratio <= 1.5; model work of the 5-minute
incremental <= 2 s; late-data model work <= 2x the normal incremental's. ``--check`` makes the
exit status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _machine import describe, format_machine, save_results  # noqa: E402

from extract.core.schema import POINT_SCHEMA, RAW_SCHEMA, SITE_SCHEMA  # noqa: E402
from extract.landing.lake import DICTIONARY_COLUMNS  # noqa: E402

DBT = REPO / ".venv" / "bin" / "dbt"
PROJECT_DIR = REPO / "dbt_project"

RATIO_FLOOR = 1.5       # long-history / short-history incremental model work
MODEL_WORK_FLOOR = 2.0  # seconds of model work for the 5-minute incremental
LATE_FLOOR = 2.0        # late-data / normal incremental model work

POINTS_PER_SITE = 100
CHUNK_MINUTES = 360     # the extractor's chunk: a raw file holds at most ~6 h of one UTC date
OVERLAP_MINUTES = 3     # each later chunk of a day re-lands the previous chunk's last minutes
DELTA_MINUTES = 5
LATE_DAYS_BACK = 25
US_PER_MIN = 60_000_000
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
         "Asia/Kolkata")
KINDS = ("zone_temp", "supply_air_temp", "return_air_temp", "mixed_air_temp",
         "duct_static_pressure", "fan_status", "damper_cmd", "zone_temp_setpoint",
         "energy_kwh_total", "co2")
UNITS = ("degF", "degF", "degF", "degF", "inH2O", None, "percent", "degF", "kWh", "ppm")

QUIET_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


# ---------------------------------------------------------------------------------------------
# The synthetic lake


def site_name(i: int) -> str:
    return f"bench_site_{i:02d}"


def run_id_at(t: datetime, tag: str) -> str:
    """A run id as the extractor makes them (``20261128T160139.482913Z-3f9a1c``)."""
    return f"{t.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{hashlib.sha1(tag.encode()).hexdigest()[:6]}"


def minute_of(t: datetime) -> int:
    return int(t.timestamp()) // 60


def at_minute(m: int) -> datetime:
    return datetime.fromtimestamp(m * 60, UTC)


@dataclass
class Catalogue:
    """``points`` points, 100 per site; point ``p`` is the ``p % 100``-th of site ``p // 100``."""

    points: int

    @property
    def sites(self) -> int:
        return math.ceil(self.points / POINTS_PER_SITE)

    def site_points(self, s: int) -> range:
        return range(s * POINTS_PER_SITE, min((s + 1) * POINTS_PER_SITE, self.points))

    @staticmethod
    def point_name(p: int) -> str:
        j = p % POINTS_PER_SITE
        return f"{site_name(p // POINTS_PER_SITE)}/ahu_{j // 10 + 1}/{KINDS[j % 10]}"


def sample_columns(cat: Catalogue, s: int, m_lo: int, m_hi: int, seed: int,
                   outages: bool) -> dict[str, pa.Array]:
    """One site's samples for minutes [m_lo, m_hi): every point once a minute, vectorised.

    Ten kinds of point per air handler: temperatures (a daily sine plus noise), a duct pressure,
    a 0/1 fan status and a 0-100 damper (many zeros), a constant setpoint, a growing energy
    meter, and a CO2 sensor that sends ``NaN`` (3 %), an empty text (0.5 %) or null (0.2 %).
    ``outages`` drops 20 minutes of about one point-hour in 2,000 (closed gaps).
    """
    pts = np.asarray(cat.site_points(s), dtype=np.int64)
    mins = np.arange(m_lo, m_hi, dtype=np.int64)
    pp = np.repeat(pts, mins.size)
    mm = np.tile(mins, pts.size)
    if outages:
        hour = (mm // 60).astype(np.uint64)
        x = (pp.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ hour * np.uint64(0xBF58476D1CE4E5B9))
        x ^= x >> np.uint64(31)
        minute = mm % 60
        keep = ~((x % np.uint64(2000) == 0) & (minute >= 10) & (minute < 30))
        pp, mm = pp[keep], mm[keep]
    n = pp.size
    rng = np.random.default_rng(seed)
    kind = (pp % POINTS_PER_SITE) % 10
    phase = (pp * 0.61) % (2 * np.pi)
    wave = np.sin((mm % 1440) * (2 * np.pi / 1440) + phase)
    noise = rng.normal(0.0, 0.08, n)
    val = np.empty(n)
    analog = kind < 4
    val[analog] = np.round(68 + 2 * kind[analog] + 4 * wave[analog] + noise[analog], 2)
    k = kind == 4
    val[k] = np.round(1.2 + 0.3 * wave[k] + noise[k] / 10, 3)
    k = kind == 5
    val[k] = (wave[k] > -0.3).astype(np.float64)
    k = kind == 6
    val[k] = np.round(np.clip(40 + 70 * wave[k], 0, 100), 1)
    k = kind == 7
    val[k] = 72.0
    k = kind == 8
    val[k] = np.round((mm[k] % 10_000_000) * 0.05 + pp[k], 2)
    k = kind == 9
    val[k] = np.round(420 + 300 * np.maximum(wave[k], 0) + 20 * noise[k])
    u = rng.random(n)
    flaky = kind == 9
    nan_text, empty_text, null_text = (flaky & (u < 0.03), flaky & (u >= 0.03) & (u < 0.035),
                                       flaky & (u >= 0.035) & (u < 0.037))
    non_numeric = nan_text | empty_text | null_text
    value_raw = pc.cast(pa.array(val), pa.string())
    value_raw = pc.if_else(pa.array(nan_text), pa.scalar("NaN"), value_raw)
    value_raw = pc.if_else(pa.array(empty_text), pa.scalar(""), value_raw)
    value_raw = pc.if_else(pa.array(null_text), pa.scalar(None, pa.string()), value_raw)
    offset_us = ((pp * 7919) % 59_000) * 1000  # each point reports at its own second
    names = np.array([Catalogue.point_name(p) for p in cat.site_points(s)], dtype=object)
    return {
        "point": pa.DictionaryArray.from_arrays(pa.array(pp - pts[0], pa.int32()),
                                                pa.array(names, pa.string())).cast(pa.string()),
        "ts": pa.array(mm * US_PER_MIN + offset_us, pa.timestamp("us", tz="UTC")),
        "value": pa.array(val, mask=non_numeric),
        "value_raw": value_raw,
    }


def raw_table(site: str, cols: dict[str, pa.Array], source: str, extracted_at: datetime,
              run_id: str) -> pa.Table:
    zeros = np.zeros(len(cols["ts"]), np.int32)

    def const(v: Any, t: pa.DataType) -> pa.Array:
        return pa.array([v], t).take(zeros)

    return pa.table({
        "site": const(site, pa.string()),
        "point": cols["point"],
        "ts": cols["ts"],
        "value": cols["value"],
        "value_raw": cols["value_raw"],
        "source": const(source, pa.string()),
        "extracted_at": const(extracted_at, pa.timestamp("us", tz="UTC")),
        "run_id": const(run_id, pa.string()),
    }).cast(RAW_SCHEMA)


def write_raw(lake: Path, site: str, table: pa.Table, run_id: str, seq: int) -> list[Path]:
    """Land a table as the extractor does: a file per UTC date, renamed into place."""
    days = pc.cast(pc.cast(table["ts"], pa.timestamp("us")), pa.date32())
    out = []
    for i, d in enumerate(sorted(pc.unique(days).to_pylist())):
        part = table.filter(pc.equal(days, pa.scalar(d, pa.date32())))
        folder = lake / "raw" / f"site={site}" / f"date={d.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{run_id}-{seq + i:05d}.parquet"
        tmp = folder / f".{name}.tmp"
        pq.write_table(part, tmp, compression="zstd", use_dictionary=DICTIONARY_COLUMNS,
                       row_group_size=1 << 20)
        os.replace(tmp, folder / name)
        out.append(folder / name)
    return out


def write_metadata(lake: Path, cat: Catalogue, extracted_at: datetime, run_id: str) -> None:
    sites = []
    for s in range(cat.sites):
        item = {"name": site_name(s), "id": 1000 + s, "nice_name": f"Bench site {s}",
                "client": "bench", "address": f"{s} Main St", "latitude": 40.0 + s,
                "longitude": -75.0 - s, "archived": False, "collect_enabled": True}
        sites.append({"site": site_name(s), "site_id": 1000 + s, "nice_name": item["nice_name"],
                      "client": "bench", "address": item["address"], "latitude": item["latitude"],
                      "longitude": item["longitude"], "archived": False, "collect_enabled": True,
                      "extracted_at": extracted_at, "run_id": run_id,
                      "raw_json": json.dumps(item, sort_keys=True)})
        rows = []
        for p in cat.site_points(s):
            j = p % POINTS_PER_SITE
            unit = UNITS[j % 10]
            kv = json.dumps({"unit": unit} if unit else {}, sort_keys=True)
            item = {"name": Catalogue.point_name(p), "id": 10_000 + p, "client": "bench",
                    "collect_enabled": True, "collect_interval": 60,
                    "point_type": "BACnet" if j % 10 != 8 else "Modbus", "kv_tags": kv,
                    "marker_tags": json.dumps(["point", KINDS[j % 10]]),
                    "bacnet_data": json.dumps({"device_id": 100 + j // 10, "object_instance": j}),
                    "collect_config": json.dumps({"interval": 60}),
                    "created": "2024-01-15T10:00:00Z", "updated": "2025-06-01T08:30:00Z"}
            rows.append({"site": site_name(s), "point": item["name"], "point_id": item["id"],
                         "client": "bench", "collect_enabled": True, "collect_interval": 60,
                         "point_type": item["point_type"], "kv_tags": kv,
                         "marker_tags": item["marker_tags"], "bacnet_data": item["bacnet_data"],
                         "collect_config": item["collect_config"], "created": item["created"],
                         "updated": item["updated"], "extracted_at": extracted_at,
                         "run_id": run_id, "raw_json": json.dumps(item, sort_keys=True)})
        folder = lake / "meta" / "points" / f"site={site_name(s)}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=POINT_SCHEMA),
                       folder / f"{run_id}.parquet", compression="zstd")
    (lake / "meta" / "sites").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(sites, schema=SITE_SCHEMA),
                   lake / "meta" / "sites" / f"{run_id}.parquet", compression="zstd")


@dataclass
class LakeStats:
    days: int
    files: int = 0
    landed_rows: int = 0
    bytes: int = 0
    seconds: float = 0.0


def generate_lake(lake: Path, cat: Catalogue, end: datetime, days: int, workers: int,
                  chunk_minutes: int = CHUNK_MINUTES) -> LakeStats:
    """``days`` days of history ending at ``end`` (exclusive), in 6-hour chunk files (a file
    per site and ``chunk_minutes``; 5 = the file count of a 5-minute sync schedule).

    Each chunk is landed by its own run shortly after it ends (extracted_at = chunk end + 60 s,
    source ``realtime``); a later chunk of a day also re-lands the previous chunk's last
    ``OVERLAP_MINUTES`` minutes with re-read values (the look-back window), so about 0.6 % of
    the landed rows are duplicate landings the ``samples`` model has to resolve.
    """
    t0 = time.perf_counter()
    start = end - timedelta(days=days)
    write_metadata(lake, cat, start - timedelta(minutes=5), run_id_at(start, "meta"))
    jobs = []
    m = minute_of(start)
    m_end = minute_of(end)
    while m < m_end:
        # chunks are aligned to 6-hour UTC boundaries, so a chunk never spans two dates
        hi = min((m // chunk_minutes + 1) * chunk_minutes, m_end)
        overlap = OVERLAP_MINUTES if chunk_minutes >= 60 else 0
        lo = m - overlap if m % 1440 != 0 and m > minute_of(start) else m
        jobs.append((lo, hi))
        m = hi

    def land(job: tuple[int, int]) -> tuple[int, int, int]:
        lo, hi = job
        extracted = at_minute(hi) + timedelta(seconds=60)
        rid = run_id_at(extracted, f"hist{lo}")
        rows = files = size = 0
        for s in range(cat.sites):
            cols = sample_columns(cat, s, lo, hi, seed=hash((s, lo)) & 0xFFFFFFFF, outages=True)
            tbl = raw_table(site_name(s), cols, "realtime", extracted, rid)
            for path in write_raw(lake, site_name(s), tbl, rid, 1):
                files += 1
                size += path.stat().st_size
            rows += tbl.num_rows
        return rows, files, size

    st = LakeStats(days=days)
    with ThreadPoolExecutor(workers) as pool:
        for rows, files, size in pool.map(land, jobs):
            st.landed_rows += rows
            st.files += files
            st.bytes += size
    st.seconds = time.perf_counter() - t0
    return st


def land_delta(lake: Path, cat: Catalogue, lo: datetime, extracted_at: datetime) -> int:
    """A realtime sync: every point's samples in [lo, lo + 5 min), a file per site."""
    rid = run_id_at(extracted_at, f"delta{lo.isoformat()}")
    n = 0
    for s in range(cat.sites):
        m = minute_of(lo)
        cols = sample_columns(cat, s, m, m + DELTA_MINUTES, seed=m * 31 + s, outages=False)
        tbl = raw_table(site_name(s), cols, "realtime", extracted_at, rid)
        write_raw(lake, site_name(s), tbl, rid, 1)
        n += tbl.num_rows
    return n


def land_late(lake: Path, cat: Catalogue, point: int, day_start: datetime,
              extracted_at: datetime) -> int:
    """A backfill of one point's whole UTC day, re-read with corrected values (+0.25)."""
    s = point // POINTS_PER_SITE
    m = minute_of(day_start)
    cols = sample_columns(cat, s, m, m + 1440, seed=point, outages=False)
    keep = pc.equal(cols["point"], pa.scalar(Catalogue.point_name(point)))
    one = {k: pc.filter(v, keep) for k, v in cols.items()}
    one["value"] = pc.add(one["value"], 0.25)
    one["value_raw"] = pc.if_else(pc.is_valid(one["value"]),
                                  pc.cast(one["value"], pa.string()), one["value_raw"])
    rid = run_id_at(extracted_at, f"late{point}")
    tbl = raw_table(site_name(s), one, "backfill", extracted_at, rid)
    write_raw(lake, site_name(s), tbl, rid, 1)
    return tbl.num_rows


# ---------------------------------------------------------------------------------------------
# Running dbt


@dataclass
class DbtRun:
    case: str
    history_days: int
    command: str
    samples: int            # landed rows this run processes
    wall_s: float
    model_work_s: float     # sum of the models' execution_time
    hooks_s: float          # on-run-start hook (its own result entry)
    startup_s: float        # dbt's fixed cost: wall - model work (- tests); see node_span
    tests_s: float = 0.0    # data tests' execution_time (dbt test runs only)
    n_nodes: int = 0
    nodes_span_s: float = 0.0  # first node's start to last node's end (hooks left out)
    models: dict[str, float] = field(default_factory=dict)
    loadavg: tuple[float, float] = (0.0, 0.0)
    partial_parse: bool | None = None
    cpu_s: float = 0.0            # user + system CPU of the dbt process (all threads)
    others_cores: float = 0.0     # CPU used by every other process during the run, in cores
    waited_quiet_s: float = 0.0   # time waited for the machine to calm down before the run


class Warehouse:
    """One lake, one DuckDB file, one target dir (so dbt's partial parsing works as in use)."""

    def __init__(self, root: Path, project: Path, days: int, vars_json: str, threads: int,
                 quiet_wait: float = 0.0, nice: int = 0) -> None:
        self.root = root
        self.project = project
        self.days = days
        self.lake = root / "lake"
        self.db = root / "warehouse.duckdb"
        self.target = root / "target"
        self.vars_json = vars_json
        self.threads = threads
        self.quiet_wait = quiet_wait
        self.nice = nice
        self.runs: list[DbtRun] = []
        self.log = root / "dbt.log"

    def dbt(self, case: str, verb: str, samples: int, *extra: str) -> DbtRun:
        argv = [str(DBT), verb, "--project-dir", str(self.project), "--profiles-dir", str(REPO),
                "--target-path", str(self.target), "--log-path", str(self.target / "logs"),
                "--vars", self.vars_json, *extra]
        if self.threads > 0:
            argv += ["--threads", str(self.threads)]
        env = {**os.environ, **QUIET_ENV, "LAKE_DIR": str(self.lake),
               "WAREHOUSE_PATH": str(self.db)}
        (self.target / "run_results.json").unlink(missing_ok=True)
        waited = wait_quiet(self.quiet_wait) if self.quiet_wait > 0 else 0.0
        out_path = self.root / "dbt.out"
        load0 = os.getloadavg()[0]
        busy0 = busy_cpu_s()
        with open(out_path, "w", encoding="utf-8") as out:
            t0 = time.perf_counter()
            proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out,
                                    stderr=subprocess.STDOUT,
                                    preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None)
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        busy1 = busy_cpu_s()
        load1 = os.getloadavg()[0]
        cpu = usage.ru_utime + usage.ru_stime
        others = max(0.0, (busy1 - busy0) - cpu) / wall
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(f"\n===== {case}: {' '.join(argv)}\n{stdout}")
        if proc.returncode != 0:
            tail = "\n".join(stdout.splitlines()[-30:])
            raise SystemExit(f"dbt {verb} failed for {case} (exit {proc.returncode}); "
                             f"log: {self.log}\n{tail}")
        results = json.loads((self.target / "run_results.json").read_text())["results"]
        models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results
                  if r["unique_id"].startswith("model.")}
        hooks = sum(r["execution_time"] for r in results if r["unique_id"].startswith("operation."))
        tests = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
        bad = [r["unique_id"] for r in results
               if r["status"] not in ("success", "pass", "warn")]
        if bad:
            raise SystemExit(f"dbt {verb} for {case}: not successful: {bad}; log: {self.log}")
        work = sum(models.values())
        span = node_span([r for r in results if not r["unique_id"].startswith("operation.")])
        # one thread: the nodes run one after the other, wall = start-up + their summed times;
        # more threads: their times overlap, so start-up is wall minus their span instead
        startup = wall - work - tests if self.threads == 1 else wall - span
        partial = "Unable to do partial parsing" not in stdout
        run = DbtRun(case=case, history_days=self.days, command=" ".join(argv[1:2] + list(extra)),
                     samples=samples, wall_s=wall, model_work_s=work, hooks_s=hooks,
                     startup_s=startup, tests_s=tests, n_nodes=len(results), nodes_span_s=span,
                     models=dict(sorted(models.items(), key=lambda kv: -kv[1])),
                     loadavg=(load0, load1), partial_parse=partial, cpu_s=cpu,
                     others_cores=others, waited_quiet_s=waited)
        self.runs.append(run)
        return run

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import duckdb

        con = duckdb.connect(str(self.db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def node_span(results: list[dict[str, Any]]) -> float:
    """Seconds from the first node's start to the last node's end (run_results timing)."""
    starts, ends = [], []
    for r in results:
        for t in r.get("timing") or []:
            if t.get("started_at") and t.get("completed_at"):
                starts.append(datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")))
                ends.append(datetime.fromisoformat(t["completed_at"].replace("Z", "+00:00")))
    return (max(ends) - min(starts)).total_seconds() if starts else 0.0


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat, all CPUs)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet(max_s: float, threshold: float = 0.3, sample_s: float = 0.5) -> float:
    """Wait (at most ``max_s``) until other processes use less than ``threshold`` cores."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_s:
        b0 = busy_cpu_s()
        time.sleep(sample_s)
        if (busy_cpu_s() - b0) / sample_s < threshold:
            break
    return time.perf_counter() - t0


def progress(r: DbtRun) -> None:
    top = ", ".join(f"{k} {v:.2f}" for k, v in list(r.models.items())[:3])
    extra = f", tests {r.tests_s:.2f}s" if r.tests_s else ""
    print(f"  {r.case:<22} {r.history_days:>3}d {r.samples:>11,} samples: wall {r.wall_s:6.2f}s, "
          f"model work {r.model_work_s:6.2f}s, start-up {r.startup_s:5.2f}s{extra}, "
          f"CPU {r.cpu_s:6.2f}s (others {r.others_cores:.1f} cores; top: {top})", flush=True)


# ---------------------------------------------------------------------------------------------
# Report


def median_run(runs: list[DbtRun]) -> DbtRun:
    """The run of median model work (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.model_work_s)
    return ordered[(len(ordered) - 1) // 2]


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (f"{'case':<28} {'history':>7} {'samples':>12} {'model work s':>12} "
            f"{'(min-max)':>11} {'dbt start-up s':>14} {'wall s':>8} {'CPU s':>7} "
            f"{'others':>6} {'samples/s':>11}")
    lines = [head, "-" * len(head)]
    for r in rows:
        rate = f"{r['samples_per_s']:>11,.0f}" if r.get("samples_per_s") else ""
        spread = (f"{r['model_work_min_s']:.2f}-{r['model_work_max_s']:.2f}"
                  if "model_work_min_s" in r else "")
        lines.append(f"{r['case']:<28} {r['history']:>7} {r['samples']:>12,} "
                     f"{r['model_work_s']:>12.2f} {spread:>11} {r['startup_s']:>14.2f} "
                     f"{r['wall_s']:>8.2f} {r['cpu_s']:>7.2f} {r['others_cores']:>6.1f} "
                     f"{rate:>11}".rstrip())
    return "\n".join(lines)


def repeated_row(case: str, history: str, runs: list[DbtRun]) -> dict[str, Any]:
    work = [r.model_work_s for r in runs]
    return {"case": case, "history": history, "samples": runs[0].samples,
            "model_work_s": med(work), "model_work_min_s": min(work),
            "model_work_max_s": max(work), "startup_s": med([r.startup_s for r in runs]),
            "wall_s": med([r.wall_s for r in runs]), "cpu_s": med([r.cpu_s for r in runs]),
            "others_cores": med([r.others_cores for r in runs])}


def single_row(case: str, history: str, r: DbtRun, work: float | None = None,
               rate: bool = False) -> dict[str, Any]:
    row = {"case": case, "history": history, "samples": r.samples,
           "model_work_s": r.model_work_s if work is None else work,
           "startup_s": r.startup_s, "wall_s": r.wall_s, "cpu_s": r.cpu_s,
           "others_cores": r.others_cores}
    if rate:
        row["samples_per_s"] = r.samples / r.wall_s
    return row


def project_digest(project: Path) -> str:
    """A hash of a dbt project's sources (target/, logs/ and dbt_packages/ left out)."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        rel = path.relative_to(project)
        if path.is_file() and rel.parts[0] not in ("target", "logs", "dbt_packages"):
            digest.update(str(rel).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_project(dest: Path) -> Path:
    """Copy dbt_project/ (its sources) to ``dest``: every run of one benchmark measures the same
    models even if someone edits dbt_project/ meanwhile."""
    shutil.copytree(PROJECT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs",
                                                                     "dbt_packages"))
    return dest


def code_fingerprint(measured: Path) -> dict[str, Any]:
    """Which warehouse code was measured: HEAD, files changed since, a hash of the snapshot."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""
    changed = [line[3:] for line in git("status", "--porcelain", "--", "dbt_project").splitlines()
               if line.strip()]
    return {"head": git("rev-parse", "--short", "HEAD"), "dbt_project_changed": changed,
            "dbt_project_sha256": project_digest(measured)}


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=500, help="points, 100 per site (500)")
    ap.add_argument("--days", type=int, default=30, help="days of history of the long lake (30)")
    ap.add_argument("--short-days", type=int, default=1, help="days of the short lake (1)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh deltas per case (3)")
    ap.add_argument("--chunk-minutes", type=int, default=CHUNK_MINUTES,
                    help=f"minutes of history per landed file and site ({CHUNK_MINUTES}: the "
                    "extractor's 6-hour chunk; 5: as many files as 5-minute syncs land)")
    ap.add_argument("--threads", type=int, default=1,
                    help="dbt --threads for every run (1); 0 keeps the profile's")
    ap.add_argument("--end", help="end of the history (UTC ISO time); default: now, floored to "
                    "5 minutes, minus 5 minutes per repeat and 10 minutes")
    ap.add_argument("--quiet-wait", type=float, default=10.0,
                    help="before each dbt run, wait up to this many seconds for other "
                    "processes to use < 0.3 cores (10; 0 = never wait)")
    ap.add_argument("--nice", type=int, default=0,
                    help="run dbt at this niceness (0); a negative value (root only) shields "
                    "the measured process from other load on a shared machine")
    ap.add_argument("--hot-days", type=int, default=20,
                    help="move raw samples older than this many days to the cold tier after "
                    "the full refresh (20, the default hot_days); -1: no move")
    ap.add_argument("--late-days-back", type=int, default=LATE_DAYS_BACK,
                    help=f"how many days back the late day lands ({LATE_DAYS_BACK}: in the cold "
                    "tier when --hot-days is 20)")
    ap.add_argument("--skip-tests", action="store_true", help="do not time the data tests")
    ap.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (lakes, warehouses)")
    ap.add_argument("--workdir", help="parent of the temp work dir (default: system temp)")
    args = ap.parse_args(argv)
    if args.chunk_minutes <= 0 or 1440 % args.chunk_minutes:
        ap.error("--chunk-minutes must divide a day (1440)")
    if args.days <= args.late_days_back:
        ap.error(f"--days must exceed --late-days-back ({args.late_days_back})")

    machine = describe()
    print(format_machine(machine), flush=True)
    load = os.getloadavg()
    usable = machine.get("usable_cpus") or 1
    if load[0] > 0.5 * usable:
        print(f"WARNING: the machine is busy (1-min load {load[0]:.1f} on {usable} CPUs): "
              "wall-clock figures will be noisy", flush=True)

    if args.end:
        end = datetime.fromisoformat(args.end).astimezone(UTC)
    else:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        end = now - timedelta(minutes=now.minute % 5 + DELTA_MINUTES * args.repeat + 10)
    cat = Catalogue(args.points)
    zones = {site_name(s): ZONES[s % len(ZONES)] for s in range(cat.sites)}
    vars_json = json.dumps({"site_timezones": zones}, sort_keys=True)
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-warehouse-", dir=args.workdir))
    print(f"work dir {work}; history ends {end:%Y-%m-%d %H:%M}Z; {cat.points} points on "
          f"{cat.sites} sites; dbt --threads {args.threads or 'profile'}"
          + (f", nice {args.nice}" if args.nice else ""), flush=True)
    try:
        project = snapshot_project(work / "dbt_project")
        code = code_fingerprint(project)
        print(f"measuring a snapshot of dbt_project/ (sha256 {code['dbt_project_sha256']})",
              flush=True)
        whs = {}
        lakes = {}
        for days in (args.short_days, args.days):
            wh = Warehouse(work / f"d{days}", project, days, vars_json, args.threads,
                           args.quiet_wait, args.nice)
            wh.lake.mkdir(parents=True)
            st = generate_lake(wh.lake, cat, end, days, workers=max(2, usable),
                               chunk_minutes=args.chunk_minutes)
            lakes[days] = st
            whs[days] = wh
            print(f"lake {days:>2}d: {st.landed_rows:,} landed rows in {st.files} files "
                  f"({st.bytes / 2**20:.0f} MiB) generated in {st.seconds:.1f}s", flush=True)

        print("full refresh (dbt run --full-refresh):", flush=True)
        full: dict[int, DbtRun] = {}
        for days, wh in whs.items():
            full[days] = wh.dbt("full refresh", "run", lakes[days].landed_rows, "--full-refresh")
            progress(full[days])
        distinct = {days: wh.query("select count(*) from samples")[0][0]
                    for days, wh in whs.items()}
        moves: dict[int, dict[str, Any]] = {}
        if args.hot_days >= 0:
            from extract.warehouse.tiers import describe as describe_move
            from extract.warehouse.tiers import move_to_cold

            print(f"move to the cold tier (hot_days {args.hot_days}):", flush=True)
            for days, wh in whs.items():
                moved = move_to_cold(wh.db, wh.lake, args.hot_days, end)
                moves[days] = describe_move(moved)
                print(f"  {days:>2}d: {moves[days]}", flush=True)

        tests: dict[int, DbtRun] = {}
        if not args.skip_tests:
            print("data tests (dbt test --exclude-resource-type unit_test):", flush=True)
            for days, wh in whs.items():
                tests[days] = wh.dbt("data tests", "test", 0, "--exclude-resource-type",
                                     "unit_test")
                progress(tests[days])

        print(f"incremental runs (dbt run), {args.repeat} x:", flush=True)
        normal: dict[int, list[DbtRun]] = {d: [] for d in whs}
        late: list[DbtRun] = []
        late_points = []
        late_day = (end - timedelta(days=args.late_days_back)).replace(hour=0, minute=0)
        for i in range(args.repeat):
            lo = end + timedelta(minutes=DELTA_MINUTES * i)
            extracted = lo + timedelta(minutes=DELTA_MINUTES, seconds=30)
            for days, wh in whs.items():
                n = land_delta(wh.lake, cat, lo, extracted)
                normal[days].append(wh.dbt(f"5-min delta #{i + 1}", "run", n))
                progress(normal[days][-1])
            # a different point each time, spread over the sites and the kinds
            point = (i * (POINTS_PER_SITE + 7) + 3) % cat.points
            late_points.append(point)
            n = land_late(whs[args.days].lake, cat, point, late_day,
                          extracted + timedelta(seconds=10))
            late.append(whs[args.days].dbt(f"late day #{i + 1}", "run", n))
            progress(late[-1])

        print("no-op incremental (nothing new landed):", flush=True)
        noop = {}
        for days, wh in whs.items():
            noop[days] = wh.dbt("no-op", "run", 0)
            progress(noop[days])

        t0 = time.perf_counter()
        subprocess.run([str(DBT), "--version"], capture_output=True,
                       env={**os.environ, **QUIET_ENV})
        cli_s = time.perf_counter() - t0

        # sanity: every landed key is in samples once, and the late values won
        long_wh = whs[args.days]
        checks = {}
        for days, wh in whs.items():
            got = wh.query("select count(*) from timeseries")[0][0]
            checks[f"samples_{days}d"] = {"expected": distinct[days] + args.points
                                          * DELTA_MINUTES * args.repeat, "actual": got}
        won = long_wh.query(f"""
            select count(*) from timeseries
            where source = 'backfill' and ts >= timestamptz '{late_day.isoformat()}'
              and ts < timestamptz '{(late_day + timedelta(days=1)).isoformat()}'""")[0][0]
        checks["late_rows_won"] = {"expected": sum(r.samples for r in late), "actual": won}
        failed_checks = {k: v for k, v in checks.items() if v["expected"] != v["actual"]}

        # ---- figures
        short, long_ = args.short_days, args.days
        med_work = {d: med([r.model_work_s for r in normal[d]]) for d in whs}
        med_start = {d: med([r.startup_s for r in normal[d]]) for d in whs}
        med_wall = {d: med([r.wall_s for r in normal[d]]) for d in whs}
        late_work = med([r.model_work_s for r in late])
        ratio = med_work[long_] / med_work[short]
        late_ratio = late_work / med_work[long_]
        late_wall_ratio = med([r.wall_s for r in late]) / med_wall[long_]
        fr = full[long_]
        fr_rate_work = fr.samples / fr.model_work_s
        fr_rate_wall = fr.samples / fr.wall_s

        rows: list[dict[str, Any]] = []
        for d in whs:
            rows.append(single_row("full refresh", f"{d}d", full[d], rate=True))
        for d in whs:
            if d in tests:
                t = tests[d]
                rows.append(single_row(f"data tests ({t.n_nodes} tests)", f"{d}d", t,
                                       work=t.tests_s))
        for d in whs:
            rows.append(single_row("no-op incremental", f"{d}d", noop[d]))
        for d in whs:
            rows.append(repeated_row(f"5-min delta (median of {args.repeat})", f"{d}d",
                                     normal[d]))
        rows.append(repeated_row(f"late day (median of {args.repeat})", f"{long_}d", late))

        floors = [
            {"floor": f"{long_}d/{short}d incremental model work <= {RATIO_FLOOR}",
             "value": ratio, "unit": "x", "ok": ratio <= RATIO_FLOOR},
            {"floor": f"5-min incremental model work ({long_}d) <= {MODEL_WORK_FLOOR} s",
             "value": med_work[long_], "unit": "s", "ok": med_work[long_] <= MODEL_WORK_FLOOR},
            {"floor": f"late-day / 5-min incremental model work ({long_}d) <= {LATE_FLOOR}x",
             "value": late_ratio, "unit": "x", "ok": late_ratio <= LATE_FLOOR},
        ]

        print()
        print(format_table(rows))
        print()
        print(f"full refresh of the {long_}-day warehouse: {fr.samples:,} landed rows "
              f"({distinct[long_]:,} distinct samples): {fr_rate_wall:,.0f} samples/s on wall "
              f"time, {fr_rate_work:,.0f} samples/s on model work")
        print(f"dbt start-up of an incremental run (wall - model work): "
              f"{med_start[short]:.2f}s ({short}d), {med_start[long_]:.2f}s ({long_}d); "
              f"no-op run: wall {noop[long_].wall_s:.2f}s, of which model work "
              f"{noop[long_].model_work_s:.2f}s; `dbt --version` alone: {cli_s:.2f}s")
        print(f"late / normal on wall time: {late_wall_ratio:.2f}x")
        print("models' span (first model's start to last one's end), median: "
              f"{short}d delta {med([r.nodes_span_s for r in normal[short]]):.2f}s, "
              f"{long_}d delta {med([r.nodes_span_s for r in normal[long_]]):.2f}s, "
              f"{long_}d late {med([r.nodes_span_s for r in late]):.2f}s"
              + ("" if args.threads == 1 else " (with several threads the models overlap and "
                 "wait on each other, so their summed times exceed the span)"))
        print("model work above the no-op run's (the part that depends on the data): "
              + ", ".join(f"{label} {work - base:+.2f}s" for label, work, base in (
                  (f"{short}d delta", med_work[short], noop[short].model_work_s),
                  (f"{long_}d delta", med_work[long_], noop[long_].model_work_s),
                  (f"{long_}d late", late_work, noop[long_].model_work_s))))
        print()
        for f in floors:
            print(f"{verdict(f['ok'])}  {f['floor']:<60} {f['value']:.2f}{f['unit']}")
        print()
        print("per-model execution time (s), median runs:")
        cols = {f"{short}d delta": median_run(normal[short]),
                f"{long_}d delta": median_run(normal[long_]),
                f"{long_}d late": median_run(late), f"{long_}d no-op": noop[long_],
                f"{long_}d full": fr}
        names = list(fr.models)
        print(f"  {'model':<24}" + "".join(f"{c:>13}" for c in cols))
        for name in names:
            print(f"  {name:<24}" + "".join(f"{r.models.get(name, float('nan')):>13.3f}"
                                            for r in cols.values()))
        print(f"  {'(sum)':<24}" + "".join(f"{r.model_work_s:>13.3f}" for r in cols.values()))
        timed = [r for d in whs for r in normal[d]] + late
        busy = med([r.others_cores for r in timed])
        if busy > 0.3:
            print(f"\nWARNING: other processes used {busy:.1f} of {usable} cores (median) during "
                  "the timed incremental runs: wall-clock figures are inflated; compare CPU s, "
                  "or re-run on a quiet machine")
        code_changed = project_digest(PROJECT_DIR) != code["dbt_project_sha256"]
        if code_changed:
            print("\nnote: dbt_project/ was edited while the benchmark ran; the figures are "
                  f"those of the snapshot taken at the start ({code['dbt_project_sha256']})")
        if failed_checks:
            print(f"\nWARNING: sanity checks failed: {failed_checks}")
        total = time.perf_counter() - t_start
        print(f"\ntotal {total:.0f}s")

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        doc = {
            "benchmark": "warehouse",
            "when": stamp,
            "args": vars(args),
            "history_end": end.isoformat(),
            "dbt_vars": json.loads(vars_json),
            "machine": machine,
            "code": code,
            "code_changed_during_run": code_changed,
            "lakes": {f"{d}d": asdict(s) for d, s in lakes.items()},
            "distinct_samples": {f"{d}d": n for d, n in distinct.items()},
            "table": rows,
            "floors": floors,
            "full_refresh_samples_per_s": {"wall": fr_rate_wall, "model_work": fr_rate_work},
            "late_points": [Catalogue.point_name(p) for p in late_points],
            "late_day": late_day.date().isoformat(),
            "late_over_normal_wall": late_wall_ratio,
            "dbt_version_wall_s": cli_s,
            "checks": checks,
            "cold_moves": {f"{d}d": m for d, m in moves.items()},
            "runs": [asdict(r) for wh in whs.values() for r in wh.runs],
            "total_seconds": total,
        }
        save_results("warehouse", doc)
        missed = [f for f in floors if not f["ok"]]
        return 1 if (args.check and missed) or failed_checks else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
