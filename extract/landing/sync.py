"""``sync``: bring every site's landing up to ``until - settle``, loss-free and resumable.

Per site, the checkpoint "synced through T" (``state/checkpoints/<site>.json``) says that
every window before T has been landed. A run fetches ``[T - lookback, until - settle)`` in
chunks of at most ``chunk`` and advances T after each chunk is durably landed, so an
outage of any length is caught up completely, in order, and a crash resumes where it
stopped. A site that fails keeps its checkpoint and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.duck import query
from ..core.errors import ConfigError, ExtractError, FatalError
from ..core.logs import RUN_ID
from ..core.shard import Shard
from ..source.client import FlightDeckClient
from .checkpoint import read_checkpoint, write_checkpoint
from .damaged import keep_aside
from .lake import Lake, atomic_write_json, check_site_name, new_run_id
from .locks import RunLocks
from .meta import land_points, land_sites
from .sitecheck import check_known_sites
from .summary import RunSummary, SiteResult
from .window import (
    Background,
    RunContext,
    chunks,
    land_window,
    read_landed,
    warm_up_in_background,
)

log = logging.getLogger(__name__)


def latest_landed(ctx: RunContext, site: str) -> datetime | None:
    """The latest ``ts`` the sync (``source = 'realtime'``) landed for ``site``, from the
    newest date partitions (the lake is the record when a checkpoint is lost)."""
    base = ctx.lake.root / "raw" / f"site={check_site_name(site)}"
    days = sorted((p for p in base.glob("date=*") if p.is_dir()), reverse=True)
    for d in days:
        files = [str(p) for p in sorted(d.glob("*.parquet"))]
        if not files:
            continue
        try:
            day = date.fromisoformat(d.name.removeprefix("date="))
        except ValueError:
            continue

        def newest(day_dir: Path = d) -> datetime | None:
            paths = [str(p) for p in sorted(day_dir.glob("*.parquet"))]
            if not paths:
                return None
            t = query("select max(ts) as ts from read_parquet($files) "
                      "where source = 'realtime'", {"files": paths})
            value: datetime | None = t["ts"][0].as_py()
            return value

        latest = read_landed(ctx, site, [day], newest)
        if latest is not None:
            return latest.astimezone(UTC)
    return None


def load_checkpoint(ctx: RunContext, site: str, settle: timedelta) -> datetime | None:
    """The site's checkpoint; an unreadable one is kept aside and rebuilt from the latest
    ``ts`` landed for the site (the sync then re-reads from it minus the look-back)."""
    try:
        return read_checkpoint(ctx.lake, site)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        keep_aside(ctx.lake, ctx.lake.checkpoint_path(site), ctx.run_id,
                   f"{type(e).__name__}: {e}")
    rebuilt = latest_landed(ctx, site)
    log.warning("%s: checkpoint rebuilt from the lake: synced through %s", site,
                rebuilt.isoformat() if rebuilt else "nothing (first sync)")
    if rebuilt is not None:
        rebuilt = write_checkpoint(ctx.lake, site, rebuilt, ctx.run_id, settle=settle)
    return rebuilt


def _site_names(items: list[dict[str, Any]]) -> list[str]:
    """Collect-enabled, non-archived sites, in the API's order."""
    out = []
    for it in items:
        name = it.get("name")
        if not isinstance(name, str):
            continue
        if it.get("archived") in (True, "true", "True"):
            continue
        if it.get("collect_enabled") in (False, "false", "False"):
            continue
        out.append(name)
    return out


def sync_site(ctx: RunContext, settings: Settings, site: str, end: datetime,
              result: SiteResult) -> None:
    lake = ctx.lake
    # the points are listed alongside the first window, once its first page is in (asked
    # for at the same time, their pages delayed it while nothing else could start), and
    # landed after the windows: building the snapshot is Python work that would hold up
    # every page in flight
    ctx.first_page.clear()
    points: list[list[dict[str, Any]]] = []

    def list_points() -> None:
        ctx.first_page.wait()
        points.append(ctx.client.configured_points(site))

    meta = Background(list_points)
    try:
        _sync_windows(ctx, settings, site, end, result)
    finally:
        ctx.first_page.set()
        meta.join()  # re-raises a failure to list the points
        land_points(lake, site, points[0], datetime.now(UTC), ctx.run_id)


