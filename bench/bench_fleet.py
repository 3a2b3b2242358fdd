"""Fleet benchmark: every step of the scheduled run on a 5,000-point site and a 50-site fleet.

    .venv/bin/python bench/bench_fleet.py [--cases site-30d,site-1d,fleet] [--quick] [--check]

What it does (bench/README.md, "Fleet: bench_fleet.py"), per case, in a temp dir:

1. generates the landing lake with bench_warehouse.py's generator (numpy + pyarrow, written
   straight in the layout of docs/landing.md): ``site-30d`` is one site of 5,000 points with
   30 days of 1-minute history (216 M samples), ``site-1d`` the same site with 1 day, and
   ``fleet`` 50 sites of 1,000 points with 2 days (144 M samples);
2. builds the warehouse by full refresh (``dbt run --full-refresh``), timed (samples/s), then
   does the first tier move and lake check, so the scheduled runs start from a steady state;
3. ``--repeat`` scheduled runs, each step a fresh process as the main job
   (extract/ops/mainjob.py) runs it: ``python -m extract sync`` of one 5-minute window from
   the local stand-in (``python -m extract.standin`` with the case's sites and points), gap
   repair's read of ``point_gaps``, the lake check, ``dbt build`` (model work and dbt start-up
   separately, from run_results.json), the tier move, ``python -m extract publish``,
   ``python -m extract report`` and ``python -m extract status``; the build processes a
   5-minute delta of every point landed in the case's lake (the stand-in's sites have other
   names, so the sync lands into a lake of its own);
4. once: a steady-state sync with the default 2-hour look-back, and a tier move at a UTC day
   boundary (the cold boundary moves by a day: each site's month file is rewritten);
5. disk bytes per sample of each tier (raw, cold, the warehouse file, the published snapshot);
6. prints the tables and the floors, writes ``bench/results/fleet-<timestamp>.json``.

How it measures: every step is a fresh process started through a tiny launcher (so its peak
RSS from ``wait4`` is its own, not the benchmark's: see bench_extract.py); ``wall`` is the
time around the process, ``work`` the time the step's function or command took inside it
(interpreter start-up and imports left out; for ``dbt build``, the models' execution_time).
The CPU that other processes used meanwhile is recorded (``others``, in cores).

Floors (the issue's; ``--check`` exits 1 when one is missed): 5-minute delta model work
30d/1d <= 1.5 at 5,000 points and <= 10 s at 50,000 points; publish, tier move, report, status
and gap repair's read 30d/1d <= 1.5 each; the whole scheduled run at 50,000 points <= 60 s;
publish writes <= 5 % of the warehouse's bytes per run at 30 days; full refresh >= 1,000,000
samples/s at 5,000 points; peak RSS of a build <= 8 GB, of the sync <= 400 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import bench_warehouse as bw  # noqa: E402
from _machine import describe, format_machine, save_results  # noqa: E402

from extract.landing.checkpoint import write_checkpoint  # noqa: E402
from extract.landing.lake import Lake  # noqa: E402

TOKEN = "bench-fleet-token"
MB = 1024 * 1024
HOT_DAYS = 20
DELTA_MINUTES = 5

RATIO_FLOOR = 1.5               # 30-day / 1-day, per step
FLEET_MODEL_WORK_FLOOR = 10.0   # s of model work for a 5-minute delta at 50,000 points
FLEET_RUN_FLOOR = 60.0          # s for the whole scheduled run at 50,000 points
PUBLISH_SHARE_FLOOR = 0.05      # bytes a publish writes / the warehouse's bytes
FULL_REFRESH_FLOOR = 1_000_000  # samples/s at 5,000 points
BUILD_RSS_FLOOR_MB = 8 * 1024
SYNC_RSS_FLOOR_MB = 400

#: the steps of one scheduled run, in the main job's order (status is the monitoring call
#: between runs: timed, but not part of the run's total)
RUN_STEPS = ("sync", "repair read", "lake check", "dbt build", "tier move", "publish", "report")
STEPS = (*RUN_STEPS, "status")
#: steps whose 30d/1d ratio is a floor (the build's is on its model work)
RATIO_STEPS = ("publish", "tier move", "report", "status", "repair read")


@dataclass(frozen=True)
class Shape:
    sites: int
    per_site: int
    days: int

    @property
    def points(self) -> int:
        return self.sites * self.per_site

    @property
    def samples(self) -> int:
        return self.points * self.days * 1440


FULL = {"site-30d": Shape(1, 5000, 30), "site-1d": Shape(1, 5000, 1),
        "fleet": Shape(50, 1000, 2)}
#: --quick: the same steps at reduced size (21 days, so the cold tier holds a day)
QUICK = {"site-30d": Shape(1, 100, 21), "site-1d": Shape(1, 100, 1),
         "fleet": Shape(5, 100, 2)}


# ---------------------------------------------------------------------------------------------
# Fresh processes, measured

# A child started straight from this process (which holds GBs after generating a lake) would
# report this process's RSS high-water mark as its own (Linux folds it in at exec): each step
# is started by this launcher (``python -S``, a few MB), which reads its child's with wait4.
LAUNCHER = r"""
import json, os, subprocess, sys, time
argv, cwd, result_path, out_path = json.loads(sys.argv[1])
with open(out_path, "ab") as out:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
with open(result_path, "w") as f:
    # ru_oublock: the child's write_bytes of /proc/<pid>/io in 512-byte units (bytes it
    # sent to files, counted when the pages are dirtied), the measure bench_publish.py uses
    json.dump({"seconds": seconds, "maxrss_kib": ru.ru_maxrss,
               "cpu_s": ru.ru_utime + ru.ru_stime, "written_bytes": ru.ru_oublock * 512,
               "status": os.waitstatus_to_exitcode(status)}, f)
