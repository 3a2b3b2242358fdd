"""Judging the collected status: each rule that is broken becomes a :class:`Problem`
(warning or critical); the rules are listed in ``EXIT_HELP`` and docs/status.md."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from .model import REPAIR, JobInfo, Problem, RunInfo, Status
from .render import _fmt_span, _fmt_time, _plural


def _part_of(run: RunInfo, job: JobInfo | None) -> bool:
    """Whether ``run`` was started by the main job ``job`` (its sync or its gap repair):
    then the job's verdict covers it."""
    if job is None or job.finished_at is None or run.started_at is None:
        return False
    return run.run_id >= job.run_id and run.started_at <= job.finished_at


def assess(status: Status) -> list[Problem]:
    """The problems, by the rules of EXIT_HELP."""
    out: list[Problem] = []

    def critical(message: str, site: str | None = None) -> None:
        out.append(Problem("critical", message, site))

    def warning(message: str, site: str | None = None) -> None:
        out.append(Problem("warning", message, site))

    lag = _fmt_span(status.max_lag_s)
    if not any(s.checkpoint is not None or s.checkpoint_error for s in status.sites):
        critical(f"nothing synced yet: no checkpoint in {status.lake / 'state' / 'checkpoints'}")
    wh = status.warehouse
    if wh.error:
        critical(wh.error)
    elif not status.published.exists:
        warning(f"no published snapshot at {status.published.path}: analysts see nothing")
    job, run = status.last_job, status.last_run
    if job is not None and not job.ok:
        critical(f"last main job {job.run_id} needs attention: "
                 + ("; ".join(job.problems) or "no problem text"))
    if job is not None and job.warnings:
        warning(f"last main job {job.run_id}: " + "; ".join(job.warnings))
    if run is not None and not _part_of(run, job):
        if not run.ok:
            why = run.error or (f"{len(run.failed_sites)} of {len(run.sites)} sites failed "
                                f"({', '.join(run.failed_sites)})")
            (warning if run.command == REPAIR else critical)(
                f"last run {run.run_id} ({run.command}) failed: {why}")
        if run.quarantined:
            warning(f"last run {run.run_id} ({run.command}) quarantined "
                    + _plural(run.quarantined, "sample"))
    for s in status.sites:
        if s.checkpoint_error:
            critical(f"unreadable checkpoint: {s.checkpoint_error}", s.site)
        r = s.last_run
        if r is not None and not r.ok:
            critical(f"last {r.command} run {r.run_id} failed: {r.error or 'no error text'}",
                     s.site)
        if (s.checkpoint is not None and s.checkpoint_lag_s is not None
                and s.checkpoint_lag_s < 0):
            critical(f"checkpoint {_fmt_time(s.checkpoint)} is in the future "
                     f"({_fmt_span(-s.checkpoint_lag_s)} after now): syncs land nothing "
                     f"until it is moved back with `python -m extract checkpoint --site "
                     f"{s.site} --set <instant>`", s.site)
        if s.checkpoint_stale and s.checkpoint is not None:
            warning(f"synced through {_fmt_time(s.checkpoint)}, "
                    f"{_fmt_span(s.checkpoint_lag_s)} before now (more than {lag})", s.site)
        if wh.path is not None and s.samples_stale:
            if s.newest_sample is None:
                warning("no sample in the warehouse", s.site)
            else:
                warning(f"newest sample in the warehouse is {_fmt_span(s.newest_sample_age_s)}"
                        f" old (more than {lag})", s.site)
        if s.open_gaps:
            since = (f", the oldest since {_fmt_time(s.oldest_open_gap_start)}"
                     if s.oldest_open_gap_start else "")
            warning(f"{_plural(s.open_gaps, 'open gap')} (points that stopped reporting"
                    f"{since})", s.site)
    damaged = status.tiers.damaged
    if damaged.files or damaged.notes:
        last = damaged.notes[-1] if damaged.notes else {}
        warning(f"{_plural(max(damaged.files, len(damaged.notes)), 'damaged file')} set aside "
                f"in {status.lake / 'damaged'} (not read by the build), the newest "
                f"{last.get('path', '?')}: {last.get('reason', '?')}; look, then restore or "
                "delete them (docs/operations.md)")
    for text in status.unreadable_state:
        warning(f"unreadable summary {text}")
    for text in status.tiers.retention.unreadable:
        warning(f"unreadable raw-retention journal {text} (its deletions are not counted)")
    if status.tiers.cold.missing_files:
        files = status.tiers.cold.missing_files
        critical(f"{len(files)} active cold-tier file(s) missing, e.g. {files[0]}")
    return out
