"""Extraction benchmark: our extractor against dlt's REST API source, same server, same window.

    .venv/bin/python bench/bench_extract.py [--points 5000] [--minutes 201] [--repeat N]

What it does (see bench/README.md):

1. starts the stand-in (``python -m extract.standin``) as a subprocess: one site, ``--points``
   points, the ``uniform60`` profile (one sample a minute per reporting point), a frozen clock
   and a token; then warms the server's cache with one full paging pass over every window
   measured, so both contenders are served from the same cached server;
2. runs ``python -m extract sync`` in a fresh lake as a subprocess, the window as one chunk,
   ``--page-size 100000``;
3. runs dlt's REST API source (``rest_api_source``, cursor paginator, bearer auth) writing
   Parquet with the filesystem destination, in a subprocess, against the same window;
4. runs our extractor again on a window ``--big-factor`` (3) times larger, to show that peak
   RSS does not grow with the window;
5. prints a table (samples, seconds, samples/s, peak RSS) and the ratio ours/dlt, and writes
   the figures as JSON to ``bench/results/extract-<timestamp>.json``.

Wall time is measured around each child process (so it includes interpreter start-up and
imports, for both contenders); peak RSS is the child's ``ru_maxrss`` from ``wait4`` (exact, the
kernel's high-water mark; a tiny launcher starts the child, so that it does not inherit this
process's high-water mark), cross-checked by polling ``psutil`` every 20 ms. Samples are
counted by reading the landed Parquet back.

Floors (the issue's): ours >= 15x dlt's samples/s; ours <= 400 MB peak RSS at every window
size. ``--check`` makes the exit status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _machine import describe, format_machine  # noqa: E402

TOKEN = "bench-token"
PAGE_SIZE = 100_000
SPEED_FLOOR = 15.0  # ours / dlt samples per second
RSS_FLOOR_MB = 400.0
MB = 1024 * 1024

QUIET_ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DO_NOT_TRACK": "1",
}

# The dlt contender, run as ``python -c DLT_SCRIPT <json config>`` in its own process.
DLT_SCRIPT = r"""
import json, os, sys, time
t_start = time.perf_counter()
cfg = json.loads(sys.argv[1])
import dlt
from dlt.sources.rest_api import rest_api_source
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
t_imported = time.perf_counter()

source = rest_api_source({
    "client": {
        "base_url": cfg["base_url"],
        "auth": {"type": "bearer", "token": cfg["token"]},
        "paginator": JSONResponseCursorPaginator(cursor_path="next_cursor",
                                                 cursor_param="cursor"),
    },
    "resource_defaults": {"write_disposition": "append"},
    "resources": [{
        "name": "point_samples",
        "endpoint": {
            "path": cfg["path"],
            "params": {
                "start_time": cfg["start_time"],
                "end_time": cfg["end_time"],
                "page_size": cfg["page_size"],
                "raw_data": "true",
            },
            "data_selector": "point_samples",
        },
    }],
})
pipeline = dlt.pipeline(
    pipeline_name="bench_dlt",
    destination=dlt.destinations.filesystem(bucket_url=cfg["bucket_url"]),
    dataset_name="flightdeck",
    pipelines_dir=cfg["pipelines_dir"],
)
t0 = time.perf_counter()
pipeline.extract(source, loader_file_format="parquet")
t1 = time.perf_counter()
pipeline.normalize()
t2 = time.perf_counter()
info = pipeline.load()
t3 = time.perf_counter()
if info.has_failed_jobs:
    raise SystemExit("dlt: failed load jobs")
