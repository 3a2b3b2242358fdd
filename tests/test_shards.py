"""Several extractors on one lake: per-site locks, shards, and kill -9 among them.

Real CLI processes against the stand-in on loopback; what landed is compared with the
stand-in's truth, as tests/test_crash.py does for one process.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from extract.core.errors import ConfigError, LockHeld
from extract.core.shard import Shard, shard_of
from extract.landing.lake import Lake, temp_path
from extract.landing.locks import RunLocks, lake_wide
from extract.landing.meta import digest_path, land_points
from extract.ops.mainjob import Options
from extract.standin import Clock, StandIn, World

from .conftest import T0, TOKEN, cli, landed_rows, sample_set
from .test_crash import distinct, env_for, visible_files_are_whole

REPO = Path(__file__).resolve().parent.parent
SHARDS = 4
TRIALS = 4



# -- shard assignment ------------------------------------------------------------------

def test_shard_assignment_is_stable_and_covers_every_site_once() -> None:
    names = [f"site_{i:03d}" for i in range(300)] + World(seed=5, sites=8).site_names
    for n in range(1, 9):
        owners = {s: [i for i in range(1, n + 1) if Shard(i, n).holds(s)] for s in names}
        assert all(len(o) == 1 for o in owners.values()), n  # exactly one shard each
        if n > 1:  # and the hash spreads them: no shard empty among 300 names
            assert {o[0] for o in owners.values()} == set(range(1, n + 1))
    # fixed values (crc32 of the name), the same in a process with another hash seed
    fixed = {"acme_hq": shard_of("acme_hq", 4), "pinecrest_ms": shard_of("pinecrest_ms", 4)}
    assert fixed == {"acme_hq": 3, "pinecrest_ms": 1}
    code = ("from extract.core.shard import shard_of; "
            "print(shard_of('acme_hq', 4), shard_of('pinecrest_ms', 4))")
    for seed in ("1", "12345"):
        out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert out.stdout.split() == ["3", "1"], out.stderr


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "2", "-1/3", "1/2/3"])
def test_bad_shard_is_one_line_and_exit_2(text: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Shard.parse(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    env.update(ACE_API_URL="http://127.0.0.1:9", ACE_API_KEY=TOKEN,
               LAKE_DIR=str(tmp_path / "lake"))
    for args in (["sync", f"--shard={text}"], ["run", f"--shard={text}", "--skip-dbt"]):
        r = cli(args, env, timeout=60)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "--shard" in lines[0], r.stderr
    assert not (tmp_path / "lake" / "raw").exists()


def test_site_and_shard_do_not_combine_and_only_shard_one_builds() -> None:
    r = cli(["sync", "--site", "a", "--shard", "1/2"], dict(os.environ), timeout=60)
    assert r.returncode == 2 and "not allowed with" in r.stderr
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3)
    assert Options().builds and Options(shard=Shard(1, 3)).builds
    assert not Options(shard=Shard(2, 3)).builds
    assert not Options(skip_dbt=True, shard=Shard(1, 3)).builds


# -- locks -----------------------------------------------------------------------------

def test_site_locks_exclude_the_same_site_only(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    with lake.run_locks() as one, lake.run_locks() as two:
        one.site("a")
        two.site("b")  # another site: at once
        with pytest.raises(LockHeld, match=r"another extractor run holds .*locks/a\.lock"):
            two.site("a")
        assert not two.try_site("a") and two.try_site("c")
        # lake-wide work: one owner at a time, the other skips instead of waiting
        with lake_wide(lake.root, "x") as first, lake_wide(lake.root, "y") as second:
            assert first and not second
        # the whole lake, exclusively: refused while landing runs hold it shared
        with pytest.raises(LockHeld), lake.lock():
            pass
    with lake.lock(), pytest.raises(LockHeld), RunLocks(lake.root):
        pass


def test_points_digests_are_per_site_and_the_old_shared_file_is_read(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    items = [{"name": "p1", "id": 1}]
    assert land_points(lake, "a", items, T0, "r1")
    assert not land_points(lake, "a", items, T0, "r2")  # unchanged: not landed again
    assert digest_path(lake, "points:a").exists()
    assert land_points(lake, "b", items, T0, "r3")
    # an older lake: its shared file is read for a scope without a file of its own
    digest = json.loads(digest_path(lake, "points:b").read_text())["digest"]
    shared = lake.root / "state" / "meta_digests.json"
    shared.write_text(json.dumps({"points:c": digest}))
    assert not land_points(lake, "c", items, T0, "r4")
    assert not list((lake.root / "meta" / "points" / "site=c").glob("*.parquet"))
    assert json.loads(shared.read_text()) == {"points:c": digest}  # never rewritten


def test_clean_up_keeps_live_runs_temps(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    d = lake.raw_dir("a", T0.date())
    d.mkdir(parents=True)
    live = temp_path(d / "r-00001.parquet")  # this process: alive
    dead_proc = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_proc.wait()
    dead = live.with_name(live.name.replace(f".{os.getpid()}.tmp", f".{dead_proc.pid}.tmp"))
    old_kind = d / ".r-00003.parquet.tmp"
    for p in (live, dead, old_kind):
        p.write_bytes(b"x")
    with lake.run_locks() as locks, locks.lake_wide("clean-up") as held:
        assert held
        assert lake.remove_stale_temps() == 2
    assert live.exists() and not dead.exists() and not old_kind.exists()
    with lake.run_locks() as locks:
        locks.site("a")  # holding the site's lock: every temp of the site is stale
    assert not live.exists()


@pytest.fixture(scope="module")
def fleet() -> StandIn:
    world = World(seed=5, sites=8, points_per_site=15)
    server = StandIn(world, token=TOKEN, clock=Clock(now=T0)).start(port=0)
    yield server
    server.stop()


def test_syncs_of_different_sites_run_at_once_and_of_the_same_site_conflict(
        fleet: StandIn, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    env = env_for(fleet, lake)
    a, b = fleet.world.site_names[:2]
    until = ["--until", T0.isoformat()]
    with Lake(lake).run_locks() as other:
        other.site(a)  # another run syncing site a, for as long as this block lasts
        busy = cli(["sync", "--site", a, *until], env, timeout=60)
        free = cli(["sync", "--site", b, *until], env)
    assert busy.returncode == 3, busy.stderr
    assert busy.stderr.strip().splitlines() == [busy.stderr.strip()]
    assert "another extractor run holds" in busy.stderr and f"{a}.lock" in busy.stderr
    assert free.returncode == 0, free.stderr[-2000:]
    assert set(landed_rows(lake)["site"].to_pylist()) == {b}
    # two real processes at once, on different sites: both land their site's truth
    procs = [subprocess.Popen([sys.executable, "-m", "extract", "sync", "--site", s, *until],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for s in (a, fleet.world.site_names[2])]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    for s in (a, fleet.world.site_names[2]):
        assert sample_set(landed_rows(lake, s)) == sample_set(
            fleet.world.truth(s, T0 - timedelta(hours=24), T0, T0))


def test_run_of_a_later_shard_syncs_its_sites_and_does_not_build(
        fleet: StandIn, tmp_path: Path) -> None:
    env = {**env_for(fleet, tmp_path / "lake"), "WAREHOUSE_PATH": str(tmp_path / "wh.duckdb"),
           "PUBLISHED_DIR": str(tmp_path / "published")}
    r = cli(["run", "--shard", "4/4", "--until", T0.isoformat(), "--no-report"], env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    mine = {s for s in fleet.world.site_names if Shard(4, 4).holds(s)}
    assert mine and set(landed_rows(tmp_path / "lake")["site"].to_pylist()) == mine
    (job,) = (tmp_path / "lake" / "state" / "jobs").glob("*.json")
    assert set(json.loads(job.read_text())["steps"]) == {"sync", "repair"}  # no build
    assert not (tmp_path / "wh.duckdb").exists() and not (tmp_path / "published").exists()


# -- four shards, kill -9 at random moments ----------------------------------------------

def _start_shards(env: dict[str, str], logs: Path, tag: str, rng: random.Random | None
                  ) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(1, SHARDS + 1):
        if rng is not None:
            time.sleep(rng.uniform(0, 0.3))  # staggered: clean-ups run while others write
        with open(logs / f"{tag}-{i}.err", "wb") as err:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "extract", "sync", "--shard", f"{i}/{SHARDS}",
                 "--until", T0.isoformat()], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                stderr=err))
    return procs


def _clean_exit(logs: Path, tag: str, i: int) -> None:
    text = (logs / f"{tag}-{i}.err").read_text()
    assert "Traceback" not in text and "No such file" not in text, text[-3000:]


@pytest.mark.slow
def test_four_shards_killed_at_random_then_rerun_equal_the_truth(
        fleet: StandIn, tmp_path: Path) -> None:
    world = fleet.world
    window_start = T0 - timedelta(hours=24)
    truth = {(s, *row) for s in world.site_names
             for row in sample_set(world.truth(s, window_start, T0, T0))}
    logs = tmp_path / "logs"
    logs.mkdir()
    ref = tmp_path / "reference"
    t = time.monotonic()
    assert [p.wait(timeout=600) for p in _start_shards(env_for(fleet, ref), logs, "ref",
                                                       None)] == [0] * SHARDS
    duration = time.monotonic() - t
    assert distinct(ref) == truth
    rng = random.Random(20261202)
    killed = 0
    trial = -1
    # at least TRIALS rounds, and more (up to 3x) while fewer kills than rounds landed mid-run:
    # the moments are drawn from the reference run's length, and a loaded machine can make a
    # round finish sooner than that
    while (trial := trial + 1) < TRIALS or (killed < TRIALS and trial < 3 * TRIALS):
        lake = tmp_path / f"trial{trial}"
        env = env_for(fleet, lake)
        procs = _start_shards(env, logs, f"t{trial}", rng)
        victims = rng.sample(range(SHARDS), rng.randint(1, SHARDS))
        moments = sorted((rng.uniform(0.1, duration * 0.7), v) for v in victims)
        t0 = time.monotonic()
        for at, v in moments:
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            if procs[v].poll() is None:
                procs[v].send_signal(signal.SIGKILL)
                killed += 1
        codes = [p.wait(timeout=600) for p in procs]
        for i, code in enumerate(codes, 1):
            if code != -signal.SIGKILL:  # the survivors finished, untroubled by the others
                assert code == 0, (trial, i, code)
                _clean_exit(logs, f"t{trial}", i)
        visible_files_are_whole(lake)
        again = _start_shards(env, logs, f"r{trial}", None)
        assert [p.wait(timeout=600) for p in again] == [0] * SHARDS, trial
        for i in range(1, SHARDS + 1):
            _clean_exit(logs, f"r{trial}", i)
        visible_files_are_whole(lake)
        assert not list(lake.rglob("*.tmp")), trial
        got = distinct(lake)
        inside = {r for r in got if r[2] >= window_start}
        assert inside == truth, (f"trial {trial}: {len(truth - inside)} missing, "
                                 f"{len(inside - truth)} unexpected")
        for site in world.site_names:  # a rerun's look-back may reach earlier: true rows
            extra = {r[1:] for r in got - inside if r[0] == site}
            if extra:
                assert extra <= sample_set(world.truth(
                    site, window_start - timedelta(hours=3), window_start, T0)), trial
        # each run synced the sites of one shard only, and every site was synced
        synced: set[str] = set()
        for f in (lake / "state" / "runs").glob("*.json"):
            sites = [s["site"] for s in json.loads(f.read_text()).get("sites", [])]
            assert len({shard_of(s, SHARDS) for s in sites}) <= 1, (trial, f.name, sites)
            synced |= set(sites)
        assert synced == set(world.site_names)
    assert killed >= TRIALS, "the kills came too late to land mid-run"
