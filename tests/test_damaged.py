"""Damaged files and lost state never halt the pipeline; the cold tier can be rebuilt.

The real main job (``python -m extract run``) and ``dbt`` run as subprocesses against the
stand-in on loopback; damage is done as an operator's accident would do it (random bytes
written over or beside landed Parquet, truncated JSON, a deleted cold file). Each test
checks the outcome against facts read straight from the Parquet and JSON on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.standin import Clock, StandIn, World
from extract.warehouse.tiers import move_to_cold

from .conftest import T0, TOKEN
from .test_status import REPO, cli, make_env, raw_query, status_json

pytestmark = pytest.mark.slow


def junk(path: Path) -> Path:
    """3000 random bytes at ``path`` (what ``head -c 3000 /dev/urandom > path`` does)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(3000))
    return path


def run_job(env: dict[str, str], until: datetime) -> subprocess.CompletedProcess[str]:
    r = cli(["run", "--until", until.isoformat(), "--no-report"], env)
    assert "Traceback" not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def newest_json(directory: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(sorted(directory.glob("*.json"))[-1].read_text())
    return doc


def published(root: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str((root / "published" / "current.duckdb").resolve()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def raw_keys(lake: Path) -> int:
    ((n,),) = raw_query(lake, "select count(distinct (site, point, ts)) from raw")
    return int(n)


def world() -> World:
    return World(seed=3, sites=2, points_per_site=4, interval_profile="uniform60",
                 bad_samples=True)


def test_damaged_parquet_is_set_aside_and_the_job_goes_on(tmp_path: Path) -> None:
    w = world()
    first, second = w.site_names
    clock = Clock(now=T0)
    later = T0 + timedelta(minutes=10)
    with StandIn(w, token=TOKEN, clock=clock).start(port=0) as server:
        env = make_env(tmp_path, server.url, as_of=T0)
        run_job(env, T0)
        lake = tmp_path / "lake"
        landed = set(lake.glob("raw/**/*.parquet")) | set(lake.glob("quarantine/**/*.parquet"))
        day = T0.date().isoformat()
        bad = [
            junk(lake / "raw" / f"site={first}" / f"date={day}" / "zz.parquet"),  # re-read
            junk(lake / "raw" / f"site={first}" / "date=2025-09-01" / "old.parquet"),
            junk(lake / "quarantine" / f"site={first}" / f"date={day}" / "zz.parquet"),
            junk(lake / "meta" / "sites" / "zz.parquet"),
            junk(lake / "meta" / "points" / f"site={second}" / "zz.parquet"),
        ]
        clock.set(later)
        env = make_env(tmp_path, server.url, as_of=later)
        r = run_job(env, later)
    assert "damaged files    5 set aside" in r.stdout, r.stdout
    job = newest_json(lake / "state" / "jobs")
    assert job["ok"] and len(job["damaged"]) == 5 and job["published"]
    assert any("damaged file(s) set aside" in x for x in job["warnings"])
    assert job["run_id"] in job["published"]  # the build ran and this run was published
    run = json.loads((lake / "state" / "runs" / f"{job['run_id']}.json").read_text())
    # the sync's re-read met the two files of its window; the others, the check before the build
    assert {d["path"] for d in run["damaged"]} == {
        f"raw/site={first}/date={day}/zz.parquet",
        str(bad[2].relative_to(lake))}
    for path in bad:
        rel = path.relative_to(lake)
        assert not path.exists()
        moved = lake / "damaged" / rel
        assert moved.read_bytes()[:4] != b"PAR1" and moved.stat().st_size == 3000
        note = json.loads(moved.with_name(moved.name + ".json").read_text())
        assert note["path"] == str(rel) and "magic bytes" in note["reason"]
        assert note["run_id"] == job["run_id"] and note["set_aside_at"]
    assert all(p.exists() for p in landed)  # landed data is never deleted
    for site in (first, second):  # both sites synced, through the new --until
        cp = json.loads((lake / "state" / "checkpoints" / f"{site}.json").read_text())
        assert datetime.fromisoformat(cp["synced_through"]) == later
    ((n,),) = published(tmp_path, "select count(*) from samples")
    assert n == raw_keys(lake)
    rc, doc = status_json(env, later + timedelta(minutes=1))
    assert doc["tiers"]["damaged"]["files"] == 5
    assert any(p["level"] == "warning" and "5 damaged files set aside" in p["message"]
               for p in doc["problems"]), doc["problems"]


def test_a_build_that_fails_on_an_unreadable_file_sets_it_aside_and_builds_again(
        tmp_path: Path) -> None:
    """A file the check before the build did not see (damaged in place, say) is caught by
    the build itself: set aside, left out of the registry's raw files, built again."""
    w = world()
    first = w.site_names[0]
    clock = Clock(now=T0)
    later = T0 + timedelta(minutes=10)
    with StandIn(w, token=TOKEN, clock=clock).start(port=0) as server:
        env = make_env(tmp_path, server.url, as_of=T0)
        run_job(env, T0)
        lake = tmp_path / "lake"
        bad = junk(lake / "raw" / f"site={first}" / "date=2025-09-01" / "old.parquet")
        # as if the file had been there at the last check (its directory unchanged since)
        check = lake / "state" / "lake_check.json"
        check.write_text(json.dumps({"checked_at": bad.stat().st_ctime + 3600}))
        clock.set(later)
        env = make_env(tmp_path, server.url, as_of=later)
        r = run_job(env, later)
    job = newest_json(lake / "state" / "jobs")
    assert job["ok"] and job["run_id"] in job["published"], job
    assert [d["path"] for d in job["damaged"]] == [str(bad.relative_to(lake))]
    assert not bad.exists() and (lake / "damaged" / bad.relative_to(lake)).exists()
    assert "building again" in r.stderr
    wh = tmp_path / "warehouse.duckdb"
    rows = raw_query_wh(wh, "select kind, file_path from int_landed_files "
                            "where file_path like '%old.parquet'")
    assert rows == [("damaged", str((lake / "damaged" / bad.relative_to(lake)).resolve()))]
    ((n,),) = published(tmp_path, "select count(*) from samples")
    assert n == raw_keys(lake)


def test_unreadable_state_files_are_kept_aside_and_rebuilt(tmp_path: Path) -> None:
    w = world()
    first, second = w.site_names
    clock = Clock(now=T0)
    later = T0 + timedelta(minutes=10)
    with StandIn(w, token=TOKEN, clock=clock).start(port=0) as server:
        env = make_env(tmp_path, server.url, as_of=T0)
        run_job(env, T0)
        lake = tmp_path / "lake"
        state = lake / "state"
        # a truncated job summary: status names it instead of skipping it
        job_file = sorted((state / "jobs").glob("*.json"))[-1]
        job_file.write_text(job_file.read_text()[:40])
        rc, doc = status_json(env, T0 + timedelta(minutes=1))
        assert any(p["level"] == "warning" and "unreadable summary" in p["message"]
                   and job_file.name in p["message"] for p in doc["problems"]), doc["problems"]
        ((latest,),) = raw_query(lake, f"select max(ts) from raw where site = '{first}'")
        rows_before = raw_query(lake, "select count(*) from raw")[0][0]
        cp = state / "checkpoints" / f"{first}.json"
        cp.write_text(cp.read_text()[:25])
        digests = state / "meta_digests" / "sites.json"
        digests.write_text('{"digest": "ab')
        clock.set(later)
        env = make_env(tmp_path, server.url, as_of=later)
        r = run_job(env, later)
        assert f"{first}: checkpoint rebuilt from the lake" in r.stderr
        assert "unreadable state file" in r.stderr and "Traceback" not in r.stderr
        # a backfill whose progress file was cut short starts again, lands nothing twice
        start, end = T0 - timedelta(hours=6), T0 - timedelta(hours=5)
        job = state / "backfill" / second / (f"{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}"
                                            ".json")
        job.parent.mkdir(parents=True, exist_ok=True)
        job.write_text('{"done_through": "2025-')
        r = cli(["backfill", "--site", second, "--start", start.isoformat(), "--end",
                 end.isoformat(), "--no-progress"], env)
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert [p.name for p in cp.parent.glob(f"{first}.json.corrupt-*")], "kept aside"
    rebuilt = json.loads(cp.read_text())
    assert datetime.fromisoformat(rebuilt["synced_through"]) == later
    assert list(digests.parent.glob("sites.json.corrupt-*"))
    assert json.loads(digests.read_text()).keys() >= {"digest"}
    assert list(job.parent.glob(f"{job.name}.corrupt-*"))
    assert json.loads(job.read_text())["done_through"] == end.isoformat()
    # the rebuilt checkpoint re-read from the latest landed ts minus the look-back: nothing
    # lost, nothing landed twice
    ((dupes,),) = raw_query(lake, "select count(*) - count(distinct (site, point, ts, "
                                  "value_raw)) from raw")
    assert dupes == 0
    assert raw_query(lake, "select count(*) from raw")[0][0] > rows_before
    assert raw_query(lake, f"select max(ts) from raw where site = '{first}'")[0][0] > latest


def dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    vars_ = env["DBT_VARS"]
    return subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir",
         str(REPO / "dbt_project"), "--profiles-dir", str(REPO), "--exclude-resource-type",
         "unit_test", "--vars", vars_, *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


BOUNDARY = T0.replace(hour=0) - timedelta(days=1)  # ACE_HOT_DAYS=1


def cold_part(root: Path) -> list[tuple[Any, ...]]:
    """Per site, the rows of ``timeseries`` older than the cold boundary: count, distinct
    keys and a checksum of keys and values."""
    return published(root, "select site, count(*), count(distinct (point, ts)), "
                           "sum(hash(point, ts, value_raw)) from timeseries "
                           f"where ts < timestamptz '{BOUNDARY.isoformat()}' "
                           "group by site order by site")


def test_lost_cold_files_are_rebuilt_from_raw(tmp_path: Path) -> None:
    w = world()
    first, second = w.site_names
    clock = Clock(now=T0)
    with StandIn(w, token=TOKEN, clock=clock).start(port=0) as server:
        env = make_env(tmp_path, server.url, as_of=T0)
        env.update(ACE_HOT_DAYS="1", EXTRACT_INITIAL_HISTORY="3d")
        run_job(env, T0)
        lake, wh = tmp_path / "lake", tmp_path / "warehouse.duckdb"
        cold = sorted(lake.glob("cold/site=*/month=*/*.parquet"))
        assert len(cold) == 2  # one month of each site
        truth = cold_part(tmp_path)
        assert len(truth) == 2 and all(n == keys for _, n, keys, _ in truth)
        ((total,),) = published(tmp_path, "select count(*) from timeseries")
        assert total == raw_keys(lake)

        # 1. one cold file deleted, the other overwritten with random bytes: the next run
        # says so and rebuilds both from raw/
        cold[0].unlink()
        junk(cold[1])
        later = T0 + timedelta(minutes=5)
        clock.set(later)
        env = make_env(tmp_path, server.url, as_of=later) | {"ACE_HOT_DAYS": "1"}
        r = run_job(env, later)
        assert "cold rebuilt     2 files from raw/" in r.stdout, r.stdout
        assert (lake / "damaged" / cold[1].relative_to(lake)).exists()
        assert cold_part(tmp_path) == truth
        ((total,),) = published(tmp_path, "select count(*) from timeseries")
        assert total == raw_keys(lake)
        active = raw_query_wh(wh, "select path from cold_files where active order by path")
        assert len(active) == 2 and all(Path(p).exists() for (p,) in active)

        # 2. dbt alone: an incremental build names the recovery in one line, and
        # --full-refresh is that recovery
        for (p,) in active:
            Path(p).unlink()
        r = dbt(env)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and "active cold-tier file(s) missing" in out, out[-3000:]
        assert "python -m extract run" in out
        r = dbt(env, "--full-refresh")
        assert r.returncode == 0, r.stdout[-3000:]
        ((n,),) = raw_query_wh(wh, "select count(*) from timeseries")
        assert n == raw_keys(lake)
        run_job(env, later)  # the next move writes the cold months again
        assert cold_part(tmp_path) == truth

        # 3. a warehouse rebuilt from scratch: the cold files only its predecessor knew
        # are removed once the grace period has passed, and no sooner
        before = set(lake.glob("cold/site=*/month=*/*.parquet"))
        assert before
        for f in tmp_path.glob("warehouse.duckdb*"):
            f.unlink()
        run_job(env, later)
        assert cold_part(tmp_path) == truth
        mine = {Path(p) for (p,) in raw_query_wh(wh, "select path from cold_files")}
        inherited = set(lake.glob("cold/site=*/month=*/*.parquet")) - mine
        assert inherited == before
        move_to_cold(wh, lake, 1, later + timedelta(hours=23))
        assert all(p.exists() for p in inherited)
        move_to_cold(wh, lake, 1, later + timedelta(hours=25))
        assert not any(p.exists() for p in inherited)
        active = raw_query_wh(wh, "select path from cold_files where active")
        assert active and all(Path(p).exists() for (p,) in active)
        ((n,),) = raw_query_wh(wh, "select count(*) from timeseries")
        assert n == raw_keys(lake)


def raw_query_wh(wh: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