print("DLT_TIMINGS " + json.dumps({
    "import_s": round(t_imported - t_start, 3),
    "extract_s": round(t1 - t0, 3),
    "normalize_s": round(t2 - t1, 3),
    "load_s": round(t3 - t2, 3),
    "run_s": round(t3 - t0, 3),
}), flush=True)
"""


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mb: float
    peak_rss_polled_mb: float
    cpu_s: float
    status: int
    stdout: str
    loadavg_before: float
    loadavg_after: float


@dataclass
class Measured:
    """One contender's run."""

    contender: str
    window_minutes: int
    samples: int
    seconds: float
    peak_rss_mb: float  # ru_maxrss of the child (kernel high-water mark)
    peak_rss_polled_mb: float  # max of psutil RSS polled every 20 ms (cross-check)
    cpu_s: float  # user + system CPU seconds of the child, all its threads
    served: int  # rows the server serves for this window (from the warm pass)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def samples_per_s(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0

    @property
    def samples_per_cpu_s(self) -> float:
        return self.samples / self.cpu_s if self.cpu_s > 0 else 0.0


# --------------------------------------------------------------------------- processes


# Linux carries a process's RSS high-water mark across fork+exec (exec folds the old address
# space's peak into ru_maxrss), so a child spawned straight from this process, which holds
# hundreds of MB after the warm pass, would report *our* peak as its own. Each contender is
# therefore started by this tiny launcher (``python -S``, a few MB): its child's ru_maxrss,
# read with wait4, is the contender's own peak. The launcher also times the child.
LAUNCHER = r"""
import json, os, subprocess, sys, time
argv, cwd, result_path = json.loads(sys.argv[1])
t0 = time.perf_counter()
proc = subprocess.Popen(argv, cwd=cwd)
_, status, ru = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - t0
with open(result_path, "w") as f:
    json.dump({"seconds": seconds, "maxrss_kib": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime,
               "status": os.waitstatus_to_exitcode(status)}, f)
"""


def run_measured(argv: list[str], *, env: dict[str, str], cwd: Path,
                 log_path: Path) -> ChildRun:
    """Run ``argv`` to completion: wall time, peak RSS (exact and polled), CPU time."""
    import psutil

    load_before = os.getloadavg()[0]
    peak_polled = 0
    done = threading.Event()
    result_path = log_path.with_suffix(".rusage.json")
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, json.dumps([argv, str(cwd), str(result_path)])],
            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err)
        out_chunks: list[bytes] = []

        def drain() -> None:
            assert proc.stdout is not None
            for chunk in iter(lambda: proc.stdout.read(65536), b""):  # type: ignore[union-attr]
                out_chunks.append(chunk)

        def poll() -> None:  # the contender and its children, not the launcher
            nonlocal peak_polled
            try:
                launcher = psutil.Process(proc.pid)
                while not done.is_set():
                    rss = 0
                    for c in launcher.children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            rss += c.memory_info().rss
                    peak_polled = max(peak_polled, rss)
                    done.wait(0.02)
            except psutil.Error:
                pass  # exited meanwhile

        threads = [threading.Thread(target=drain, daemon=True),
                   threading.Thread(target=poll, daemon=True)]
        for t in threads:
            t.start()
        proc.wait()
        done.set()
        for t in threads:
            t.join(timeout=5)
    if proc.returncode != 0 or not result_path.exists():
        raise SystemExit(f"the launcher failed (exit {proc.returncode}); see {log_path}")
    r = json.loads(result_path.read_text())
    return ChildRun(r["seconds"], r["maxrss_kib"] * 1024 / MB, peak_polled / MB, r["cpu_s"],
                    r["status"], b"".join(out_chunks).decode(errors="replace"), load_before,
                    os.getloadavg()[0])


