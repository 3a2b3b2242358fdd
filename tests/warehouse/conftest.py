"""Fixtures shared by the warehouse tests (tests/warehouse/)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One --target-path for every in-process dbt invocation of the session.

    Invocations run one after another, so sharing it is safe and lets dbt parse partially.
    """
    return tmp_path_factory.mktemp("dbt_target")
