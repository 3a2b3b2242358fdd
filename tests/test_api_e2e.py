"""The real command line against the stand-in on loopback, when the API misbehaves: a token
echoed back, a Retry-After no one could honour, samples from another decade."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from extract.standin import Fault, StandIn, World

from .conftest import T0, TOKEN, cli, landed_rows, sample_set

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent



@pytest.fixture
def env(tmp_path: Path, standin: StandIn) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e.update(ACE_API_URL=standin.url, ACE_API_KEY=TOKEN, LAKE_DIR=str(tmp_path / "lake"),
             WAREHOUSE_PATH=str(tmp_path / "warehouse.duckdb"),
             PUBLISHED_DIR=str(tmp_path / "published"),
             EXTRACT_SETTLE="0s", EXTRACT_INITIAL_HISTORY="3h", EXTRACT_PAGE_SIZE="1000",
             EXTRACT_MAX_RPS="1000", EXTRACT_BACKOFF_BASE="0.01", EXTRACT_BACKOFF_MAX="0.05",
             EXTRACT_MAX_RETRIES="1")
    return e


def files_under(path: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_a_token_the_api_echoes_never_leaves_the_process(env: dict[str, str], world: World,
                                                         standin: StandIn) -> None:
    lake = Path(env["LAKE_DIR"])
    outputs: list[str] = []
    for code in (401, 403, 422, 500, 429):
        # every time-series request of the run answers `code`, echoing the token
        standin.faults.clear()
        standin.faults.add(Fault("echo_token", code=code, count=1000))
        r = cli(["sync", "--until", T0.isoformat(), "--log-level", "debug"], env)
        outputs += [r.stdout, r.stderr]
        assert r.returncode == 1, (code, r.stdout, r.stderr)
        assert f"HTTP {code}" in r.stdout and "Traceback" not in r.stderr
        if code != 429:
            # the detail is kept, with the token blanked out
            assert "token *** refused (authorization: Bearer ***)" in r.stdout, r.stdout
    # the site list itself echoing it: the job fails before any site
    standin.faults.clear()
    standin.faults.add(Fault("echo_token", code=401, path="/api/sites", count=1000))
    r = cli(["run", "--until", T0.isoformat(), "--skip-dbt", "--no-report"], env)
    outputs += [r.stdout, r.stderr]
    assert r.returncode == 1 and "listing sites failed" in r.stdout + r.stderr
    standin.faults.clear()
    for args in (["status"], ["status", "--json"]):
        r = cli(args, env)
        outputs += [r.stdout, r.stderr]
        assert "HTTP" in r.stdout, r.stdout  # the last run's failure is shown...
    assert json.loads(r.stdout)
    for text in outputs:
        assert TOKEN not in text  # ...without the token
    state = files_under(lake / "state")
    assert any(p.parent.name == "runs" for p in state) and any(
        p.parent.name == "jobs" for p in state)
    for path, data in files_under(lake).items():
        assert TOKEN.encode() not in data, path


@pytest.mark.parametrize("retry_after", ["inf", "100000000000", "-5", "nan"])
def test_an_unusable_retry_after_waits_backoff_max_and_the_sync_completes(
        env: dict[str, str], world: World, standin: StandIn, retry_after: str) -> None:
    standin.faults.add(Fault("rate_limit", retry_after=retry_after, count=1))
    r = cli(["sync", "--until", T0.isoformat()], env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "Overflow" not in r.stderr
    assert f"Retry-After '{retry_after}' is not a usable wait; waiting 0.05s" in r.stderr
    assert any(x.fault == "rate_limit" for x in standin.requests)
    lake = Path(env["LAKE_DIR"])
    for site in world.site_names:
        assert sample_set(landed_rows(lake, site)) == sample_set(
            world.truth(site, T0 - timedelta(hours=3), T0, T0))


def test_samples_outside_the_window_are_quarantined_not_landed(
        env: dict[str, str], world: World, standin: StandIn) -> None:
    times = ["1970-01-01T00:00:00.000000", "2099-01-01T00:00:00.000000Z"]
    standin.faults.add(Fault("stray_samples", times=times, count=1))
    r = cli(["sync", "--until", T0.isoformat()], env)
    assert r.returncode == 0, r.stderr
    lake = Path(env["LAKE_DIR"])
    raw = landed_rows(lake)
    assert pc.min(raw["ts"]).as_py() >= T0 - timedelta(hours=3)
    assert pc.max(raw["ts"]).as_py() < T0
    assert sorted(stray_rows(lake)["time_raw"].to_pylist()) == times
    assert set(stray_rows(lake)["value_raw"].to_pylist()) == {"1.0"}
    for site in world.site_names:
        assert sample_set(landed_rows(lake, site)) == sample_set(
            world.truth(site, T0 - timedelta(hours=3), T0, T0))
    # the look-back re-reads the window: the stray rows are not quarantined twice
    standin.faults.add(Fault("stray_samples", times=times, count=1))
    r = cli(["sync", "--until", (T0 + timedelta(minutes=5)).isoformat()], env)
    assert r.returncode == 0, r.stderr
    assert stray_rows(lake).num_rows == 2


def stray_rows(lake: Path) -> pa.Table:
    files = sorted(lake.glob("quarantine/site=*/date=*/*.parquet"))
    bad = pa.concat_tables([pq.read_table(f, partitioning=None) for f in files])
    return bad.filter(pc.equal(bad["reason"], "time outside the requested window"))


def test_a_looping_cursor_fails_its_site_and_the_others_go_on(
        env: dict[str, str], world: World, standin: StandIn) -> None:
    first, second = world.site_names[:2]
    standin.faults.add(Fault("loop_cursor", path=f"/sites/{first}/", count=1))
    r = cli(["sync", "--until", T0.isoformat()], env)
    assert r.returncode == 1
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith(first))
    assert "FAILED: ContractError" in line and "paging would loop" in line, r.stdout
    assert "Traceback" not in r.stderr
    lake = Path(env["LAKE_DIR"])
    assert not (lake / "state" / "checkpoints" / f"{first}.json").exists()
    assert landed_rows(lake, first).num_rows == 0
    assert sample_set(landed_rows(lake, second)) == sample_set(
        world.truth(second, T0 - timedelta(hours=3), T0, T0))


def test_a_run_that_ends_at_once_exits_cleanly(env: dict[str, str], standin: StandIn) -> None:
    """A refused key ends `run` before the parser's warm-up thread is done: the process
    must still exit with its own status, not be aborted by the C++ runtime (134)."""
    bad = {**env, "ACE_API_KEY": TOKEN + "-wrong"}
    codes = []
    for _ in range(4):
        r = cli(["run", "--until", T0.isoformat(), "--skip-dbt", "--no-report"], bad)
        codes.append(r.returncode)
        assert "terminate called" not in r.stderr
    assert codes == [1, 1, 1, 1]