"""

# What a step runs inside its fresh process: the main job's function, or a CLI command through
# extract.cli.main, timed inside (after the interpreter's start-up and the top-level imports).
STEP_CHILD = r"""
import json, sys, time
from datetime import datetime
from pathlib import Path
mode, a = sys.argv[1], json.loads(sys.argv[2])
now = datetime.fromisoformat(a["now"])
out = {}
if mode == "repair read":
    from extract.core.config import Settings
    from extract.landing.repair import gaps_since
    from extract.warehouse.gaps import gap_snapshot, read_gaps
    settings = Settings.from_env()
    t = time.perf_counter()
    gaps = read_gaps(Path(a["warehouse"]), gaps_since(settings, now))
    out["work_s"] = time.perf_counter() - t
    out["gaps"] = None if gaps is None else len(gaps)
    t = time.perf_counter()
    snap = gap_snapshot(Path(a["warehouse"]))
    out["gap_snapshot_s"] = time.perf_counter() - t
    out["point_gaps_rows"] = None if snap is None else snap.num_rows
elif mode == "lake check":
    from extract.warehouse.lakecheck import check_lake
    t = time.perf_counter()
    found = check_lake(Path(a["warehouse"]), Path(a["lake"]), a["run_id"], now=now)
    out["work_s"] = time.perf_counter() - t
    out.update(found.as_dict())
elif mode == "tier move":
    from extract.warehouse.tiers import describe, move_to_cold
    t = time.perf_counter()
    moved = move_to_cold(Path(a["warehouse"]), Path(a["lake"]), a["hot_days"], now=now)
    out["work_s"] = time.perf_counter() - t
    out.update(describe(moved))
else:  # a CLI command: publish, report, status
    from extract.cli import main
    t = time.perf_counter()
    out["exit"] = main(a["argv"])
    out["work_s"] = time.perf_counter() - t
with open(a["result"], "w") as f:
    json.dump(out, f, default=str)
