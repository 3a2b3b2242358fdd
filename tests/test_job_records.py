"""Every main job leaves a record: dbt's output in its log file, a busy warehouse as one
line, a failure outside any step as a job summary that ``status`` reports as critical.

The main job runs as a subprocess against the stand-in on loopback, as in test_status.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.core.config import Settings
from extract.ops import mainjob
from extract.standin import Clock, StandIn, World

from .conftest import T0, TOKEN
from .test_status import cli, make_env, status_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def job_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    world = World(seed=3, sites=2, points_per_site=4, bad_samples=False)
    server = StandIn(world, token=TOKEN, clock=Clock(now=T0)).start(port=0)
    try:
        root = tmp_path_factory.mktemp("job_records")
        yield root, make_env(root, server.url, as_of=T0)
    finally:
        server.stop()


def _jobs(root: Path) -> list[dict[str, Any]]:
    docs = [json.loads(p.read_text()) for p in sorted((root / "lake/state/jobs").glob("*.json"))]
    return docs


def test_dbt_output_goes_to_its_log_and_the_summary_names_it(
        job_env: tuple[Path, dict[str, str]]) -> None:
    root, env = job_env
    r = cli(["run", "--until", T0.isoformat()], env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    # dbt's own lines are not on the terminal ...
    assert "Running with dbt" not in out and "Finished running" not in out, out[-3000:]
    # ... but in the log the summary names
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("dbt log"))
    log = Path(line.split(None, 2)[2])
    assert log == root / "dbt_logs" / "dbt.log"
    text = log.read_text()
    assert "Running with dbt" in text and "Completed successfully" in text
    assert _jobs(root)[-1]["dbt_log"] == str(log)


def test_a_build_during_another_build_is_one_line_and_recorded(
        job_env: tuple[Path, dict[str, str]]) -> None:
    root, env = job_env
    holder = duckdb.connect(str(root / "warehouse.duckdb"))  # as a running build holds it
    try:
        r = cli(["run", "--until", (T0 + timedelta(minutes=5)).isoformat()], env)
    finally:
        holder.close()
    out = r.stdout + r.stderr
    assert r.returncode == 1, out[-3000:]
    assert "Traceback" not in out and "Running with dbt" not in out, out[-3000:]
    problems = [x for x in r.stdout.splitlines() if "NEEDS A PERSON" in x]
    assert len(problems) == 1 and "in use by another process" in problems[0], r.stdout
    assert len(out.splitlines()) < 40, out
    job = _jobs(root)[-1]
    assert not job["ok"] and "in use by another process" in job["problems"][0]
    rc, doc = status_json(env, T0 + timedelta(minutes=6))
    assert rc == 2
    assert any(p["level"] == "critical" and "needs attention: dbt build: the wareho"
               in p["message"] for p in doc["problems"]), doc["problems"]


def test_a_failure_outside_any_step_writes_the_job_summary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def broken(settings: Settings) -> None:
        raise RuntimeError("the client could not be made\nsecond line")

    monkeypatch.setattr(mainjob.FlightDeckClient, "from_settings", broken)
    settings = Settings(lake=tmp_path / "lake", warehouse=tmp_path / "warehouse.duckdb")
    assert mainjob.main_job(settings) == 1
    out = capsys.readouterr().out
    assert "NEEDS A PERSON: main job: RuntimeError: the client could not be made" in out
    assert "second line" not in out
    (job,) = _jobs(tmp_path)
    assert not job["ok"] and job["run_id"] != "-"
    assert job["problems"] == ["main job: RuntimeError: the client could not be made"]