def _sync_windows(ctx: RunContext, settings: Settings, site: str, end: datetime,
                  result: SiteResult) -> None:
    lake = ctx.lake
    cp = load_checkpoint(ctx, site, settings.settle)
    result.checkpoint_before = cp.isoformat() if cp else None
    if cp is not None and cp > datetime.now(UTC) + settings.clock_skew:
        # written before checkpoints were held to the clock, or the clock was set back
        raise ConfigError(
            f"checkpoint {cp:%Y-%m-%dT%H:%M:%SZ} is in the future, so nothing after it "
            f"would be fetched: move it back with `python -m extract checkpoint --site "
            f"{site} --set <instant>` (docs/operations.md)")
    start = cp - settings.lookback if cp else end - settings.initial_history
    for a, b in chunks(start, end, settings.chunk):
        t0 = time.monotonic()
        c = land_window(ctx, site, a, b, "realtime")
        result.counts.add(c)
        result.windows += 1
        through = write_checkpoint(lake, site, max(b, cp) if cp else b, ctx.run_id,
                                   settle=settings.settle)
        cp = through
        result.checkpoint_after = through.isoformat()
        log.info("%s: landed %d new of %d samples for %s..%s in %.2fs", site, c.landed,
                 c.fetched, a.isoformat(), b.isoformat(), time.monotonic() - t0)


def _lake_wide_part(lake: Lake, locks: RunLocks, items: list[dict[str, Any]],
                    run_id: str) -> None:
    """The sites' snapshot and the clean-up of temporary files no live run owns: lake-wide
    work, done by whichever run takes the lake-wide lock (the others skip it, logged)."""
    with locks.lake_wide("the /sites snapshot and temporary-file clean-up") as held:
        if held:
            lake.remove_stale_temps()
            land_sites(lake, items, datetime.now(UTC), run_id)


def sync(settings: Settings, client: FlightDeckClient, *, until: datetime | None = None,
         sites: list[str] | None = None, shard: Shard | None = None) -> RunSummary:
    """Sync the given sites (default: all collect-enabled ones, or those of ``shard``) up
    to ``until - settle``, holding each site's lock (extract/landing/locks.py)."""
    now = datetime.now(UTC)
    until = (until or now).astimezone(UTC)
    run_id = new_run_id(now)
    RUN_ID.set(run_id)
    lake = Lake(settings.lake)
    summary = RunSummary(run_id=run_id, command="sync", started_at=now, until=until)
    end = until - settings.settle
    warm_up_in_background()
    named_items: list[dict[str, Any]] | None = None
    if sites:
        # a mistyped --site is refused before any work (ConfigError); the list, when it
        # could be fetched, is landed as the sites' snapshot (lake-wide work)
        named_items = check_known_sites(client, sites, then="syncing the named sites anyway")
    with lake.run_locks() as locks:
        ctx = RunContext(lake, client, run_id, settings.page_size)
        listing: Background | None = None
        if sites:
            chosen = [s for s in sites if _usable_name(s, summary)]
            locks.sites(chosen)  # a site another run syncs: LockHeld, nothing changed
            if named_items is not None:
                listed = named_items
                # landing the snapshot is Python work: alongside the first windows
                listing = Background(lambda: _lake_wide_part(lake, locks, listed, run_id))
        else:
            try:
                items = client.sites()
                chosen = _site_names(items)
            except ExtractError as e:
                summary.error = f"listing sites failed: {e}"
                items, chosen = [], []
            if shard is not None:
                chosen = [s for s in chosen if shard.holds(s)]
                log.info("shard %s: %d sites", shard, len(chosen))
            chosen = [s for s in chosen if _usable_name(s, summary)]
            locks.sites(chosen)
            if items:
                _lake_wide_part(lake, locks, items, run_id)
        for site in chosen:
            result = SiteResult(site)
            summary.sites.append(result)
            try:
                sync_site(ctx, settings, site, end, result)
            except ExtractError as e:
                result.ok = False
                result.error = f"{type(e).__name__}: {e}"
                level = logging.ERROR if isinstance(e, FatalError) else logging.WARNING
                log.log(level, "%s: sync failed, checkpoint kept at %s: %s", site,
                        result.checkpoint_after or result.checkpoint_before, e)
        if listing is not None:
            listing.join()
        summary.damaged = ctx.damaged
        summary.finished_at = datetime.now(UTC)
        atomic_write_json(lake.run_path(run_id), summary.as_dict())
    return summary


def _usable_name(site: str, summary: RunSummary) -> bool:
    """A listed site whose name cannot be a lake directory fails alone (no lock for it)."""
    try:
        check_site_name(site)
    except ConfigError as e:
        summary.sites.append(SiteResult(site, ok=False, error=f"{type(e).__name__}: {e}"))
        log.error("%s: sync failed: %s", site, e)
        return False
    return True