"""


@dataclass
class Child:
    step: str
    wall_s: float
    work_s: float
    rss_mb: float
    cpu_s: float
    others_cores: float
    status: int
    detail: dict[str, Any] = field(default_factory=dict)


def run_child(step: str, argv: list[str], env: dict[str, str], log: Path,
              ok_status: tuple[int, ...] = (0,)) -> Child:
    """Run ``argv`` as a fresh process: wall, peak RSS, CPU, the other processes' CPU."""
    result = log.parent / f".{log.name}.rusage.json"
    with open(log, "ab") as f:
        f.write(f"\n===== {step}: {' '.join(argv)}\n".encode())
    busy0 = bw.busy_cpu_s()
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-S", "-c", LAUNCHER,
                           json.dumps([argv, str(REPO), str(result), str(log)])],
                          env=env, cwd=REPO, capture_output=True)
    wall = time.perf_counter() - t0
    busy = bw.busy_cpu_s() - busy0
    if proc.returncode != 0 or not result.exists():
        raise SystemExit(f"{step}: the launcher failed ({proc.returncode}): "
                         f"{proc.stderr.decode(errors='replace')[-2000:]}")
    r = json.loads(result.read_text())
    result.unlink()
    if r["status"] not in ok_status:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{step} exited {r['status']}; log {log}\n{tail}")
    return Child(step, r["seconds"], r["seconds"], r["maxrss_kib"] / 1024, r["cpu_s"],
                 max(0.0, busy - r["cpu_s"]) / wall, r["status"],
                 {"written_bytes": r["written_bytes"]})


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACE_", "EXTRACT_", "LAKE_DIR", "WAREHOUSE_PATH", "PUBLISHED_DIR",
                                "REPORT_PATH", "DBT_VARS", "DBT_LOG_PATH"))}
    return {**env, **bw.QUIET_ENV, **extra}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class StandIn:
    """``python -m extract.standin`` with the case's shape, its clock frozen at ``now``."""

    def __init__(self, shape: Shape, now: datetime, log: Path) -> None:
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "extract.standin", "--port", "0", "--sites",
                str(shape.sites), "--points", str(shape.per_site), "--profile", "uniform60",
                "--now", iso(now), "--token", TOKEN, "--cache-mb", "256"]
        self.proc = subprocess.Popen(argv, cwd=REPO, env=child_env({}), stdout=subprocess.PIPE,
                                     stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        prefix = "standin listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"the stand-in did not start (said {line!r}; see {log})")
        self.url = line[len(prefix):]

    def cpu_s(self) -> float:
        """User + system CPU seconds the stand-in has used so far (/proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---------------------------------------------------------------------------------------------
# One case


def use_shape(shape: Shape) -> bw.Catalogue:
    """bench_warehouse's generator with ``shape.per_site`` points per site (its module
    constant, read at call time by its catalogue, sample and metadata functions)."""
    bw.POINTS_PER_SITE = shape.per_site
    return bw.Catalogue(shape.points)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def parquet_rows(root: Path) -> int:
    import pyarrow.parquet as pq

    if not root.exists():
        return 0
    return sum(pq.ParquetFile(p).metadata.num_rows for p in root.rglob("*.parquet"))


@dataclass
class DbtFigures:
    wall_s: float
    model_work_s: float
    tests_s: float
    startup_s: float
    rss_mb: float
    cpu_s: float
    others_cores: float
    models: dict[str, float]
    tests: dict[str, int]
    not_passing: list[str]


class Case:
    def __init__(self, name: str, shape: Shape, root: Path, project: Path, args: Any) -> None:
        self.name = name
        self.shape = shape
        self.root = root
        self.project = project
        self.args = args
        self.lake = root / "lake"
        self.db = root / "warehouse.duckdb"
        self.published = root / "published"
        self.report = root / "report" / "index.html"
        self.target = root / "target"
        self.log = root / "steps.log"
        self.zones = {bw.site_name(s): bw.ZONES[s % len(bw.ZONES)] for s in range(shape.sites)}
        self.env = child_env({"LAKE_DIR": str(self.lake), "WAREHOUSE_PATH": str(self.db),
                              "PUBLISHED_DIR": str(self.published),
                              "REPORT_PATH": str(self.report),
                              "DBT_LOG_PATH": str(self.target / "logs" / "dbt.log"),
                              "ACE_HOT_DAYS": str(HOT_DAYS), "EXTRACT_MAX_RPS": "100000"})

    # -- dbt
    def dbt(self, verb: str, *extra: str) -> DbtFigures:
        # the scheduled main job (no --until) passes no as_of: the vars stay the same from
        # run to run, so dbt parses partially (a changed --vars means a full parse, ~2-3 s)
        vars_json = json.dumps({"site_timezones": self.zones}, sort_keys=True)
        argv = [str(bw.DBT), verb, "--project-dir", str(self.project), "--profiles-dir",
                str(REPO), "--target-path", str(self.target), "--log-path",
                str(self.target / "logs"), "--vars", vars_json, "--threads", "1", *extra]
        (self.target / "run_results.json").unlink(missing_ok=True)
        if self.args.quiet_wait > 0:
            bw.wait_quiet(self.args.quiet_wait)
        c = run_child(f"dbt {verb}", argv, self.env, self.log, ok_status=(0, 1))
        results = json.loads((self.target / "run_results.json").read_text())["results"]
        models = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results
                  if r["unique_id"].startswith("model.")}
        bad_models = [r["unique_id"] for r in results if r["unique_id"].startswith("model.")
                      and r["status"] != "success"]
        if bad_models:
            raise SystemExit(f"dbt {verb} of {self.name}: models failed: {bad_models}; "
                             f"log {self.log}")
        tests: dict[str, int] = {}
        not_passing = []
        for r in results:
            if r["unique_id"].startswith("test."):
                tests[r["status"]] = tests.get(r["status"], 0) + 1
                if r["status"] != "pass":
                    not_passing.append(f"{r['status']}: {r['unique_id'].split('.')[2]}")
        tests_s = sum(r["execution_time"] for r in results if r["unique_id"].startswith("test."))
        work = sum(models.values())
        return DbtFigures(c.wall_s, work, tests_s, c.wall_s - work - tests_s, c.rss_mb, c.cpu_s,
                          c.others_cores, dict(sorted(models.items(), key=lambda kv: -kv[1])),
                          tests, not_passing)

    # -- the other steps
    def step(self, mode: str, now: datetime, **kw: Any) -> Child:
        result = self.root / f".{mode.replace(' ', '_')}.json"
        a = {"now": now.isoformat(), "warehouse": str(self.db), "lake": str(self.lake),
             "hot_days": HOT_DAYS, "result": str(result), **kw}
        c = run_child(mode, [sys.executable, "-c", STEP_CHILD, mode, json.dumps(a)], self.env,
                      self.log, ok_status=(0, 1, 2))
        detail = json.loads(result.read_text())
        c.work_s = float(detail.pop("work_s"))
        c.detail = {**c.detail, **detail}
        return c

    def cli(self, name: str, now: datetime, *argv: str) -> Child:
        c = self.step("cli", now, argv=list(argv))
        c.step = name
        return c

    def sync(self, server: StandIn, lake: Path, until: datetime, *extra: str) -> Child:
        argv = [sys.executable, "-m", "extract", "sync", "--until", iso(until), "--settle", "0s",
                "--lake", str(lake), *extra]
        cpu0 = server.cpu_s()
        c = run_child("sync", argv, {**self.env, "ACE_API_URL": server.url,
                                     "ACE_API_KEY": TOKEN, "LAKE_DIR": str(lake)}, self.log)
        c.detail = {**c.detail, "landed_rows": parquet_rows(lake / "raw"),
                    "quarantined_rows": parquet_rows(lake / "quarantine"),
                    "standin_cpu_s": server.cpu_s() - cpu0}
        return c

    def query(self, sql: str, path: Path | None = None) -> Any:
        import duckdb

        con = duckdb.connect(str(path or self.db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def write_checkpoints(self, cat: bw.Catalogue, through: datetime, run_id: str) -> None:
        """What a sync writes after landing: every site synced through ``through``."""
        lake = Lake(self.lake)
        for s in range(cat.sites):
            write_checkpoint(lake, bw.site_name(s), through, run_id, settle=timedelta(0))


def run_case(case: Case, end: datetime, repeat: int) -> dict[str, Any]:
    shape, out = case.shape, {}
    cat = use_shape(shape)
    case.lake.mkdir(parents=True)
    print(f"\n== {case.name}: {shape.sites} site(s) x {shape.per_site:,} points, {shape.days} "
          f"day(s): {shape.samples:,} samples", flush=True)
    st = bw.generate_lake(case.lake, cat, end, shape.days, workers=2)
    out["lake"] = asdict(st)
    print(f"lake: {st.landed_rows:,} landed rows in {st.files} files ({st.bytes / MB:,.0f} MiB) "
          f"generated in {st.seconds:.1f}s ({st.landed_rows / st.seconds:,.0f} rows/s)",
          flush=True)
    case.write_checkpoints(cat, end, bw.run_id_at(end, "hist"))

    fr = case.dbt("run", "--full-refresh")
    out["full_refresh"] = asdict(fr) | {"samples_per_s": st.landed_rows / fr.wall_s,
                                        "samples_per_model_work_s": st.landed_rows
                                        / fr.model_work_s}
    print(f"full refresh: wall {fr.wall_s:.1f}s, model work {fr.model_work_s:.1f}s, "
          f"{st.landed_rows / fr.wall_s:,.0f} samples/s, peak RSS {fr.rss_mb:,.0f} MB "
          f"(top: {', '.join(f'{k} {v:.1f}' for k, v in list(fr.models.items())[:3])})",
          flush=True)
    first_move = case.step("tier move", end)
    first_check = case.step("lake check", end, run_id=bw.run_id_at(end, "check"))
    out["first_tier_move"] = asdict(first_move)
    out["first_lake_check"] = asdict(first_check)
    print(f"first tier move: {first_move.work_s:.1f}s ({first_move.detail.get('moved_rows', 0):,}"
          f" rows); first lake check {first_check.work_s:.1f}s "
          f"({first_check.detail.get('files_checked')} files)", flush=True)
    # the main job's first publishes are full copies that fill the pool of snapshots a
    # publish patches (docs/publishing.md): the timed runs start from a full pool
    for _ in range(3):
        case.cli("publish", end, "publish")
    print("snapshot pool: 3 publishes (full copies) before the timed runs", flush=True)

    final = end + timedelta(minutes=DELTA_MINUTES * (repeat + 1))
    server = StandIn(shape, final, case.root / "standin.log")
    rounds: list[dict[str, Any]] = []
    try:
        for i in range(repeat):
            lo = end + timedelta(minutes=DELTA_MINUTES * i)
            until = lo + timedelta(minutes=DELTA_MINUTES)
            r: dict[str, Any] = {}
            sync_lake = case.root / f"sync-lake-{i}"
            r["sync"] = case.sync(server, sync_lake, until, "--initial-history",
                                  f"{DELTA_MINUTES}m")
            shutil.rmtree(sync_lake, ignore_errors=True)
            extracted = until + timedelta(seconds=30)
            r["delta_rows"] = bw.land_delta(case.lake, cat, lo, extracted)
            rid = bw.run_id_at(extracted, f"delta{lo.isoformat()}")
            case.write_checkpoints(cat, until, rid)
            r["repair read"] = case.step("repair read", until)
            r["lake check"] = case.step("lake check", until, run_id=rid)
            r["dbt build"] = case.dbt("build", "--exclude-resource-type", "unit_test")
            r["tier move"] = case.step("tier move", until)
            r["publish"] = case.cli("publish", until, "publish")
            r["publish"].detail["snapshot_bytes"] = case.published.joinpath(
                "current.duckdb").resolve().stat().st_size
            r["publish"].detail["warehouse_bytes"] = case.db.stat().st_size
            r["report"] = case.cli("report", until, "report", "--warehouse",
                                   str(case.published / "current.duckdb"), "--out",
                                   str(case.report), "--run-results",
                                   str(case.target / "run_results.json"), "--as-of", iso(until))
            r["status"] = case.cli("status", until, "status", "--json", "--now", iso(until),
                                   "--lake", str(case.lake))
            rounds.append(r)
            b = r["dbt build"]
            print(f"run {i + 1}: " + ", ".join(
                f"{k} {v.wall_s:.1f}s" for k, v in r.items() if isinstance(v, Child | DbtFigures))
                + f"; build model work {b.model_work_s:.2f}s, tests {b.tests_s:.2f}s, "
                f"start-up {b.startup_s:.2f}s", flush=True)
        # steady state: the checkpoint 5 minutes back, the default 2-hour look-back
        steady = case.root / "sync-lake-steady"
        prime = case.sync(server, steady, end, "--initial-history", "125m")
        steady_sync = case.sync(server, steady, end + timedelta(minutes=DELTA_MINUTES))
        steady_sync.detail["landed_rows"] -= prime.detail["landed_rows"]
        out["steady_sync"] = asdict(steady_sync)
        print(f"steady-state sync (look-back 2h): {steady_sync.wall_s:.1f}s, peak RSS "
              f"{steady_sync.rss_mb:.0f} MB, landed {steady_sync.detail['landed_rows']:,}",
              flush=True)
        shutil.rmtree(steady, ignore_errors=True)
    finally:
        server.stop()
    out["rounds"] = [{k: asdict(v) if isinstance(v, Child | DbtFigures) else v
                      for k, v in r.items()} for r in rounds]

    # sizes, after the runs
    hot = case.query("select count(*) from samples")[0][0]
    cold_rows, cold_bytes = 0, 0
    for path, n in case.query("select path, n_rows from cold_files where active"):
        cold_rows += n
        cold_bytes += Path(path).stat().st_size
    raw_rows = st.landed_rows + sum(r["delta_rows"] for r in rounds)
    wh_bytes = case.db.stat().st_size + (case.db.with_suffix(".duckdb.wal").stat().st_size
                                         if case.db.with_suffix(".duckdb.wal").exists() else 0)
    snap_bytes = (case.published / "current.duckdb").resolve().stat().st_size
    out["disk"] = {
        "raw": {"bytes": tree_bytes(case.lake / "raw"), "rows": raw_rows},
        "cold": {"bytes": cold_bytes, "rows": cold_rows},
        "warehouse": {"bytes": wh_bytes, "rows": hot + cold_rows, "hot_rows": hot},
        "published": {"bytes": snap_bytes, "rows": hot + cold_rows,
                      "snapshots_kept": len(list(case.published.glob("warehouse-*.duckdb")))},
    }
    for tier in out["disk"].values():
        tier["bytes_per_sample"] = tier["bytes"] / tier["rows"] if tier["rows"] else None
    # a tier move at a day boundary: the cold boundary moves by a day, each site's month
    # file is rewritten (the usual 5-minute run moves nothing)
    day_move = case.step("tier move", final + timedelta(days=1))
    out["day_boundary_tier_move"] = asdict(day_move)
    print(f"tier move at a day boundary: {day_move.work_s:.1f}s "
          f"({day_move.detail.get('moved_rows', 0):,} rows, "
          f"{day_move.detail.get('files_written', 0)} files)", flush=True)
    out["shape"] = asdict(shape) | {"points": shape.points}
    return out


# ---------------------------------------------------------------------------------------------
# Figures


def med(values: list[float]) -> float:
    return bw.med(values)


def step_figures(res: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per step, the median over the runs of wall, work, peak RSS, CPU and others' cores."""
    out = {}
    for step in STEPS:
        runs = [r[step] for r in res["rounds"]]
        fig = {k: med([r[k] for r in runs]) for k in ("wall_s", "rss_mb", "cpu_s",
                                                       "others_cores")}
        fig["work_s"] = med([r["model_work_s" if step == "dbt build" else "work_s"]
                             for r in runs])
        fig["rss_max_mb"] = max(r["rss_mb"] for r in runs)
        if step == "dbt build":
            fig["startup_s"] = med([r["startup_s"] for r in runs])
            fig["tests_s"] = med([r["tests_s"] for r in runs])
        out[step] = fig
    out["run"] = {"wall_s": med([sum(r[s]["wall_s"] for s in RUN_STEPS) for r in res["rounds"]])}
    return out


