"""Running ``dbt build`` of the warehouse in this process, and what it did.

dbt's own output (progress lines, compiled SQL, tracebacks) goes to its log file, not to
the terminal: the main job prints one summary, which names the log. Before dbt starts, the
warehouse file is opened once, so a warehouse held by another process is one clear line
instead of a traceback per model.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.errors import first_line
from ..core.paths import DBT_PROJECT, REPO_ROOT


@dataclass
class BuildResult:
    """What ``dbt build`` did: success, and per status the nodes (tests by name)."""

    ok: bool
    error: str | None = None
    log: Path | None = None
    models: int = 0
    tests: dict[str, list[str]] = field(default_factory=dict)  # status -> test names
    failed_models: list[str] = field(default_factory=list)
    #: the messages of the nodes that errored (they name an unreadable file, if any)
    messages: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return len(self.tests.get(status, []))


class WarehouseBusy(Exception):
    """The warehouse file is open read-write in another process (another build)."""


def check_not_busy(warehouse: Path) -> None:
    """Raise :class:`WarehouseBusy` (one line, naming the holder) when another process
    holds the warehouse; DuckDB allows one writer per file."""
    import duckdb

    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException as e:
        text = str(e)
        if "lock" not in text.lower():
            raise
        holder = re.search(r"PID (\d+)", text)
        raise WarehouseBusy(
            f"the warehouse {warehouse} is in use by another process"
            + (f" (PID {holder.group(1)})" if holder else "")
            + ": another build is running; this run's build is skipped and the next run "
            "builds what this one landed") from None


#: the run's time for the models (macro ace_as_of), when no var as_of is given
AS_OF_ENV = "DBT_ACE_AS_OF"


def dbt_build(lake: Path, dbt_vars: dict[str, Any] | None = None, extra: list[str] | None = None,
              as_of: datetime | None = None, log: Path | None = None) -> BuildResult:
    """``dbt build`` of the warehouse over ``lake``: models and data tests. ``dbt_vars`` are
    passed as ``--vars``; ``as_of`` (the main job's ``--until``) is the run's time for open
    gaps and recent-window tests, unless ``dbt_vars`` sets it (passed as ``DBT_ACE_AS_OF``,
    so that dbt parses partially). With ``log`` (a
    ``dbt.log`` path), dbt writes its output there and nothing to the terminal."""
    # dbt reads these through env_var() in the sources and the profile
    os.environ["LAKE_DIR"] = str(lake.resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    from dbt.cli.main import dbtRunner

    # unit tests check the SQL, not the data: CI runs them, the schedule need not
    args = ["build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(REPO_ROOT),
            "--exclude-resource-type", "unit_test", *(extra or [])]
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        args += ["--log-path", str(log.parent.resolve()), "--log-level", "none",
                 "--log-level-file", "info"]
    merged = dict(dbt_vars or {})
    # the run's time through the environment, read by ace_as_of() when executing: in
    # --vars, a value that changes every run would make dbt parse the project from scratch
    os.environ.pop(AS_OF_ENV, None)
    if as_of is not None and "as_of" not in merged:
        os.environ[AS_OF_ENV] = as_of.astimezone(UTC).isoformat()
    if merged:  # e.g. {"site_timezones": {"ses_falls_city": "America/Chicago"}}
        args += ["--vars", json.dumps(merged, default=str)]
    res = dbtRunner().invoke(args)
    out = BuildResult(ok=bool(res.success), log=log,
                      error=first_line(res.exception) if res.exception is not None else None)
    for node_result in getattr(res.result, "results", None) or []:
        node = getattr(node_result, "node", None)
        status = str(getattr(node_result.status, "value", node_result.status))
        kind = str(getattr(getattr(node, "resource_type", None), "value", ""))
        name = getattr(node, "name", "?")
        if status == "error" and getattr(node_result, "message", None):
            out.messages.append(str(node_result.message))
        if kind == "test":
            out.tests.setdefault(status, []).append(name)
        elif kind == "model":
            out.models += 1
            if status not in ("success", "pass"):
                out.failed_models.append(name)
    return out

