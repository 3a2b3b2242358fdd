"""The main job: a list of steps (sync, gap repair, ``dbt build``, cold-tier move, raw
retention when it is configured, publish, report), each timed, run in order while the
ones before allow it; then the summary.

Without ``ACE_API_KEY`` it starts the local stand-in on a free loopback port and syncs
from it, saying so, so the whole pipeline runs on a fresh machine with no secrets.
A step that fails in a way it does not handle itself becomes a ``NEEDS A PERSON`` line
with a one-line reason; the later steps that depend on it are skipped and the job
summary is written either way.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..core.config import Secret, Settings
from ..core.errors import ConfigError, LockHeld, first_line, redact
from ..core.shard import Shard
from ..landing.damaged import Damaged
from ..landing.lake import Lake, new_run_id
from ..landing.locks import lake_wide
from ..landing.repair import gaps_since, repair
from ..landing.summary import RunSummary, print_summary
from ..landing.sync import sync
from ..source.client import FlightDeckClient
from ..warehouse.dbt import BuildResult, WarehouseBusy, check_not_busy
from ..warehouse.gaps import gap_changes, gap_snapshot, late_samples, read_gaps
from ..warehouse.lakecheck import build_setting_aside, check_lake
from ..warehouse.publish import current_snapshot, publish
from ..warehouse.retention import prune_raw
from ..warehouse.tiers import describe, move_to_cold
from .job import JobSummary

log = logging.getLogger(__name__)


@contextlib.contextmanager
def api_or_standin(settings: Settings) -> Iterator[bool]:
    """Yield True when the local stand-in serves the run (no API key configured)."""
    if settings.api_key:
        settings.require_api()
        yield False
        return
    from ..standin import StandIn, World

    token = secrets.token_urlsafe(16)
    server = StandIn(World(seed=7, sites=3, points_per_site=40), token=token).start(port=0)
    settings.api_url, settings.api_key = server.url, Secret(token)
    print(f"ACE_API_KEY is not set: using the local FlightDeck stand-in at {server.url}")
    try:
        yield True
    finally:
        server.stop()


@dataclass
class Run:
    """What the steps of one main job share."""

    settings: Settings
    until: datetime | None
    job: JobSummary
    client: FlightDeckClient | None = None
    sync: RunSummary | None = None
    run_ids: list[str] = field(default_factory=list)
    build: BuildResult | None = None
    #: the sites this job syncs and repairs: named ones, or those of a shard (None: all)
    sites: list[str] | None = None
    shard: Shard | None = None

    def repairs(self, site: str) -> bool:
        """True for a site this job's gap repair covers (its --site or shard)."""
        if self.sites:
            return site in self.sites
        return self.shard is None or self.shard.holds(site)

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse.resolve()


def step_sync(run: Run) -> None:
    assert run.client is not None
    summary = run.sync = sync(run.settings, run.client, until=run.until or datetime.now(UTC),
                              sites=run.sites, shard=run.shard)
    run.job.run_id = summary.run_id
    run.run_ids.append(summary.run_id)
    print_summary(summary)
    job, totals = run.job, summary.totals
    job.landed, job.quarantined = totals.landed, totals.quarantined
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
    job.damaged += [d.as_dict() for d in summary.damaged]


def step_repair(run: Run) -> None:
    """Ask the API again for recent gaps; best effort: a failure is a warning."""
    assert run.client is not None
    now = (run.until or datetime.now(UTC)).astimezone(UTC)
    try:
        gaps = read_gaps(run.warehouse, gaps_since(run.settings, now))
        rep = repair(run.settings, run.client, gaps, now=run.until, only=run.repairs)
    except Exception as e:  # noqa: BLE001 - repair is best effort; the build goes on
        log.exception("gap repair failed")
        run.job.warnings.append(f"gap repair: {type(e).__name__}: {e} (retried next run)")
        return
    run.job.repair = rep.as_dict()
    run.job.damaged += rep.damaged
    run.job.landed += rep.landed
    run.run_ids.append(rep.run_id)
    for site in rep.failed_sites:
        run.job.warnings.append(f"gap repair failed for {site} (retried next run)")


def step_check(run: Run) -> None:
    """Set aside the lake's new files that cannot be read and rebuild lost cold-tier files
    from raw/ (warehouse/lakecheck.py); best effort: a failure is a warning."""
    try:
        earlier = [Damaged(**d) for d in run.job.damaged]
        found = check_lake(run.warehouse, run.settings.lake, run.job.run_id, now=run.until,
                           earlier=earlier)
    except Exception as e:  # noqa: BLE001 - the build goes on, and retries on a bad file
        log.warning("checking the lake failed: %s: %s", type(e).__name__, first_line(e))
        run.job.warnings.append(f"lake check: {type(e).__name__}: {e}")
        return
    run.job.damaged += [d.as_dict() for d in found.damaged]
    run.job.cold_rebuilt += found.cold_rebuilt
    for lost in found.unrecoverable:
        run.job.fail(f"cold tier: {lost['path']} (site {lost['site']}, month {lost['month']}) "
                     f"is {lost['reason']} and the raw retention deleted raw files of that "
                     "month: restore the file or the warehouse (docs/operations.md, "
                     "\"Raw retention\")")


