"""``python -m extract status`` against lakes built by the real main job.

The main job (``python -m extract run``: sync, dbt build, publish) runs as a subprocess
against the local stand-in with a controlled ``--until``; ``status --json`` runs as a
subprocess with an explicit ``--now``. Its answers are compared with facts known
independently: the ``--until`` given, ``now - until``, counts computed here from the landed
raw Parquet, the stand-in's world (points per site, an outage placed on purpose).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.cli import build_parser
from extract.landing.lake import atomic_write_json
from extract.ops.status import collect_status, exit_code
from extract.standin import Clock, Fault, StandIn, World

from .conftest import T0, TOKEN, cli

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
POINTS = 6


def status_argv() -> list[str]:
    """``-m extract status`` once cli.py registers the subcommand; until then the module's
    own entry point, which takes the same options."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return ["-m", "extract", "status"] if "status" in sub.choices else ["-m", "extract.ops.status"]



def status(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = subprocess.run([sys.executable, *status_argv(), *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    assert TOKEN not in r.stdout + r.stderr
    return r.returncode, r.stdout, r.stderr


def status_json(env: dict[str, str], now: datetime, *args: str) -> tuple[int, dict[str, Any]]:
    rc, out, err = status(env, "--json", "--now", now.isoformat(), *args)
    doc = json.loads(out)
    assert doc["exit_code"] == rc, err
    return rc, doc


def make_env(root: Path, url: str, as_of: datetime) -> dict[str, str]:
    """Everything under ``root``; the API is the stand-in; dbt's as_of is pinned."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("ACE_", "EXTRACT_", "DBT_VARS"))}
    e.update(
        ACE_API_URL=url, ACE_API_KEY=TOKEN, LAKE_DIR=str(root / "lake"),
        WAREHOUSE_PATH=str(root / "warehouse.duckdb"), PUBLISHED_DIR=str(root / "published"),
        REPORT_PATH=str(root / "report" / "index.html"),
        DBT_TARGET_PATH=str(root / "dbt_target"), DBT_LOG_PATH=str(root / "dbt_logs"),
        EXTRACT_SETTLE="0s", EXTRACT_INITIAL_HISTORY="6h", EXTRACT_MAX_RPS="1000",
        EXTRACT_BACKOFF_BASE="0.01", EXTRACT_BACKOFF_MAX="0.05",
        DBT_VARS=json.dumps({"as_of": as_of.isoformat()}))
    return e


def main_job(env: dict[str, str], until: datetime) -> subprocess.CompletedProcess[str]:
    return cli(["run", "--until", until.isoformat()], env)


def raw_query(lake: Path, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` over every landed raw row (table ``raw``), read straight from the Parquet."""
    files = sorted(str(p) for p in lake.glob("raw/site=*/date=*/*.parquet"))
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.read_parquet(files, hive_partitioning=False).create_view("raw")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def by_site(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["site"]: s for s in doc["sites"]}


@dataclass
class Built:
    """A lake, warehouse and published snapshot made by one main job run at T0."""

    root: Path
    env: dict[str, str]
    world: World
    gap_site: str
    gap_seconds: float  # the closed gap the outage made, measured in the raw Parquet

    @property
    def lake(self) -> Path:
        return self.root / "lake"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    world = World(seed=5, sites=2, points_per_site=POINTS, interval_profile="uniform60",
                  bad_samples=False)
    gap_site = world.site_names[0]
    gap_point = world.points(gap_site)[0].name
    world.add_outage(gap_site, T0 - timedelta(hours=3), T0 - timedelta(hours=2), [gap_point])
    server = StandIn(world, token=TOKEN, clock=Clock(now=T0)).start(port=0)
    try:
        root = tmp_path_factory.mktemp("status_healthy")
        env = make_env(root, server.url, as_of=T0)
        r = main_job(env, T0)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        ((before, after),) = raw_query(root / "lake", f"""
            select max(ts) filter (where ts < timestamptz '{T0 - timedelta(hours=3)}'),
                   min(ts) filter (where ts >= timestamptz '{T0 - timedelta(hours=2)}')
            from raw where site = '{gap_site}' and point = '{gap_point}'""")
        yield Built(root, env, world, gap_site, (after - before).total_seconds())
    finally:
        server.stop()


def test_healthy_lake_reports_what_the_lake_and_warehouse_hold(built: Built) -> None:
    now = T0 + timedelta(minutes=5)
    rc, doc = status_json(built.env, now)
    assert rc == 0 and doc["level"] == "ok" and doc["problems"] == [], doc["problems"]
    facts = {site: (n, keys, newest) for site, n, keys, newest in raw_query(
        built.lake, "select site, count(*), count(distinct (point, ts)), max(ts) "
                    "from raw group by site")}
    (runs,) = [p.stem for p in (built.lake / "state" / "runs").glob("*.json")]
    sites = by_site(doc)
    assert sorted(sites) == sorted(built.world.site_names) == sorted(facts)
    for name, s in sites.items():
        landed, _keys, newest = facts[name]
        assert at(s["checkpoint"]) == T0 and s["checkpoint_lag_s"] == 300
        assert not s["checkpoint_stale"] and not s["samples_stale"]
        assert s["last_run"]["run_id"] == runs and s["last_run"]["ok"]
        assert s["last_run"]["landed"] == landed
        assert at(s["newest_sample"]) == newest
        assert s["newest_sample_age_s"] == pytest.approx((now - newest).total_seconds())
        assert s["points"] == POINTS
        assert s["open_gaps"] == 0
        want_gap = built.gap_seconds if name == built.gap_site else 0
        assert s["gap_seconds_7d"] == pytest.approx(want_gap, abs=1e-3)
    assert built.gap_seconds > 3600  # the outage's hour, plus the spacing around it

    assert doc["last_run"]["run_id"] == runs and doc["last_run"]["ok"]
    assert doc["last_run"]["landed"] == sum(f[0] for f in facts.values())
    if doc["last_job"] is not None:  # the main job's own summary, where it writes one
        assert doc["last_job"]["ok"] and doc["last_job"]["run_id"] == runs

    snapshot = (built.root / "published" / "current.duckdb").resolve()
    wh = doc["warehouse"]
    assert wh["path"] == str(snapshot) and wh["is_published_snapshot"] and wh["error"] is None
    assert wh["file_bytes"] == snapshot.stat().st_size
    rows = {t["name"]: t["rows"] for t in wh["tables"]}
    keys = sum(f[1] for f in facts.values())
    ((buckets,),) = raw_query(built.lake, "select count(distinct (site, point, "
                                          "floor(epoch(ts) / 300))) from raw")
    assert rows["samples"] == keys and rows["samples_5min"] == buckets
    assert rows["point_gaps"] == 1 and rows["points"] == POINTS * len(facts)
    assert doc["published"]["run_id"] == runs and doc["published"]["exists"]

    tiers = doc["tiers"]
    raw_files = list(built.lake.glob("raw/site=*/date=*/*.parquet"))
    assert tiers["hot"]["rows"] == keys
    assert tiers["cold"]["rows"] == 0 and tiers["cold"]["files"] == 0  # all within hot_days
    assert tiers["raw"] == {"files": len(raw_files),
                            "bytes": sum(p.stat().st_size for p in raw_files)}
    assert tiers["quarantine"] == {"files": 0, "bytes": 0, "rows": 0}


def test_a_site_is_stale_only_beyond_max_lag(built: Built) -> None:
    now = T0 + timedelta(hours=2)
    rc, doc = status_json(built.env, now)
    assert rc == 1 and doc["level"] == "warning"
    assert {p["level"] for p in doc["problems"]} == {"warning"}
    for s in doc["sites"]:
        assert s["checkpoint_lag_s"] == 7200 and s["checkpoint_stale"] and s["samples_stale"]
    # exactly --max-lag is not stale; the newest sample (before T0) still is
    rc, doc = status_json(built.env, now, "--max-lag", "2h")
    assert rc == 1
    assert all(not s["checkpoint_stale"] and s["samples_stale"] for s in doc["sites"])
    rc, doc = status_json(built.env, now, "--max-lag", "3h")
    assert rc == 0 and doc["problems"] == []


def test_text_report_is_one_screen(built: Built) -> None:
    rc, out, _ = status(built.env, "--now", (T0 + timedelta(minutes=5)).isoformat())
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("status OK (exit 0)")
    assert "problems   none" in out
    for site in built.world.site_names:
        (line,) = [x for x in lines if x.split()[:1] == [site]]
        assert "2025-10-12 12:00:00Z" in line and "5m" in line
    assert len(lines) <= 25 and max(map(len, lines)) <= 200


def test_help_documents_the_exit_statuses() -> None:
    r = subprocess.run([sys.executable, *status_argv(), "--help"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for text in ("--json", "--max-lag", "--warehouse", "--now", "--lake", "exit status",
                 "0  healthy", "1  warning", "2  critical"):
        assert text in r.stdout, text
    r = subprocess.run([sys.executable, *status_argv(), "--max-lag", "soon"], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--max-lag" in r.stderr


def test_a_writer_on_the_build_file_falls_back_to_the_snapshot(built: Built) -> None:
    build_file = built.root / "warehouse.duckdb"
    now = T0 + timedelta(minutes=5)
    writer = duckdb.connect(str(build_file))  # read-write, as a running build holds it
    try:
        rc, doc = status_json(built.env, now, "--warehouse", str(build_file))
        # with no snapshot to fall back on, the build file is all there is: critical
        no_snapshot = {**built.env, "PUBLISHED_DIR": str(built.root / "nothing_published")}
        rc_alone, alone = status_json(no_snapshot, now)
        assert writer.execute("select count(*) from samples").fetchone() is not None
    finally:
        writer.close()
    assert rc_alone == 2 and alone["warehouse"]["path"] is None
    assert alone["warehouse"]["requested"] == str(build_file)
    assert "locked by a writer" in alone["warehouse"]["error"]
    assert "no published snapshot" in alone["warehouse"]["error"]
    wh = doc["warehouse"]
    snapshot = (built.root / "published" / "current.duckdb").resolve()
    assert rc == 0, doc["problems"]
    assert wh["requested"] == str(build_file) and wh["path"] == str(snapshot)
    assert wh["is_published_snapshot"] and "locked by a writer" in wh["note"]
    # without the writer the build file itself is read, and holds the same rows
    rc, direct = status_json(built.env, now, "--warehouse", str(build_file))
    assert rc == 0 and direct["warehouse"]["path"] == str(build_file)
    assert not direct["warehouse"]["is_published_snapshot"]
    assert direct["warehouse"]["note"] is None
    assert direct["tiers"]["hot"] == doc["tiers"]["hot"]


def test_empty_lake_is_critical_and_left_untouched(tmp_path: Path) -> None:
    env = make_env(tmp_path, "http://127.0.0.1:9/api", as_of=T0)
    rc, doc = status_json(env, T0)
    assert rc == 2 and doc["level"] == "critical"
    messages = [p["message"] for p in doc["problems"] if p["level"] == "critical"]
    assert any("nothing synced yet" in m for m in messages)
    assert any("no warehouse" in m for m in messages)
    assert doc["sites"] == [] and doc["last_run"] is None and doc["warehouse"]["path"] is None
    rc, out, _ = status(env)
    assert rc == 2 and "nothing synced yet" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # status wrote nothing


def test_synced_lake_without_a_warehouse_is_critical(tmp_path: Path) -> None:
    world = World(seed=5, sites=2, points_per_site=3, interval_profile="uniform60",
                  bad_samples=False)
    with StandIn(world, token=TOKEN, clock=Clock(now=T0)).start(port=0) as server:
        env = make_env(tmp_path, server.url, as_of=T0)
        r = cli(["sync", "--until", T0.isoformat()], env)
    assert r.returncode == 0, r.stderr
    rc, doc = status_json(env, T0 + timedelta(minutes=1))
    assert rc == 2
    assert [p["message"] for p in doc["problems"]] == [
        f"no warehouse at {tmp_path / 'warehouse.duckdb'}: nothing built yet "
        "(python -m extract run)"]
    for s in doc["sites"]:
        assert at(s["checkpoint"]) == T0 and s["checkpoint_lag_s"] == 60 and s["last_run"]["ok"]
        assert s["points"] is None and s["open_gaps"] is None
    files = list((tmp_path / "lake").glob("raw/site=*/date=*/*.parquet"))
    assert doc["tiers"]["raw"]["files"] == len(files) > 0
    assert doc["tiers"]["hot"]["rows"] is None


def test_failed_site_open_gap_and_quarantine(tmp_path: Path) -> None:
    world = World(seed=9, sites=2, points_per_site=4, interval_profile="uniform60",
                  bad_samples=False)
    good, bad = world.site_names
    silent = world.points(good)[1].name
    clock = Clock(now=T0)
    later = T0 + timedelta(minutes=30)
    with StandIn(world, token=TOKEN, clock=clock).start(port=0) as server:
        r = main_job(make_env(tmp_path, server.url, as_of=T0), T0)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        # one point of the good site stops reporting; the other site's data is refused
        world.add_outage(good, T0 + timedelta(minutes=5), T0 + timedelta(days=30), [silent])
        server.faults.add(Fault("unauthorized", count=100_000, path=f"/sites/{bad}/timeseries"))
        clock.set(later)
        env = make_env(tmp_path, server.url, as_of=later)
        r = main_job(env, later)
        assert r.returncode == 1, r.stdout[-3000:] + r.stderr[-3000:]
    now = later + timedelta(minutes=5)
    rc, doc = status_json(env, now)
    assert rc == 2
    sites = by_site(doc)
    assert at(sites[bad]["checkpoint"]) == T0 and sites[bad]["checkpoint_lag_s"] == 2100
    assert sites[bad]["checkpoint_stale"]
    assert not sites[bad]["last_run"]["ok"] and "401" in sites[bad]["last_run"]["error"]
    assert at(sites[good]["checkpoint"]) == later and sites[good]["checkpoint_lag_s"] == 300
    assert sites[good]["last_run"]["ok"] and sites[good]["open_gaps"] == 1
    ((last_seen,),) = raw_query(tmp_path / "lake", f"select max(ts) from raw where "
                                                   f"site = '{good}' and point = '{silent}'")
    assert at(sites[good]["oldest_open_gap_start"]) == last_seen
    problems = {(p["level"], p["site"]) for p in doc["problems"]}
    assert ("critical", bad) in problems and ("warning", good) in problems
    assert any("401" in p["message"] for p in doc["problems"] if p["site"] == bad)

    # a later import with an unparseable row: the newest run quarantined a sample
    export = tmp_path / "export.csv"
    export.write_text(f"point,time,value\n{silent},{T0.isoformat()},1.5\n{silent},later,2\n")
    r = cli(["import", str(export), "--site", good], env)
    assert r.returncode == 0, r.stderr
    rc, doc = status_json(env, now)
    assert rc == 2 and doc["last_run"]["command"] == "import"
    assert doc["tiers"]["quarantine"]["rows"] == 1 and doc["tiers"]["quarantine"]["files"] == 1
    assert any(p["level"] == "warning" and "quarantined 1 sample" in p["message"]
               for p in doc["problems"])
    assert by_site(doc)[good]["last_run"]["command"] == "import"


def test_unreadable_checkpoint_and_missing_cold_file_are_critical(built: Built,
                                                                  tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    (lake / "state" / "checkpoints").mkdir(parents=True)
    (lake / "state" / "checkpoints" / "broken_site.json").write_text("{not json")
    atomic_write_json(lake / "state" / "checkpoints" / "fine_site.json",
                      {"site": "fine_site", "synced_through": T0.isoformat()})
    # a copy of the built warehouse whose registry names a cold file that is not there
    wh = tmp_path / "copy.duckdb"
    wh.write_bytes((built.root / "published" / "current.duckdb").resolve().read_bytes())
    con = duckdb.connect(str(wh))
    try:
        con.execute("insert into cold_files values ('fine_site', '2025-09', ?, 1, 10, true, "
                    "now(), null)", [str(tmp_path / "gone.parquet")])
    finally:
        con.close()
    st = collect_status(lake, warehouse=wh, published_dir=tmp_path / "published",
                        now=T0 + timedelta(minutes=1))
    assert exit_code(st) == 2
    critical = [(p.site, p.message) for p in st.problems if p.level == "critical"]
    assert any(site == "broken_site" and "unreadable checkpoint" in m for site, m in critical)
    assert any("cold-tier file" in m and "gone.parquet" in m for _, m in critical)
    assert st.tiers.cold.rows == 10 and st.tiers.cold.missing_files == [
        str(tmp_path / "gone.parquet")]
    fine = next(s for s in st.sites if s.site == "fine_site")
    assert fine.checkpoint == T0 and fine.checkpoint_lag_s == 60
    json.dumps(st.to_dict())  # serialisable as is
