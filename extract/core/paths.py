"""Where the package finds the dbt project and the dbt profile: beside it, in the repository."""

from __future__ import annotations

from pathlib import Path

#: the repository root (holds ``dbt_project/`` and ``profiles.yml``)
REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DBT_PROJECT = REPO_ROOT / "dbt_project"
