"""The run's time reaches the models through the environment, not ``--vars``: dbt parses a
project again from scratch whenever ``--vars`` change, and a new ``as_of`` every 5 minutes
would cost a full parse every run (extract/warehouse/dbt.py, macro ace_as_of)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from extract.core.paths import DBT_PROJECT, REPO_ROOT
from extract.warehouse import dbt as dbt_module

T = datetime(2026, 12, 3, 10, 5, tzinfo=UTC)


def _invoked(monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[list[str], str | None]:
    seen: list[tuple[list[str], str | None]] = []

    class Runner:
        def invoke(self, args: list[str]) -> SimpleNamespace:
            seen.append((args, os.environ.get(dbt_module.AS_OF_ENV)))
            return SimpleNamespace(success=True, exception=None, result=None)

    import dbt.cli.main

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.setenv(dbt_module.AS_OF_ENV, "left over from an earlier build")
    dbt_module.dbt_build(Path("lake"), **kw)
    return seen[0]


def test_as_of_goes_through_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    args, env = _invoked(monkeypatch, dbt_vars={"site_timezones": {"s": "UTC"}}, as_of=T)
    assert env == T.isoformat()
    assert "as_of" not in args[args.index("--vars") + 1]
    args, env = _invoked(monkeypatch, as_of=T)
    assert env == T.isoformat() and "--vars" not in args
    # a var as_of wins, and no earlier value is left behind
    args, env = _invoked(monkeypatch, dbt_vars={"as_of": "2026-01-01T00:00:00Z"}, as_of=T)
    assert env is None and "2026-01-01T00:00:00Z" in args[args.index("--vars") + 1]
    assert _invoked(monkeypatch)[1] is None


def _compile(tmp: Path, as_of: str, *extra: str) -> str:
    env = {**os.environ, dbt_module.AS_OF_ENV: as_of, "LAKE_DIR": str(tmp / "lake"),
           "WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    out = subprocess.run(
        [str(dbt), "compile", "--project-dir", str(DBT_PROJECT), "--profiles-dir",
         str(REPO_ROOT), "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"),
         "--inline", "select {{ ace_as_of() }} as t", *extra],
        env=env, capture_output=True, text=True, timeout=300, check=True)
    return out.stdout


@pytest.mark.slow
def test_models_see_the_environments_as_of_and_dbt_parses_partially(tmp_path: Path) -> None:
    first = _compile(tmp_path, "2026-12-03T10:00:00Z")
    assert "cast('2026-12-03T10:00:00Z' as timestamp with time zone)" in first
    second = _compile(tmp_path, "2026-12-03T10:05:00Z")
    assert "cast('2026-12-03T10:05:00Z' as timestamp with time zone)" in second
    log = (tmp_path / "logs" / "dbt.log").read_text()
    # the first compile parsed from scratch (no saved manifest); the second did not
    assert log.count("Unable to do partial parsing") == 1, log
    assert "saved manifest not found" in log
    # a var as_of still wins
    third = _compile(tmp_path, "2026-12-03T10:10:00Z", "--vars",
                     '{"as_of": "2026-01-01T00:00:00Z"}')
    assert "cast('2026-01-01T00:00:00Z' as timestamp with time zone)" in third
