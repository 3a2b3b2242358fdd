"""The dbt structure rules of ``make lint`` (tests/lint_dbt.py): each one sees its breach.

The project's own manifest (``dbt parse``, no warehouse needed) has no finding; copies of
it with one rule broken on purpose have exactly that finding.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests import lint_dbt
from tests.warehouse.harness import REPO, release_duckdb


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner

    root = tmp_path_factory.mktemp("lint_dbt")
    target = root / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_PATH", str(root / "warehouse.duckdb"))
        mp.setenv("LAKE_DIR", str(root / "lake"))
        mp.chdir(REPO)
        try:
            res = dbtRunner().invoke(["parse", "--project-dir", "dbt_project", "--profiles-dir",
                                      ".", "--target-path", str(target), "--log-path",
                                      str(root / "logs"), "--quiet"])
        finally:
            release_duckdb()
    assert res.success, res.exception
    doc: dict[str, Any] = json.loads((target / "manifest.json").read_text())
    return doc


def _model(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    node: dict[str, Any] = manifest["nodes"][f"model.ace_warehouse.{name}"]
    return node


def test_the_project_has_no_finding(manifest: dict[str, Any]) -> None:
    assert list(lint_dbt.check(manifest)) == []


def test_a_model_without_a_grain_test_is_found(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    for uid in [k for k, v in broken["nodes"].items() if v["resource_type"] == "test"
                and v.get("attached_node") == "model.ace_warehouse.points"]:
        del broken["nodes"][uid]
    found = list(lint_dbt.check(broken))
    assert [f for f in found if f.startswith("grain: points:")], found


def test_a_mart_reading_a_source_is_found(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    parents = _model(broken, "gap_repairs")["depends_on"]["nodes"]
    parents.append("source.ace_warehouse.ace.quarantine")
    found = list(lint_dbt.check(broken))
    assert found == ["layers: gap_repairs: a mart selects from ace.quarantine; read it through "
                     "a staging model"]


def test_a_source_without_freshness_or_reason_is_found(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    table = broken["sources"]["source.ace_warehouse.ace.meta_points"]
    del table["meta"][lint_dbt.NO_FRESHNESS]
    raw = broken["sources"]["source.ace_warehouse.ace.raw_samples"]
    raw["freshness"] = {"warn_after": {"count": None, "period": None},
                        "error_after": {"count": None, "period": None}}
    found = sorted(lint_dbt.check(broken))
    assert [f.split(":")[1].strip() for f in found] == ["source ace.meta_points",
                                                        "source ace.raw_samples"], found


def test_undescribed_models_and_columns_are_found(manifest: dict[str, Any]) -> None:
    broken = copy.deepcopy(manifest)
    _model(broken, "samples_1d")["description"] = " "
    _model(broken, "samples")["columns"]["ts"]["description"] = ""
    broken["sources"]["source.ace_warehouse.ace.raw_samples"]["columns"]["site"][
        "description"] = ""
    found = sorted(lint_dbt.check(broken))
    assert found == ["described: samples.ts: the column has no description",
                     "described: samples_1d: the model has no description",
                     "described: source ace.raw_samples.site: the column has no description"]


def test_the_command_exits_non_zero_on_a_finding(manifest: dict[str, Any],
                                                 tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    broken = copy.deepcopy(manifest)
    _model(broken, "sites")["columns"] = {}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(broken))
    assert lint_dbt.main([str(path)]) == 1
    assert "described: sites: the model declares no columns" in capsys.readouterr().out
    path.write_text(json.dumps(manifest))
    assert lint_dbt.main([str(path)]) == 0
    assert lint_dbt.main([str(tmp_path / "missing.json")]) == 2
