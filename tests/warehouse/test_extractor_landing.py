"""The warehouse over the extractor's own landing: syncs against the local stand-in (tests/
conftest.py's fixtures), an incremental `dbt build` after each, every contract table equal to
the truth of the lake as pyarrow reads it (raw rows and points snapshots).

This holds the warehouse to what the extractor really writes (types, partitions, metadata
snapshots, look-back re-reads, a late upload), where the other tests use tests/warehouse's own
writer of docs/landing.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from extract.core.config import Settings
from extract.landing.sync import sync
from extract.source.client import FlightDeckClient
from extract.standin import Clock, StandIn, World

from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import build
from .landing import read_lake, us
from .truth import Config

pytestmark = pytest.mark.slow


def test_incremental_builds_over_extractor_syncs(
    settings: Settings, world: World, clock: Clock, standin: StandIn, tmp_path: Path,
    dbt_target: Path,
) -> None:
    sites = world.site_names
    zones = {sites[0]: "America/New_York"}  # the other site keeps default_timezone (UTC)
    t = clock.now()
    world.add_late_upload(sites[0], t - timedelta(minutes=30), t, delay=timedelta(minutes=40))
    warehouse = tmp_path / "warehouse.duckdb"
    for step in range(3):
        if step:
            t += timedelta(minutes=25)
            clock.set(t)
        with FlightDeckClient.from_settings(settings) as client:
            summary = sync(settings, client, until=t)
        assert summary.ok, summary.as_dict()
        cfg = Config(site_timezones=zones, as_of_us=us(t))
        lake = read_lake(settings.lake)
        assert lake.rows and lake.point_snapshots
        build(warehouse, settings.lake, dbt_vars(cfg), dbt_target)
        assert_tables_equal(expected(lake, cfg), read_all(warehouse), f"after sync {step}")