def format_steps(results: dict[str, dict[str, Any]]) -> str:
    names = list(results)
    figs = {n: step_figures(results[n]) for n in names}
    head = f"{'step (median of the runs)':<26}" + "".join(f"{n:>34}" for n in names)
    sub = f"{'':<26}" + "".join(f"{'wall s':>9}{'work s':>9}{'RSS MB':>9}{'others':>7}"
                                for _ in names)
    lines = [head, sub, "-" * len(sub)]
    for step in STEPS:
        line = f"{step:<26}"
        for n in names:
            f = figs[n][step]
            line += f"{f['wall_s']:>9.2f}{f['work_s']:>9.2f}{f['rss_max_mb']:>9.0f}" \
                    f"{f['others_cores']:>7.1f}"
        lines.append(line)
    line = f"{'  dbt build: start-up':<26}"
    for n in names:
        line += f"{figs[n]['dbt build']['startup_s']:>9.2f}{'':>25}"
    lines.append(line.rstrip())
    line = f"{'  dbt build: data tests':<26}"
    for n in names:
        line += f"{'':>9}{figs[n]['dbt build']['tests_s']:>9.2f}{'':>16}"
    lines.append(line.rstrip())
    line = f"{'whole run (' + ', '.join(RUN_STEPS[:1]) + '..report)':<26}"
    for n in names:
        line += f"{figs[n]['run']['wall_s']:>9.2f}{'':>25}"
    lines.append(line.rstrip())
    return "\n".join(lines)


