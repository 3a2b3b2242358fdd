"""Shared fixtures: the stand-in on a free loopback port, with a clock the test controls."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.core.config import Secret, Settings
from extract.standin import Clock, StandIn, World

os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

TOKEN = "tok-7c1d2e9f-never-log-me"
REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 10, 12, 12, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    return World(seed=11, sites=2, points_per_site=12)


@pytest.fixture
def clock() -> Clock:
    return Clock(now=T0)


@pytest.fixture
def standin(world: World, clock: Clock) -> Iterator[StandIn]:
    server = StandIn(world, token=TOKEN, clock=clock).start(port=0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def settings(tmp_path: Path, standin: StandIn) -> Settings:
    return Settings(
        api_url=standin.url, api_key=Secret(TOKEN), lake=tmp_path / "lake",
        lookback=timedelta(hours=2), initial_history=timedelta(hours=6),
        settle=timedelta(0), chunk=timedelta(hours=6), page_size=1000, max_rps=1000.0,
        timeout=10.0, max_retries=4, backoff_base=0.01, backoff_max=0.05,
    )


def landed_rows(lake: Path, site: str | None = None, source: str | None = None) -> pa.Table:
    """Every landed raw row, read straight from the Parquet files (not via extract.lake)."""
    pattern = f"raw/site={site or '*'}/date=*/*.parquet"
    files = sorted(lake.glob(pattern))
    if not files:
        return pa.table({"site": pa.array([], pa.string()), "point": pa.array([], pa.string()),
                         "ts": pa.array([], pa.timestamp("us", tz="UTC")),
                         "value_raw": pa.array([], pa.string()),
                         "source": pa.array([], pa.string())})
    t = pa.concat_tables([pq.read_table(f, partitioning=None) for f in files])
    if source is not None:
        t = t.filter(pa.compute.equal(t["source"], source))
    return t


def sample_set(t: pa.Table, cols: tuple[str, ...] = ("point", "ts", "value_raw")) -> set[tuple]:
    return set(zip(*(t[c].to_pylist() for c in cols), strict=True))


def cli(args: list[str], env: dict[str, str], timeout: float = 300
        ) -> subprocess.CompletedProcess[str]:
    """``python -m extract ARGS`` as a subprocess in the repository, output captured."""
    return subprocess.run([sys.executable, "-m", "extract", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