class StandInProcess:
    """``python -m extract.standin`` as a child process."""

    def __init__(self, points: int, now: datetime, cache_mb: int, log_path: Path) -> None:
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "extract.standin", "--port", "0", "--sites", "1",
                "--points", str(points), "--profile", "uniform60", "--now", iso(now),
                "--token", TOKEN, "--cache-mb", str(cache_mb)]
        self.proc = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **QUIET_ENV},
                                     stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        prefix = "standin listening on "
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"the stand-in did not start (said {line!r}; see {log_path})")
        self.url = line[len(prefix):]
        self.base = self.url.rsplit("/api", 1)[0]
        self.http = httpx.Client(headers={"authorization": f"Bearer {TOKEN}"}, timeout=300)

    def stats(self) -> dict[str, Any]:
        return dict(self.http.get(f"{self.base}/_standin/health").json()["stats"])

    def site(self) -> str:
        items = self.http.get(f"{self.url}/sites", params={"per_page": 100}).json()["items"]
        live = [s["name"] for s in items if s.get("collect_enabled") and not s.get("archived")]
        if len(live) != 1:
            raise SystemExit(f"expected one collect-enabled site, got {live}")
        return str(live[0])

    def page_through(self, site: str, start: str, end: str) -> tuple[int, int, int]:
        """One full paging pass as a client would do it: (rows, pages, bytes)."""
        path = f"{self.url}/sites/{site}/timeseries/paginated"
        params: dict[str, Any] = {"start_time": start, "end_time": end,
                                  "page_size": PAGE_SIZE, "raw_data": "true"}
        rows = pages = nbytes = 0
        while True:
            r = self.http.get(path, params=params)
            r.raise_for_status()
            doc = orjson.loads(r.content)
            rows += len(doc["point_samples"])
            pages += 1
            nbytes += len(r.content)
            if not doc.get("next_cursor"):
                return rows, pages, nbytes
            params["cursor"] = doc["next_cursor"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "http"):
            self.http.close()
        self.log.close()


# --------------------------------------------------------------------------- contenders


