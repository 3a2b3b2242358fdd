"""Crash consistency: kill -9 the extractor at random moments, rerun, compare.

The moments are spread over a run's whole length (measured first), so kills land while
pages are fetched, while files are written and renamed, and while checkpoints are saved.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extract.standin import Clock, StandIn, World

from .conftest import T0, TOKEN, landed_rows, sample_set

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
TRIALS = 12


@pytest.fixture(scope="module")
def big_standin() -> StandIn:
    world = World(seed=5, sites=2, points_per_site=60)
    server = StandIn(world, token=TOKEN, clock=Clock(now=T0)).start(port=0)
    yield server
    server.stop()


def env_for(server: StandIn, lake: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e.update(ACE_API_URL=server.url, ACE_API_KEY=TOKEN, LAKE_DIR=str(lake),
             EXTRACT_SETTLE="0s", EXTRACT_INITIAL_HISTORY="24h", EXTRACT_CHUNK="1h",
             EXTRACT_PAGE_SIZE="1000", EXTRACT_MAX_RPS="10000")
    return e


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "extract", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def visible_files_are_whole(lake: Path) -> None:
    for f in lake.rglob("*.parquet"):
        pq.read_table(f, partitioning=None)  # raises on a partial file


def distinct(lake: Path) -> set:
    return sample_set(landed_rows(lake), ("site", "point", "ts", "value_raw"))


def test_kill_minus_nine_during_sync_then_rerun(big_standin: StandIn, tmp_path: Path) -> None:
    until = ["sync", "--until", T0.isoformat()]
    ref = tmp_path / "reference"
    t = time.monotonic()
    assert start(until, env_for(big_standin, ref)).wait(timeout=300) == 0
    duration = time.monotonic() - t
    expected = distinct(ref)
    world = big_standin.world
    truth = {(s, *row) for s in world.site_names for row in
             sample_set(world.truth(s, T0 - timedelta(hours=24), T0, T0))}
    assert expected == truth
    rng = random.Random(20251012)
    killed_mid_run = 0
    i = 0
    while killed_mid_run < TRIALS:
        i += 1
        assert i <= 3 * TRIALS, "runs kept finishing before the kill"
        lake = tmp_path / f"trial{i}"
        env = env_for(big_standin, lake)
        proc = start(until, env)
        time.sleep(rng.uniform(0.05, duration * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.wait(timeout=60)
        visible_files_are_whole(lake)  # right after the kill: nothing partial is visible
        assert start(until, env).wait(timeout=300) == 0
        visible_files_are_whole(lake)
        assert not list(lake.rglob("*.tmp"))
        got = distinct(lake)
        # a rerun after a kill re-reads its look-back before the checkpoint, which may
        # reach before the first run's window: those extra rows must be true samples too
        window_start = T0 - timedelta(hours=24)
        inside = {r for r in got if r[2] >= window_start}
        assert inside == expected, (f"trial {i}: {len(expected - inside)} missing, "
                                    f"{len(inside - expected)} unexpected")
        for site in world.site_names:
            extra = {r[1:] for r in got - inside if r[0] == site}
            if extra:
                assert extra <= sample_set(world.truth(site, window_start - timedelta(
                    hours=3), window_start, T0)), f"trial {i}: invented samples"


def test_kill_minus_nine_during_backfill_resumes(big_standin: StandIn, tmp_path: Path) -> None:
    site = big_standin.world.site_names[0]
    start_t, end_t = T0 - timedelta(days=4), T0 - timedelta(days=1)
    args = ["backfill", "--site", site, "--start", start_t.isoformat(), "--end",
            end_t.isoformat(), "--no-progress"]
    lake = tmp_path / "bf"
    env = env_for(big_standin, lake)
    rng = random.Random(7)
    for _ in range(3):
        proc = start(args, env)
        time.sleep(rng.uniform(0.5, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        visible_files_are_whole(lake)
    assert start(args, env).wait(timeout=300) == 0
    assert distinct(lake) == {(site, *r) for r in sample_set(
        big_standin.world.truth(site, start_t, end_t, T0))}
