"""``backfill``: land a site's history for ``[start, end)`` in UTC-day chunks.

Progress is kept per job in ``state/backfill/<site>/<start>_<end>.json`` and advanced after
each day is durably landed, so a crashed backfill resumes at the first day not done.
Rows are landed with ``source='backfill'`` and only when new or changed compared with
what is already landed, so running the same backfill again lands nothing.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ..core.config import Settings
from ..core.errors import ConfigError, ExtractError
from ..core.logs import RUN_ID
from ..source.client import FlightDeckClient
from .damaged import keep_aside, read_state
from .lake import Lake, atomic_write_json, check_site_name, new_run_id
from .sitecheck import check_known_sites
from .summary import RunSummary, SiteResult
from .window import RunContext, day_chunks, land_window, warm_up_in_background

log = logging.getLogger(__name__)


class Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, label: str, enabled: bool | None = None) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.monotonic()

    def update(self, done: int, extra: str = "") -> None:
        if not self.enabled:
            return
        frac = done / self.total
        bar = "#" * int(frac * 30)
        elapsed = time.monotonic() - self.t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {done}/{self.total} "
                         f"{extra} eta {eta:.0f}s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _done_through(lake: Lake, job: Path, start: datetime, run_id: str) -> datetime:
    """How far a backfill job got; an unreadable progress file is kept aside and the job
    starts again from ``start`` (what is landed already is not landed again)."""
    state = read_state(lake, job, run_id)
    if state is None:
        return start
    try:
        done = datetime.fromisoformat(state["done_through"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError) as e:
        keep_aside(lake, job, run_id, f"{type(e).__name__}: {e}")
        return start
    return max(done, start)


def backfill(settings: Settings, client: FlightDeckClient, site: str, start: datetime,
             end: datetime, *, restart: bool = False,
             progress: bool | None = None) -> RunSummary:
    check_site_name(site)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ConfigError(f"backfill: --end ({end.isoformat()}) must be after --start "
                          f"({start.isoformat()})")
    check_known_sites(client, [site], then="backfilling it anyway")  # a typo: refused
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    RUN_ID.set(run_id)
    lake = Lake(settings.lake)
    summary = RunSummary(run_id=run_id, command="backfill", started_at=now, until=end)
    result = SiteResult(site)
    summary.sites.append(result)
    job = lake.backfill_path(site, start, end)
    warm_up_in_background()
    with lake.run_locks() as locks:
        locks.site(site)  # another run on this site: LockHeld; its temporary files go
        done_through = start if restart else _done_through(lake, job, start, run_id)
        result.checkpoint_before = done_through.isoformat()
        days = day_chunks(start, end)
        todo = [(a, b) for a, b in days if b > done_through]
        ctx = RunContext(lake, client, run_id, settings.page_size)
        bar = Progress(len(days), f"backfill {site}", progress)
        bar.update(len(days) - len(todo))
        try:
            for a, b in todo:
                a = max(a, done_through)
                c = land_window(ctx, site, a, b, "backfill")
                result.counts.add(c)
                result.windows += 1
                atomic_write_json(job, {
                    "site": site, "start": start.isoformat(), "end": end.isoformat(),
                    "done_through": b.isoformat(), "run_id": run_id,
                    "written_at": datetime.now(UTC).isoformat(),
                })
                done_through = b
                result.checkpoint_after = b.isoformat()
                bar.update(len(days) - len(todo) + result.windows,
                           f"{result.counts.landed} new samples")
        except ExtractError as e:
            result.ok = False
            result.error = f"{type(e).__name__}: {e}"
            log.error("%s: backfill stopped at %s (rerun to resume): %s", site,
                      done_through.isoformat(), e)
        finally:
            bar.close()
        summary.damaged = ctx.damaged
        summary.finished_at = datetime.now(UTC)
        atomic_write_json(lake.run_path(run_id), summary.as_dict())
    return summary
