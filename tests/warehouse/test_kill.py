"""A `dbt build` killed at a model, then run again, leaves the tables an uninterrupted build has.

The build runs as a child process (`.venv/bin/dbt build`, its own --target-path) and gets
SIGKILL a seeded delay (0-150 ms) after its log shows the chosen model starting: `samples` in
the initial build and in an incremental one, `samples_1h` (after samples_5min has committed),
and two models drawn with the case's seed from the manifest's non-view models. The next runs
complete the history; every contract table then equals both an uninterrupted build of the same
landings into another warehouse file and the truth.
"""

from __future__ import annotations

import json
import random
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from . import scenario
from .common import assert_tables_equal, dbt_vars, expected, read_all
from .harness import build, build_subprocess
from .landing import Lake, us
from .scenario import Landing, utc
from .truth import Config

pytestmark = pytest.mark.slow

# (which build is killed, the model to kill it at or None for one drawn from the manifest, seed)
CASES = [
    ("initial", "samples", 1),
    ("incremental", "samples", 2),
    ("incremental", "samples_1h", 3),
    ("incremental", None, 4),
    ("incremental", None, 5),
]


def batch1() -> list[Landing]:
    return scenario.reference_landings()[:2]


def batch2() -> list[Landing]:
    nov = scenario.nov_samples()
    late = scenario.late_samples()
    recent = [
        s
        for p in scenario.POINTS
        if p.site != "berlin_lab"
        for s in scenario.simple(p.site, p.point, scenario.NOV_END, utc(2025, 11, 4, 6, 30),
                                 p.collect_interval or 60, lambda r, t: f"{r.uniform(1, 9):.2f}",
                                 5)
    ]
    return [
        Landing(late, "backfill", utc(2025, 11, 4, 6, 1, 5)),
        *scenario.overrides(nov),
        Landing(recent, "realtime", utc(2025, 11, 4, 13)),
    ]


CFG1 = Config(site_timezones=scenario.SITE_TIMEZONES, as_of_us=us(scenario.AS_OF))
CFG2 = Config(site_timezones=scenario.SITE_TIMEZONES, as_of_us=us(utc(2025, 11, 4, 13, 0, 30)))


def new_lake(path: Path) -> Lake:
    lake = Lake(path)
    scenario.write_meta(lake)
    return lake


@pytest.fixture(scope="module")
def uninterrupted(
    tmp_path_factory: pytest.TempPathFactory, dbt_target: Path
) -> tuple[dict[str, Any], list[str]]:
    root = tmp_path_factory.mktemp("uninterrupted")
    lake = new_lake(root / "lake")
    warehouse = root / "warehouse.duckdb"
    scenario.land_all(lake, batch1())
    build(warehouse, lake.root, dbt_vars(CFG1), dbt_target)
    scenario.land_all(lake, batch2())
    build(warehouse, lake.root, dbt_vars(CFG2), dbt_target)
    tables = read_all(warehouse)
    assert_tables_equal(expected(lake, CFG2), tables, "uninterrupted build vs truth")
    manifest = json.loads((dbt_target / "manifest.json").read_text())
    project = manifest["metadata"].get("project_name", "ace_warehouse")
    models = sorted(  # the models that hold state; views are re-created by every run anyway
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == project
        and node["config"]["materialized"] != "view"
    )
    return tables, models


def kill_at(warehouse: Path, lake: Path, cfg: Config, target: Path, model: str,
            delay: float) -> tuple[bool, str]:
    """Run dbt build in a child; SIGKILL it `delay` s after `model` starts. (killed, output)."""
    proc = build_subprocess(warehouse, lake, dbt_vars(cfg), target)
    assert proc.stdout is not None
    started = re.compile(rf"\bSTART\b.*\bmodel\s+\S*\.{re.escape(model)}\b")
    output: list[str] = []
    with proc:
        for line in proc.stdout:
            output.append(line)
            if started.search(line):
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        output.append(proc.stdout.read())
        code = proc.wait(timeout=120)
    return code == -signal.SIGKILL, "".join(output)


@pytest.mark.parametrize(("when", "chosen", "seed"), CASES)
def test_killed_build_then_rerun_equals_uninterrupted(
    when: str, chosen: str | None, seed: int, tmp_path: Path, dbt_target: Path,
    uninterrupted: tuple[dict[str, Any], list[str]],
) -> None:
    reference, models = uninterrupted
    rng = random.Random(seed)
    model = rng.choice(models) if chosen is None else chosen
    assert model in models
    delay = rng.uniform(0.0, 0.15)
    label = f"killed in the {when} build at model {model!r} + {delay:.3f}s (seed {seed})"
    lake = new_lake(tmp_path / "lake")
    warehouse = tmp_path / "warehouse.duckdb"
    scenario.land_all(lake, batch1())
    if when == "initial":
        killed, output = kill_at(warehouse, lake.root, CFG1, tmp_path / "target", model, delay)
        assert killed, f"{label}: the build was not killed:\n{output[-3000:]}"
        build(warehouse, lake.root, dbt_vars(CFG1), dbt_target)
        scenario.land_all(lake, batch2())
        build(warehouse, lake.root, dbt_vars(CFG2), dbt_target)
    else:
        build(warehouse, lake.root, dbt_vars(CFG1), dbt_target)
        scenario.land_all(lake, batch2())
        killed, output = kill_at(warehouse, lake.root, CFG2, tmp_path / "target", model, delay)
        assert killed, f"{label}: the build was not killed:\n{output[-3000:]}"
        build(warehouse, lake.root, dbt_vars(CFG2), dbt_target)
    tables = read_all(warehouse)
    assert_tables_equal(expected(lake, CFG2), tables, f"{label}, rerun vs truth")
    assert_tables_equal(reference, tables, f"{label}, rerun vs uninterrupted")