def step_build(run: Run) -> None:
    job, wh = run.job, run.warehouse
    try:
        check_not_busy(wh)
    except WarehouseBusy as e:
        job.fail(f"dbt build: {e}")
        return
    before = gap_snapshot(wh)
    build, aside = build_setting_aside(wh, run.settings.lake, job.run_id,
                                       run.settings.dbt_vars, as_of=run.until,
                                       log=run.settings.dbt_log)
    run.build = build
    job.damaged += [d.as_dict() for d in aside]
    job.dbt_log = str(run.settings.dbt_log)
    job.tests = {k: len(v) for k, v in build.tests.items()}
    job.tests_not_passing = [f"{status}: {name}" for status in ("error", "fail", "warn")
                             for name in build.tests.get(status, [])]
    if not build.ok:
        job.fail("dbt build: " + (build.error or (
            f"{len(build.failed_models)} models failed ({', '.join(build.failed_models)}), "
            f"{build.count('fail') + build.count('error')} tests failed"))
            + f" (dbt's log: {run.settings.dbt_log})")
    assert run.sync is not None
    checkpoints = {s.site: datetime.fromisoformat(s.checkpoint_before)
                   for s in run.sync.sites if s.checkpoint_before}
    with contextlib.suppress(Exception):  # a failed build may leave no samples table
        job.late_merged = late_samples(wh, run.run_ids, checkpoints)
    after = gap_snapshot(wh)
    if after is not None:
        job.gaps_new, job.gaps_closed, job.gaps_filled, job.gaps_open = gap_changes(
            before, after)


def step_cold(run: Run) -> None:
    """Raw samples older than hot_days go to cold Parquet (docs/warehouse.md, "Hot and
    cold tiers"); a failed move leaves the previous, consistent state."""
    try:
        with lake_wide(run.settings.lake, "cold-tier move") as held:
            if held:  # else another run does lake-wide work: the next run moves
                run.job.cold = describe(move_to_cold(run.warehouse, run.settings.lake,
                                                     run.settings.hot_days, now=run.until))
    except Exception as e:
        log.exception("moving samples to the cold tier failed")
        run.job.fail(f"cold-tier move: {type(e).__name__}: {e}")


#: raw files the main job's retention step judges per run (the first run after the policy
#: is set works through a long history over several runs)
RETENTION_FILES_PER_RUN = 2000


def step_retention(run: Run) -> None:
    """Delete raw files whose every sample is in the cold tier and whose date is older than
    ACE_RAW_RETENTION_DAYS (warehouse/retention.py); a failure deletes nothing more and is
    a warning: the next run goes on."""
    days = run.settings.raw_retention_days
    assert days is not None
    try:
        result = prune_raw(run.warehouse, run.settings.lake, days, now=run.until,
                           run_id=run.job.run_id, max_files=RETENTION_FILES_PER_RUN)
    except Exception as e:  # noqa: BLE001 - nothing is at risk; the next run prunes
        log.exception("raw retention failed")
        run.job.warnings.append(f"raw retention: {type(e).__name__}: {first_line(e)}")
        return
    run.job.retention = result.as_dict()


def step_publish(run: Run) -> None:
    assert run.sync is not None
    try:
        run.job.published = str(publish(run.warehouse, run.sync.run_id,
                                        run.settings.published_dir).path)
    except Exception as e:
        log.exception("publishing the snapshot failed")
        run.job.fail(f"publish: {type(e).__name__}: {e} (analysts keep the previous one)")


def step_report(run: Run) -> None:
    """The data-quality report, from the snapshot just published (this process's dbt
    connection holds the build file, and the snapshot is exactly what analysts see); a
    failure is a warning, not a stop."""
    from .report import write_report

    assert run.job.published is not None
    results = run.settings.run_results
    try:
        out = write_report(Path(run.job.published), run.settings.report_path.resolve(),
                           as_of=run.until, run_results=results if results.exists() else None)
    except Exception as e:  # noqa: BLE001 - the data is fine; the page is not
        log.exception("writing the report failed")
        run.job.warnings.append(f"report: {type(e).__name__}: {e}")
        return
    run.job.report = str(out)


@dataclass
class Step:
    """One step of the main job: its name in the summary, what it does, and when it runs."""

    name: str
    action: Callable[[Run], None]
    runs_if: Callable[[Run, Options], bool]