def iso(t: datetime) -> str:
    """The instant as the extractor sends it (microseconds, Z), so both ask the same."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parquet_rows(root: Path) -> int:
    """Rows in every Parquet file under ``root`` (from the footers)."""
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(root.rglob("*.parquet")))


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ACE_", "EXTRACT_", "LAKE_DIR", "DLT_", "DESTINATION__",
                                "SOURCES__", "NORMALIZE__", "LOAD__", "EXTRACT__",
                                "DATA_WRITER__"))}
    return {**env, **QUIET_ENV, **extra}


def run_ours(server: StandInProcess, site: str, now: datetime, minutes: int, served: int,
             work: Path, label: str) -> Measured:
    lake = work / f"lake-{label}"
    shutil.rmtree(lake, ignore_errors=True)
    window = f"{minutes}m"
    argv = [sys.executable, "-m", "extract", "sync", "--site", site, "--until", iso(now),
            "--settle", "0s", "--initial-history", window, "--chunk", window,
            "--page-size", str(PAGE_SIZE)]
    env = child_env({"ACE_API_URL": server.url, "ACE_API_KEY": TOKEN, "LAKE_DIR": str(lake),
                     "EXTRACT_MAX_RPS": "100000"})
    before = server.stats()
    r = run_measured(argv, env=env, cwd=REPO, log_path=work / f"{label}.log")
    after = server.stats()
    if r.status != 0:
        raise SystemExit(f"{label}: extractor exited {r.status}; see {work / f'{label}.log'}\n"
                         f"{r.stdout}")
    raw = parquet_rows(lake / "raw")
    quarantined = parquet_rows(lake / "quarantine") if (lake / "quarantine").exists() else 0
    summary = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
    took = re.search(r" in ([0-9.]+)s;", summary)
    m = Measured("ours", minutes, raw + quarantined, r.seconds, r.peak_rss_mb,
                 r.peak_rss_polled_mb, r.cpu_s, served, {
                     "raw_rows": raw, "quarantined_rows": quarantined, "summary": summary,
                     "self_reported_s": float(took.group(1)) if took else None,
                     "server_cache_misses": _misses(after) - _misses(before),
                     "loadavg_1m": [r.loadavg_before, r.loadavg_after],
                 })
    shutil.rmtree(lake, ignore_errors=True)
    return m


def run_dlt(server: StandInProcess, site: str, now: datetime, minutes: int, served: int,
            work: Path, label: str) -> Measured:
    out_dir = work / f"dlt-{label}"
    shutil.rmtree(out_dir, ignore_errors=True)
    (out_dir / "bucket").mkdir(parents=True)
    (out_dir / "pipelines").mkdir()
    (out_dir / "home").mkdir()
    cfg = {
        "base_url": server.url.rstrip("/") + "/",
        "token": TOKEN,
        "path": f"sites/{site}/timeseries/paginated",
        "start_time": iso(now - timedelta(minutes=minutes)),
        "end_time": iso(now),
        "page_size": PAGE_SIZE,
        "bucket_url": (out_dir / "bucket").as_uri(),
        "pipelines_dir": str(out_dir / "pipelines"),
    }
    env = child_env({"DLT_DATA_DIR": str(out_dir / "home")})
    before = server.stats()
    r = run_measured([sys.executable, "-c", DLT_SCRIPT, json.dumps(cfg)], env=env, cwd=out_dir,
                     log_path=work / f"{label}.log")
    after = server.stats()
    if r.status != 0:
        raise SystemExit(f"{label}: dlt exited {r.status}; see {work / f'{label}.log'}\n"
                         f"{r.stdout}")
    timings: dict[str, Any] = {}
    for line in r.stdout.splitlines():
        if line.startswith("DLT_TIMINGS "):
            timings = json.loads(line.split(" ", 1)[1])
    samples = parquet_rows(out_dir / "bucket" / "flightdeck" / "point_samples")
    m = Measured("dlt rest_api", minutes, samples, r.seconds, r.peak_rss_mb,
                 r.peak_rss_polled_mb, r.cpu_s, served, {
                     **timings, "self_reported_s": timings.get("run_s"),
                     "server_cache_misses": _misses(after) - _misses(before),
                     "loadavg_1m": [r.loadavg_before, r.loadavg_after],
                 })
    shutil.rmtree(out_dir, ignore_errors=True)
    return m


def _misses(stats: dict[str, Any]) -> int:
    return int(stats.get("blob_misses", 0)) + int(stats.get("misses", 0))


def best_of(runs: list[Measured]) -> Measured:
    """The median run by seconds (all runs are kept in the JSON)."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    return ordered[(len(ordered) - 1) // 2] if len(ordered) > 1 else ordered[0]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=5000, help="points of the one site (5000)")
    p.add_argument("--minutes", type=int, default=201,
                   help="window in minutes; 201 gives >= 1,000,000 samples at 5,000 points "
                        "(200 gives 999,992: a few points never report)")
    p.add_argument("--big-factor", type=int, default=3,
                   help="the memory run uses a window this many times larger (3; 0 skips it)")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per contender; the median is reported (1)")
    p.add_argument("--now", default="2026-01-15T12:00:00Z",
                   help="the stand-in's frozen clock, and the end of every window")
    p.add_argument("--skip-dlt", action="store_true", help="only run our extractor")
    p.add_argument("--check", action="store_true",
                   help="exit 1 when a floor (15x dlt, 400 MB) is missed")
    p.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = p.parse_args(argv)
    os.environ.update(QUIET_ENV)

    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).astimezone(UTC)
    # byte-compile the extractor as an installed package would be: with an editable install
    # and PYTHONDONTWRITEBYTECODE set, every child would otherwise compile it from source
    compileall.compile_dir(REPO / "extract", quiet=1)
    machine = describe()
    print(format_machine(machine), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    windows = [args.minutes] + ([args.minutes * args.big_factor] if args.big_factor > 1 else [])
    # blobs of the largest window must stay cached: ~170 B/sample serialised, plus headroom
    cache_mb = max(768, int(max(windows) * args.points * 170 * 1.5 / MB))
    load = os.getloadavg()[0]
    cpus = machine.get("usable_cpus") or 1
    if load > 0.5 * cpus:
        print(f"WARNING: the machine is busy (1-minute load {load:.1f} on {cpus} CPUs): "
              "wall-clock figures will be noisy; CPU seconds are reported too", flush=True)
    t_bench = time.perf_counter()
    server = StandInProcess(args.points, now, cache_mb, work / "standin.log")
    results: dict[str, Any] = {"machine": machine, "code": code_fingerprint(),
                               "started_at": datetime.now(UTC).isoformat(),
                               "loadavg_1m_at_start": load}
    try:
        site = server.site()
        print(f"\nstand-in: {server.url}, site {site}, {args.points} points, uniform60, "
              f"now={iso(now)}, cache {cache_mb} MB", flush=True)
        served: dict[int, int] = {}
        warm: list[dict[str, Any]] = []
        for minutes in sorted(windows, reverse=True):
            start, end = iso(now - timedelta(minutes=minutes)), iso(now)
            t0 = time.perf_counter()
            rows, pages, nbytes = server.page_through(site, start, end)
            secs = time.perf_counter() - t0
            served[minutes] = rows
            warm.append({"minutes": minutes, "rows": rows, "pages": pages,
                         "mb": round(nbytes / MB, 1), "seconds": round(secs, 2)})
            print(f"warmed the server's cache: one full paging pass over {minutes} min "
                  f"[{start}, {end}): {rows:,} samples in {pages} pages "
                  f"({nbytes / MB:,.0f} MB of JSON) in {secs:.1f}s", flush=True)
        if served[args.minutes] < 1_000_000:
            print(f"WARNING: the window serves {served[args.minutes]:,} samples, fewer than "
                  "1,000,000: raise --minutes", flush=True)
        results["warm"] = warm
        results["window"] = {"site": site, "points": args.points, "page_size": PAGE_SIZE,
                             "now": iso(now), "minutes": windows}

        runs: dict[str, list[Measured]] = {"ours": [], "dlt": [], "ours_big": []}
        for i in range(args.repeat):
            tag = f"-{i + 1}" if args.repeat > 1 else ""
            runs["ours"].append(run_ours(server, site, now, args.minutes, served[args.minutes],
                                         work, f"ours{tag}"))
            _progress(runs["ours"][-1])
            if not args.skip_dlt:
                runs["dlt"].append(run_dlt(server, site, now, args.minutes,
                                           served[args.minutes], work, f"dlt{tag}"))
                _progress(runs["dlt"][-1])
            if len(windows) > 1:
                runs["ours_big"].append(run_ours(server, site, now, windows[1],
                                                 served[windows[1]], work, f"ours-big{tag}"))
                _progress(runs["ours_big"][-1])
        results["server_stats"] = server.stats()
    finally:
        server.stop()
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    summary = [best_of(r) for r in runs.values() if r]
    ours, dlt = best_of(runs["ours"]), (best_of(runs["dlt"]) if runs["dlt"] else None)
    ratio = ours.samples_per_s / dlt.samples_per_s if dlt and dlt.samples_per_s else None
    cpu_ratio = (ours.samples_per_cpu_s / dlt.samples_per_cpu_s
                 if dlt and dlt.samples_per_cpu_s else None)
    rss_max = max(m.peak_rss_mb for k in ("ours", "ours_big") for m in runs[k])
    misses = sum(int(m.detail.get("server_cache_misses", 0)) for r in runs.values() for m in r)
    checks = {
        "speed_ratio": ratio,
        "cpu_ratio": cpu_ratio,
        "server_cache_misses_during_runs": misses,
        "speed_ok": None if ratio is None else ratio >= SPEED_FLOOR,
        "ours_peak_rss_mb": rss_max,
        "rss_ok": rss_max <= RSS_FLOOR_MB,
        "counts_match_server": all(m.samples == m.served for r in runs.values() for m in r),
    }
    print()
    print(format_table(summary, dlt))
    print()
    if ratio is not None:
        print(f"ours/dlt samples/s: {ratio:.1f}x (floor {SPEED_FLOOR:.0f}x): "
              f"{'ok' if checks['speed_ok'] else 'BELOW FLOOR'}; "
              f"per CPU-second: {cpu_ratio or 0:.1f}x")
    print(f"our peak RSS, every window: {rss_max:.0f} MB (floor {RSS_FLOOR_MB:.0f} MB): "
          f"{'ok' if checks['rss_ok'] else 'ABOVE FLOOR'}")
    print(f"server cache misses during the timed runs: {misses} (0: every page came from "
          "the warm cache)")
    if not checks["counts_match_server"]:
        print("WARNING: some contender landed a different number of samples than the server "
              "served (see the JSON)")
    results.update({
        "finished_at": datetime.now(UTC).isoformat(),
        "bench_seconds": round(time.perf_counter() - t_bench, 1),
        "floors": {"speed_ratio_min": SPEED_FLOOR, "peak_rss_mb_max": RSS_FLOOR_MB},
        "checks": checks,
        "summary": [_row_dict(m) for m in summary],
        "runs": {k: [_row_dict(m) for m in v] for k, v in runs.items()},
    })
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out_path = out_dir / f"extract-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {out_path.relative_to(REPO)} (benchmark took "
          f"{results['bench_seconds']:.0f}s)")
    if args.check and not (checks["rss_ok"] and checks["speed_ok"] is not False):
        return 1
    return 0