def format_disk(results: dict[str, dict[str, Any]]) -> str:
    lines = [f"{'disk (bytes per sample)':<26}" + "".join(f"{n:>24}" for n in results)]
    for tier in ("raw", "cold", "warehouse", "published"):
        line = f"{tier:<26}"
        for res in results.values():
            d = res["disk"][tier]
            bps = f"{d['bytes_per_sample']:.2f}" if d["bytes_per_sample"] else "-"
            line += f"{bps + ' (' + format(d['bytes'] / MB, ',.0f') + ' MiB)':>24}"
        lines.append(line)
    return "\n".join(lines)


def floors(results: dict[str, dict[str, Any]], long_: str, short: str) -> list[dict[str, Any]]:
    """Every floor with its value, or ``ok`` None when the cases it needs were not run."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, unit: str, ok: bool | None) -> None:
        out.append({"floor": name, "value": value, "unit": unit, "ok": ok})

    figs = {n: step_figures(r) for n, r in results.items()}
    pair = long_ in figs and short in figs
    ld = results[long_]["shape"]["days"] if long_ in results else 30
    sd = results[short]["shape"]["days"] if short in results else 1

    def ratio(step: str) -> float | None:
        if not pair:
            return None
        return figs[long_][step]["work_s"] / figs[short][step]["work_s"]

    pts = results[long_]["shape"]["points"] if long_ in results else None
    r = ratio("dbt build")
    add(f"5-min delta dbt model work {ld}d/{sd}d <= {RATIO_FLOOR} ({pts or 5000:,} points)", r,
        "x", None if r is None else r <= RATIO_FLOOR)
    fleet = figs.get("fleet")
    fpts = results["fleet"]["shape"]["points"] if fleet else 50_000
    v = fleet["dbt build"]["work_s"] if fleet else None
    add(f"5-min delta dbt model work <= {FLEET_MODEL_WORK_FLOOR:.0f} s ({fpts:,} points)", v, "s",
        None if v is None else v <= FLEET_MODEL_WORK_FLOOR)
    for step in RATIO_STEPS:
        r = ratio(step)
        add(f"{step} {ld}d/{sd}d <= {RATIO_FLOOR}", r, "x",
            None if r is None else r <= RATIO_FLOOR)
    v = fleet["run"]["wall_s"] if fleet else None
    add(f"whole scheduled run <= {FLEET_RUN_FLOOR:.0f} s ({fpts:,} points)", v, "s",
        None if v is None else v <= FLEET_RUN_FLOOR)
    if long_ in results:
        pubs = [r["publish"]["detail"] for r in results[long_]["rounds"]]
        v = med([p["written_bytes"] / p["warehouse_bytes"] for p in pubs])
        add(f"publish writes <= {PUBLISH_SHARE_FLOOR:.0%} of the warehouse ({ld}d)", v * 100, "%",
            v <= PUBLISH_SHARE_FLOOR)
    else:
        add(f"publish writes <= {PUBLISH_SHARE_FLOOR:.0%} of the warehouse", None, "%", None)
    fr_case = long_ if long_ in results else short if short in results else None
    if fr_case:
        v = results[fr_case]["full_refresh"]["samples_per_s"]
        add(f"full refresh >= {FULL_REFRESH_FLOOR:,} samples/s ({fr_case}, "
            f"{results[fr_case]['shape']['points']:,} points)", v, " samples/s",
            v >= FULL_REFRESH_FLOOR)
    else:
        add(f"full refresh >= {FULL_REFRESH_FLOOR:,} samples/s", None, " samples/s", None)
    if results:
        builds = [res["full_refresh"]["rss_mb"] for res in results.values()] + [
            r["dbt build"]["rss_mb"] for res in results.values() for r in res["rounds"]]
        v = max(builds)
        add(f"peak RSS of a build <= {BUILD_RSS_FLOOR_MB:,} MB", v, " MB",
            v <= BUILD_RSS_FLOOR_MB)
        syncs = [r["sync"]["rss_mb"] for res in results.values() for r in res["rounds"]] + [
            res["steady_sync"]["rss_mb"] for res in results.values()]
        v = max(syncs)
        add(f"peak RSS of the sync <= {SYNC_RSS_FLOOR_MB} MB", v, " MB", v <= SYNC_RSS_FLOOR_MB)
    return out


def fmt_value(f: dict[str, Any]) -> str:
    if f["value"] is None:
        return "-"
    if f["unit"] == " samples/s":
        return f"{f['value']:,.0f}{f['unit']}"
    if f["unit"] == " MB":
        return f"{f['value']:,.0f}{f['unit']}"
    return f"{f['value']:.2f}{f['unit']}"


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="site-30d,site-1d,fleet",
                    help="comma-separated cases: site-30d, site-1d, fleet (all)")
    ap.add_argument("--quick", action="store_true",
                    help="the same measurements at reduced size (site 100 points x 21 days "
                    "and 1 day, fleet 5 sites x 100 points x 2 days): a few minutes")
    ap.add_argument("--points", type=int, help="points per site, every case (5000 / fleet 1000)")
    ap.add_argument("--sites", type=int, help="sites of the fleet case (50)")
    ap.add_argument("--days", type=int, help="days of history of site-30d (30)")
    ap.add_argument("--fleet-days", type=int, help="days of history of the fleet case (2)")
    ap.add_argument("--repeat", type=int, default=2, help="scheduled runs per case (2)")
    ap.add_argument("--end", help="end of the history (UTC ISO time); default: now, floored to "
                    "5 minutes, minus 5 minutes per run and 15 minutes")
    ap.add_argument("--quiet-wait", type=float, default=5.0,
                    help="before each dbt run, wait up to this many seconds for other "
                    "processes to use < 0.3 cores (5; 0 = never wait)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a floor is missed")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    ap.add_argument("--workdir", help="parent of the temp work dir (default: system temp)")
    args = ap.parse_args(argv)
    shapes = dict(QUICK if args.quick else FULL)
    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in shapes]
    if unknown:
        ap.error(f"unknown cases {unknown}; choose from {', '.join(shapes)}")
    for name, s in shapes.items():
        per_site = args.points or s.per_site
        sites = args.sites if (args.sites and name == "fleet") else s.sites
        days = s.days
        if name == "site-30d" and args.days:
            days = args.days
        if name == "fleet" and args.fleet_days:
            days = args.fleet_days
        shapes[name] = Shape(sites, per_site, days)

    machine = describe()
    print(format_machine(machine), flush=True)
    load = os.getloadavg()
    if load[0] > 0.5 * (machine.get("usable_cpus") or 1):
        print(f"WARNING: the machine is busy (1-min load {load[0]:.1f}): wall-clock figures "
              "will be noisy; compare the ratios within this run", flush=True)
    if args.end:
        end = datetime.fromisoformat(args.end).astimezone(UTC)
    else:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        end = now - timedelta(minutes=now.minute % 5 + DELTA_MINUTES * (args.repeat + 1) + 15)
    # byte-compile extract/ once, as an installed package would be
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "extract")],
                   check=False, capture_output=True)
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-", dir=args.workdir))
    print(f"work dir {work}; history ends {end:%Y-%m-%d %H:%M}Z; cases "
          + ", ".join(f"{n} ({shapes[n].sites}x{shapes[n].per_site:,}, {shapes[n].days}d)"
                      for n in chosen), flush=True)
    results: dict[str, dict[str, Any]] = {}
    try:
        project = bw.snapshot_project(work / "dbt_project")
        code = bw.code_fingerprint(project)
        for name in chosen:
            case = Case(name, shapes[name], work / name, project, args)
            t0 = time.perf_counter()
            results[name] = run_case(case, end, args.repeat)
            results[name]["seconds"] = time.perf_counter() - t0
            if not args.keep:
                shutil.rmtree(case.root, ignore_errors=True)

        print()
        print(format_steps(results))
        print()
        print(format_disk(results))
        print()
        for name, res in results.items():
            fr = res["full_refresh"]
            print(f"full refresh {name}: {res['lake']['landed_rows']:,} samples in "
                  f"{fr['wall_s']:.1f}s: {fr['samples_per_s']:,.0f} samples/s (on model work "
                  f"{fr['samples_per_model_work_s']:,.0f}/s), peak RSS {fr['rss_mb']:,.0f} MB")
        for name, res in results.items():
            sy = [r["sync"] for r in res["rounds"]]
            ss = res["steady_sync"]
            print(f"sync {name}: 5-minute window {med([s['wall_s'] for s in sy]):.2f}s for "
                  f"{sy[0]['detail']['landed_rows']:,} samples (stand-in CPU "
                  f"{med([s['detail']['standin_cpu_s'] for s in sy]):.2f}s); steady state with "
                  f"the 2-hour look-back {ss['wall_s']:.2f}s (stand-in CPU "
                  f"{ss['detail']['standin_cpu_s']:.2f}s), peak RSS {ss['rss_mb']:.0f} MB")
        for name, res in results.items():
            rr = res["rounds"][-1]["repair read"]["detail"]
            dm = res["day_boundary_tier_move"]
            print(f"{name}: point_gaps {rr.get('point_gaps_rows')} rows, gap snapshot "
                  f"{res['rounds'][-1]['repair read']['detail'].get('gap_snapshot_s', 0):.2f}s; "
                  f"tier move at a day boundary {dm['work_s']:.1f}s "
                  f"({dm['detail'].get('moved_rows', 0):,} rows); first move "
                  f"{res['first_tier_move']['work_s']:.1f}s")
        for name, res in results.items():
            pubs = [r["publish"]["detail"] for r in res["rounds"]]
            print(f"{name}: publish wrote "
                  + ", ".join(f"{p['written_bytes'] / 1e6:,.1f} MB ("
                              f"{p['written_bytes'] / p['warehouse_bytes']:.1%})" for p in pubs)
                  + f" of a {pubs[-1]['warehouse_bytes'] / 1e6:,.0f} MB warehouse")
        print()
        fl = floors(results, "site-30d", "site-1d")
        for f in fl:
            v = "not run" if f["ok"] is None else bw.verdict(f["ok"])
            print(f"{v:<8} {f['floor']:<62} {fmt_value(f)}")
        busy = med([r[s]["others_cores"] for res in results.values() for r in res["rounds"]
                    for s in STEPS if s != "sync"])
        if busy > 0.3:
            print(f"\nWARNING: other processes used {busy:.1f} cores (median) during the "
                  "steps: wall-clock figures are inflated; compare the ratios")
        total = time.perf_counter() - t_start
        print(f"\ntotal {total:.0f}s")
        doc = {
            "benchmark": "fleet",
            "when": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
            "args": vars(args),
            "history_end": end.isoformat(),
            "shapes": {n: asdict(shapes[n]) for n in chosen},
            "machine": machine,
            "code": code,
            "steps": {n: step_figures(r) for n, r in results.items()},
            "floors": fl,
            "cases": results,
            "total_seconds": total,
        }
        save_results("fleet", doc)
        missed = [f for f in fl if f["ok"] is False]
        return 1 if args.check and missed else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
