"""The main job: sync, gap repair, ``dbt build``, cold-tier move, publish, report.

Without ``ACE_API_KEY`` it starts the local stand-in on a free loopback port and syncs
from it, saying so, so the whole pipeline runs on a fresh machine with no secrets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from .client import FlightDeckClient
from .config import Secret, Settings
from .errors import ConfigError
from .lake import Lake
from .publish import current_snapshot, publish
from .sync import sync
from .warehouse import connect, has_table

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT = REPO_ROOT / "dbt_project"


@contextlib.contextmanager
def api_or_standin(settings: Settings) -> Iterator[bool]:
    """Yield True when the local stand-in serves the run (no API key configured)."""
    if settings.api_key:
        settings.require_api()
        yield False
        return
    from .standin import StandIn, World

    token = secrets.token_urlsafe(16)
    server = StandIn(World(seed=7, sites=3, points_per_site=40), token=token).start(port=0)
    settings.api_url, settings.api_key = server.url, Secret(token)
    print(f"ACE_API_KEY is not set: using the local FlightDeck stand-in at {server.url}")
    try:
        yield True
    finally:
        server.stop()


@dataclass
class BuildResult:
    """What ``dbt build`` did: success, and per status the nodes (tests by name)."""

    ok: bool
    error: str | None = None
    models: int = 0
    tests: dict[str, list[str]] = field(default_factory=dict)  # status -> test names
    failed_models: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return len(self.tests.get(status, []))


def dbt_build(lake: Path, extra: list[str] | None = None,
              as_of: datetime | None = None) -> BuildResult:
    """``dbt build`` of the warehouse over ``lake``: models and data tests. ``as_of`` (the
    main job's ``--until``) is the run's time for open gaps and recent-window tests, unless
    DBT_VARS sets it."""
    os.environ["LAKE_DIR"] = str(lake.resolve())
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    from dbt.cli.main import dbtRunner

    # unit tests check the SQL, not the data: CI runs them, the schedule need not
    args = ["build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(REPO_ROOT),
            "--exclude-resource-type", "unit_test", *(extra or [])]
    dbt_vars = os.environ.get("DBT_VARS", "").strip()
    if as_of is not None:
        import yaml  # type: ignore[import-untyped,unused-ignore]

        merged = yaml.safe_load(dbt_vars) if dbt_vars else {}
        if not isinstance(merged, dict):
            raise ConfigError(f"DBT_VARS must be a mapping, got {dbt_vars!r}")
        merged.setdefault("as_of", as_of.astimezone(UTC).isoformat())
        dbt_vars = json.dumps(merged)
    if dbt_vars:  # e.g. '{"site_timezones": {"ses_falls_city": "America/Chicago"}}'
        args += ["--vars", dbt_vars]
    res = dbtRunner().invoke(args)
    out = BuildResult(ok=bool(res.success),
                      error=str(res.exception) if res.exception is not None else None)
    for node_result in getattr(res.result, "results", None) or []:
        node = getattr(node_result, "node", None)
        status = str(getattr(node_result.status, "value", node_result.status))
        kind = str(getattr(getattr(node, "resource_type", None), "value", ""))
        name = getattr(node, "name", "?")
        if kind == "test":
            out.tests.setdefault(status, []).append(name)
        elif kind == "model":
            out.models += 1
            if status not in ("success", "pass"):
                out.failed_models.append(name)
    return out


def warehouse_path() -> Path:
    return Path(os.environ.get("WAREHOUSE_PATH") or "warehouse.duckdb").resolve()


def report_path() -> Path:
    """Where the main job writes the data-quality report (env REPORT_PATH)."""
    return Path(os.environ.get("REPORT_PATH") or "report/index.html").resolve()


def gap_snapshot(warehouse: Path) -> pa.Table | None:
    """point_gaps' keys and is_open, as Arrow (columnar: the table grows with history, and
    the main job reads it twice a run); None before the first build, or when the file
    cannot be read (the summary's gap counts are then left out)."""
    if not warehouse.exists():
        return None
    try:
        con = connect(warehouse)
    except Exception as e:  # noqa: BLE001 - e.g. held by another process
        log.warning("cannot read point_gaps from %s: %s", warehouse, e)
        return None
    try:
        if not has_table(con, "point_gaps"):
            return None
        return con.execute(
            "select site, point, gap_start, is_open from point_gaps").fetch_arrow_table()
    finally:
        con.close()


GAP_CHANGES_SQL = """
with
closed_before as (select site, point, gap_start from before where not is_open),
closed_after as (select site, point, gap_start from after where not is_open),
silent_before as (select distinct site, point from before where is_open),
silent_after as (select distinct site, point from after where is_open)
select
    (select count(*) from (select * from closed_after except select * from closed_before))
    + (select count(*) from (select * from silent_after except select * from silent_before))
        as new,
    (select count(*) from (select * from silent_before except select * from silent_after))
        as closed,
    (select count(*) from (select * from closed_before except select * from closed_after))
        as filled,
    (select count(*) from silent_after) as silent
"""


def gap_changes(before: pa.Table | None, after: pa.Table) -> tuple[int, int, int, int]:
    """(new, closed, filled, silent) between two gap snapshots. An open gap is counted per
    point (its gap_start, the point's last sample, moves while the point lags): new = closed
    gaps that appeared + points that fell silent; closed = points that reported again;
    filled = closed gaps that disappeared or changed (late data fell into them); silent =
    points with an open gap after."""
    from .parsing import query

    before = after.slice(0, 0) if before is None else before
    row = query(GAP_CHANGES_SQL, before=before, after=after).to_pylist()[0]
    return int(row["new"]), int(row["closed"]), int(row["filled"]), int(row["silent"])


def late_samples(warehouse: Path, run_ids: list[str],
                 checkpoints: dict[str, datetime]) -> int:
    """Samples of the given runs that won in ``samples`` although older than their site's
    checkpoint before the run: late uploads picked up by the look-back or by gap repair."""
    if not run_ids or not checkpoints or not warehouse.exists():
        return 0
    con = connect(warehouse)
    try:
        con.execute("create temp table cps (site varchar, cp timestamptz)")
        con.executemany("insert into cps values (?, ?)", list(checkpoints.items()))
        row = con.execute(
            "select count(*) from samples s join cps on s.site = cps.site "
            "where s.run_id in (select unnest(?)) and s.ts < cps.cp", [run_ids]).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


@dataclass
class JobSummary:
    """The main job's one-screen summary; also written to state/jobs/<run_id>.json."""

    run_id: str
    started_at: datetime
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sites_ok: int = 0
    sites_failed: list[str] = field(default_factory=list)
    landed: int = 0
    quarantined: int = 0
    late_merged: int = 0
    repair: dict[str, Any] = field(default_factory=dict)
    gaps_new: int = 0
    gaps_closed: int = 0
    gaps_filled: int = 0
    gaps_open: int = 0
    tests: dict[str, int] = field(default_factory=dict)
    tests_not_passing: list[str] = field(default_factory=list)
    cold: dict[str, Any] = field(default_factory=dict)
    published: str | None = None
    report: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["started_at"] = self.started_at.isoformat()
        plain: dict[str, Any] = json.loads(json.dumps(doc, default=str))
        return plain

    def render(self) -> str:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items())
        lines = [
            f"main job {self.run_id}: {'ok' if self.ok else 'NEEDS ATTENTION'} "
            f"in {self.seconds:.1f}s ({steps})",
            f"  sites synced     {self.sites_ok} ok"
            + (f", {len(self.sites_failed)} FAILED: {', '.join(self.sites_failed)}"
               if self.sites_failed else ""),
            f"  samples landed   {self.landed:,} ({self.quarantined:,} quarantined); "
            f"late samples merged {self.late_merged:,}",
        ]
        if self.repair:
            r = self.repair
            lines.append(f"  gap repair       asked {r.get('asked', 0)} gaps in "
                         f"{r.get('windows', 0)} windows, landed {r.get('landed', 0):,}; "
                         f"tracking {r.get('tracked', 0)}, {r.get('finalized', 0)} marked final"
                         + (f" ({r['skipped']})" if r.get("skipped") else ""))
        lines.append(f"  gaps             {self.gaps_new} new, {self.gaps_closed} closed, "
                     f"{self.gaps_filled} filled; {self.gaps_open} "
                     f"{'point' if self.gaps_open == 1 else 'points'} silent now")
        if self.tests:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(self.tests.items()))
            lines.append(f"  dbt tests        {counts}")
            for name in self.tests_not_passing[:8]:
                lines.append(f"    - {name}")
            if len(self.tests_not_passing) > 8:
                lines.append(f"    ... and {len(self.tests_not_passing) - 8} more")
        if self.cold:
            lines.append(f"  cold tier        moved {self.cold.get('moved_rows', 0):,} rows "
                         f"into {self.cold.get('partitions', 0)} partitions "
                         f"(boundary {self.cold.get('cold_until')})")
        if self.published:
            lines.append(f"  published        {self.published}")
        if self.report:
            lines.append(f"  report           {self.report}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for p in self.problems:
            lines.append(f"  NEEDS A PERSON: {p}")
        return "\n".join(lines)


def main_job(settings: Settings, *, until: datetime | None = None, skip_dbt: bool = False,
             demo: bool = False, repair_gaps: bool = True, report: bool = True) -> int:
    """Sync, gap repair, ``dbt build``, tier move, publish, report; print the summary.

    Returns 0 when nothing needs a person, else 1 (docs/operations.md lists the causes).
    """
    from .cli import print_summary

    t0 = time.monotonic()
    job = JobSummary(run_id="-", started_at=datetime.now(UTC))
    wh = warehouse_path()

    def step(name: str, since: float) -> float:
        now = time.monotonic()
        job.steps[name] = now - since
        return now

    t = t0
    with api_or_standin(settings), FlightDeckClient.from_settings(settings) as client:
        summary = sync(settings, client, until=until or datetime.now(UTC))
        job.run_id = summary.run_id
        print_summary(summary)
        t = step("sync", t)
        run_ids = [summary.run_id]
        if repair_gaps and not skip_dbt:
            from .repair import repair

            try:
                rep = repair(settings, client, wh, now=until)
            except Exception as e:  # noqa: BLE001 - repair is best effort; the build goes on
                log.exception("gap repair failed")
                job.warnings.append(f"gap repair: {type(e).__name__}: {e} (retried next run)")
            else:
                job.repair = rep.as_dict()
                run_ids.append(rep.run_id)
                for site in rep.failed_sites:
                    job.warnings.append(f"gap repair failed for {site} (retried next run)")
            t = step("repair", t)
    totals = summary.totals
    job.landed, job.quarantined = totals.landed, totals.quarantined
    job.landed += int(job.repair.get("landed", 0))
    job.sites_ok = sum(1 for s in summary.sites if s.ok)
    job.sites_failed = [s.site for s in summary.sites if not s.ok]
    if summary.error:
        job.fail(f"sync: {summary.error}")
    for s in summary.sites:
        if not s.ok:
            job.fail(f"site {s.site}: {s.error}")
    if totals.quarantined:
        job.warnings.append(f"{totals.quarantined} samples quarantined "
                            "(see the quarantined_samples view)")

    if not skip_dbt:
        before = gap_snapshot(wh)
        build = dbt_build(settings.lake, as_of=until)
        t = step("dbt build", t)
        job.tests = {k: len(v) for k, v in build.tests.items()}
        job.tests_not_passing = [f"{status}: {name}" for status in ("error", "fail", "warn")
                                 for name in build.tests.get(status, [])]
        if not build.ok:
            job.fail("dbt build: " + (build.error or (
                f"{len(build.failed_models)} models failed ({', '.join(build.failed_models)}), "
                f"{build.count('fail') + build.count('error')} tests failed")))
        checkpoints = {s.site: datetime.fromisoformat(s.checkpoint_before)
                       for s in summary.sites if s.checkpoint_before}
        with contextlib.suppress(Exception):  # a failed build may leave no samples table
            job.late_merged = late_samples(wh, run_ids, checkpoints)
        after = gap_snapshot(wh)
        if after is not None:
            (job.gaps_new, job.gaps_closed, job.gaps_filled,
             job.gaps_open) = gap_changes(before, after)
        if build.ok:
            # raw samples older than hot_days go to cold Parquet (docs/warehouse.md, "Hot
            # and cold tiers"); a failed move leaves the previous, consistent state
            from .tiers import describe, move_to_cold

            try:
                job.cold = describe(move_to_cold(wh, settings.lake, now=until))
            except Exception as e:
                log.exception("moving samples to the cold tier failed")
                job.fail(f"cold-tier move: {type(e).__name__}: {e}")
            t = step("cold tier", t)
            try:
                job.published = str(publish(wh, summary.run_id).path)
            except Exception as e:
                log.exception("publishing the snapshot failed")
                job.fail(f"publish: {type(e).__name__}: {e} (analysts keep the previous one)")
            t = step("publish", t)
        if report and job.published:
            # from the snapshot just published (this process's dbt connection holds the
            # build file, and the snapshot is exactly what analysts see)
            job.report = _write_report(Path(job.published), job, until)
            t = step("report", t)
    job.seconds = time.monotonic() - t0
    Lake(settings.lake).write_job(job.run_id, job.as_dict())
    print(job.render())
    if demo and job.ok:
        _show(settings.lake, job)
    return 0 if job.ok else 1


def _write_report(wh: Path, job: JobSummary, as_of: datetime | None) -> str | None:
    """The data-quality report (extract/report.py); a failure is a warning, not a stop."""
    try:
        from .report import write_report
    except ImportError:
        return None
    target = Path(os.environ.get("DBT_TARGET_PATH") or DBT_PROJECT / "target")
    run_results = (target if target.is_absolute() else DBT_PROJECT / target) / "run_results.json"
    try:
        out = write_report(wh, report_path(), as_of=as_of,
                           run_results=run_results if run_results.exists() else None)
    except Exception as e:  # noqa: BLE001 - the data is fine; the page is not
        log.exception("writing the report failed")
        job.warnings.append(f"report: {type(e).__name__}: {e}")
        return None
    return str(out)


def _show(lake: Path, job: JobSummary) -> None:
    snap = current_snapshot().resolve().parent / "current.duckdb"
    w = sys.stdout.write
    w(f"\nraw Parquet landing:  {lake.resolve()}/raw/site=*/date=*/*.parquet\n")
    w(f"warehouse (build):    {warehouse_path()}\n")
    w(f"for analysts:         {snap}  (read-only snapshot of the last good build)\n")
    if job.report:
        w(f"data-quality report:  file://{job.report}\n")
    w("\ntry `make sql`, or any DuckDB client opened read-only on that file:\n")
    examples = [
        "select site, count(*) as points from points group by site",
        "select site, point, count(*) as n, min(ts), max(ts) from timeseries "
        "group by all order by n desc limit 5",
        "select * from samples_1h order by bucket_start desc limit 5",
        "select * from series('acme_hq', 'acme/acme_hq/weather/temp', "
        "now() - interval 1 day, now(), max_points := 100)",
        "select * from find_points(pattern := 'weather')",
        "select * from point_gaps order by duration desc limit 5",
        "select * from data_quality_daily order by quality_score limit 5",
    ]
    for q in examples:
        w(f"  {q};\n")
    w("\n  .venv/bin/python -m extract sql -c \"select count(*) from timeseries\"\n")
    w("  make status    # per-site lag, freshness and gaps\n")