def _progress(m: Measured) -> None:
    load = m.detail.get("loadavg_1m", [0.0, 0.0])
    print(f"  {m.contender:<13} {m.window_minutes:>4} min: {m.samples:>10,} samples "
          f"in {m.seconds:6.2f}s = {m.samples_per_s:>10,.0f}/s, peak RSS {m.peak_rss_mb:6.0f} MB, "
          f"CPU {m.cpu_s:5.2f}s (load {load[0]:.1f}->{load[1]:.1f})", flush=True)


def code_fingerprint() -> dict[str, Any]:
    """Which extractor code was measured: HEAD, files changed since, a hash of extract/."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.rstrip("\n")
        except (OSError, subprocess.SubprocessError):
            return ""
    digest = hashlib.sha256()
    for path in sorted((REPO / "extract").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    changed = [line[3:] for line in git("status", "--porcelain", "--", "extract").splitlines()
               if line.strip()]
    return {"head": git("rev-parse", "--short", "HEAD"), "extract_changed": changed,
            "extract_sha256": digest.hexdigest()[:16]}


def _row_dict(m: Measured) -> dict[str, Any]:
    d = asdict(m)
    d["samples_per_s"] = round(m.samples_per_s)
    d["samples_per_cpu_s"] = round(m.samples_per_cpu_s)
    d["cpu_s"] = round(m.cpu_s, 3)
    d["seconds"] = round(m.seconds, 3)
    d["peak_rss_mb"] = round(m.peak_rss_mb, 1)
    d["peak_rss_polled_mb"] = round(m.peak_rss_polled_mb, 1)
    return d


def format_table(rows: list[Measured], dlt: Measured | None) -> str:
    head = (f"{'contender':<14} {'window':>8} {'samples':>11} {'seconds':>8} {'samples/s':>11} "
            f"{'peak RSS MB':>12} {'CPU s':>7} {'vs dlt':>7}")
    lines = [head, "-" * len(head)]
    for m in rows:
        vs = f"{m.samples_per_s / dlt.samples_per_s:.1f}x" if dlt and dlt.samples_per_s else "-"
        lines.append(f"{m.contender:<14} {m.window_minutes:>5}min {m.samples:>11,} "
                     f"{m.seconds:>8.2f} {m.samples_per_s:>11,.0f} {m.peak_rss_mb:>12.0f} "
                     f"{m.cpu_s:>7.2f} {vs:>7}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