@dataclass
class Options:
    """The main job's flags."""

    skip_dbt: bool = False
    repair_gaps: bool = True
    report: bool = True
    #: ``run --shard I/N`` with I > 1 only syncs and repairs; shard 1 builds
    shard: Shard | None = None

    @property
    def builds(self) -> bool:
        """This job does the build and its lake-wide steps (lake check, dbt build, cold
        tier, publish, report): not with --skip-dbt, and of shards only shard 1."""
        return not self.skip_dbt and (self.shard is None or self.shard.index == 1)


def _built(run: Run, opts: Options) -> bool:
    return run.build is not None and run.build.ok


#: the main job, in order; a step whose condition fails is left out of the summary
STEPS: tuple[Step, ...] = (
    Step("sync", step_sync, lambda run, o: True),
    Step("repair", step_repair, lambda run, o: o.repair_gaps and not o.skip_dbt),
    Step("lake check", step_check, lambda run, o: o.builds),
    Step("dbt build", step_build, lambda run, o: o.builds),
    Step("cold tier", step_cold, _built),
    Step("raw retention", step_retention,
         lambda run, o: _built(run, o) and run.settings.raw_retention_days is not None),
    Step("publish", step_publish, _built),
    Step("report", step_report, lambda run, o: o.report and run.job.published is not None),
)
#: the steps that talk to the API (the client is open only while they run)
API_STEPS = ("sync", "repair")


def _run_step(run: Run, step: Step) -> bool:
    """Run one step, timed; False when it raised (recorded as needing a person)."""
    t = time.monotonic()
    try:
        step.action(run)
    except (LockHeld, ConfigError, KeyboardInterrupt):
        raise
    except Exception as e:
        log.exception("main job step %s failed", step.name)
        run.job.fail(f"{step.name}: {type(e).__name__}: {first_line(e)}")
        return False
    finally:
        run.job.steps[step.name] = time.monotonic() - t
    return True


def main_job(settings: Settings, *, until: datetime | None = None, skip_dbt: bool = False,
             demo: bool = False, repair_gaps: bool = True, report: bool = True,
             sites: list[str] | None = None, shard: Shard | None = None) -> int:
    """Run :data:`STEPS` and print the summary. Returns 0 when nothing needs a person,
    else 1 (docs/operations.md lists the causes). ``sites``/``shard``: sync and repair
    only those sites; of a shard, only shard 1 builds."""
    t0 = time.monotonic()
    opts = Options(skip_dbt=skip_dbt, repair_gaps=repair_gaps, report=report, shard=shard)
    run = Run(settings, until, JobSummary(run_id="-", started_at=datetime.now(UTC)),
              sites=sites, shard=shard)
    api_steps = [s for s in STEPS if s.name in API_STEPS]
    later_steps = [s for s in STEPS if s.name not in API_STEPS]
    ok = True
    try:
        with api_or_standin(settings), FlightDeckClient.from_settings(settings) as client:
            run.client = client
            for step in api_steps:
                if ok and step.runs_if(run, opts):
                    ok = _run_step(run, step)
        run.client = None
        for step in later_steps:
            if ok and step.runs_if(run, opts):
                ok = _run_step(run, step)
    except (LockHeld, ConfigError, KeyboardInterrupt):
        raise  # one line from the CLI; another job's summary is not this one's to write
    except Exception as e:  # outside any step: starting the stand-in, opening the client
        log.exception("main job failed outside its steps")
        run.job.fail(f"main job: {type(e).__name__}: {first_line(e)}")
    run.job.note_damage(settings.lake)
    run.job.seconds = time.monotonic() - t0
    if run.job.run_id == "-":  # no sync ran: the job still gets an id of its own
        run.job.run_id = new_run_id(datetime.now(UTC))
    try:
        Lake(settings.lake).write_job(run.job.run_id, run.job.as_dict())
    except OSError as e:
        run.job.fail(f"writing the job summary to {settings.lake}/state/jobs failed: {e}")
    print(redact(run.job.render()))
    if demo and run.job.ok:
        _show(settings, run.job)
    return 0 if run.job.ok else 1


def _show(settings: Settings, job: JobSummary) -> None:
    snap = current_snapshot(settings.published_dir).resolve().parent / "current.duckdb"
    w = sys.stdout.write
    w(f"\nraw Parquet landing:  {settings.lake.resolve()}/raw/site=*/date=*/*.parquet\n")
    w(f"warehouse (build):    {settings.warehouse.resolve()}\n")
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
        "select * from data_quality_daily where is_complete order by quality_score limit 5",
    ]
    for q in examples:
        w(f"  {q};\n")
    w("\n  .venv/bin/python -m extract sql -c \"select count(*) from timeseries\"\n")
    w("  make status    # per-site lag, freshness and gaps\n")
