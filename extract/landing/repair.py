"""Gap repair: ask the API again for the windows of recent gaps, with backoff.

Gateways buffer during outages and upload late, sometimes later than the sync's look-back
(``EXTRACT_LOOKBACK``), so a window the sync read while it was empty is never read again.
The main job therefore reads the gaps of the warehouse's ``point_gaps`` (as of its last
build; ``extract.warehouse.gaps``) and hands them here: for every gap younger than the
horizon (``EXTRACT_REPAIR_HORIZON``, 7 days), repair re-fetches the gap's window: a closed
gap ``[gap_start, gap_end)``, an open gap (a point silent now) from ``gap_start`` to where
the sync's look-back begins. What arrives is landed like any re-read (only new or changed
samples, ``source`` = ``realtime``) and flows through the warehouse's normal incremental
path; a filled gap disappears from ``point_gaps`` at the next build.

A gap is first asked again ``EXTRACT_REPAIR_BACKOFF`` (15 min) after a run first saw it;
after attempt n the wait is backoff x 2^(n-1) (15 min, 15 min, 30 min, 1 h ...), capped at
``EXTRACT_REPAIR_BACKOFF_MAX`` (12 h). A closed gap whose end is older than the horizon and
still empty, and an open gap of a point silent since before the horizon, are marked
``final`` and never asked again. Gaps of one
site due in the same run are merged into as few windows as possible, at most
``EXTRACT_REPAIR_MAX_SPAN`` (2 days) of windows per site and run (the newest first; the rest
wait for the next run).

State: ``<lake>/state/gap_repair/<site>.json`` (atomic writes), one entry per gap
``(point, gap_start)`` in the list ``gaps``: ``gap_end`` (null when open), ``first_seen``,
``attempts``, ``last_attempt``, ``next_attempt``, ``status`` (``pending`` / ``final``),
``final_at``. The
dbt model ``gap_repairs`` shows it next to ``point_gaps`` (docs/operations.md, "Gap repair").
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.config import Settings
from ..core.errors import ExtractError
from ..core.logs import RUN_ID
from ..source.client import FlightDeckClient
from .lake import Lake, atomic_write_json, new_run_id, read_json
from .summary import RunSummary, SiteResult
from .sync import load_checkpoint
from .window import RunContext, chunks, land_window

log = logging.getLogger(__name__)

#: windows of one site closer than this are fetched as one
MERGE_SLACK = timedelta(hours=1)
#: final entries are forgotten once their gap ended this many horizons ago
KEEP_FINAL_HORIZONS = 4


@dataclass
class Gap:
    """One gap of ``point_gaps`` (gap_end None: open)."""

    site: str
    point: str
    gap_start: datetime
    gap_end: datetime | None


@dataclass
class RepairSummary:
    run_id: str
    started_at: datetime
    tracked: int = 0          # pending gaps after this run
    asked: int = 0            # gaps whose window was fetched
    windows: int = 0          # merged windows fetched
    landed: int = 0           # samples landed by the re-reads
    finalized: int = 0        # gaps marked final in this run
    filled: int = 0           # tracked gaps no longer in point_gaps
    deferred: int = 0         # due gaps left for a later run (span cap)
    failed_sites: list[str] = field(default_factory=list)
    busy_sites: list[str] = field(default_factory=list)  # another run held their lock
    skipped: str | None = None
    seconds: float = 0.0
    damaged: list[dict[str, str]] = field(default_factory=list)  # files set aside

    @property
    def ok(self) -> bool:
        return not self.failed_sites

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in self.__dict__.items()}


def state_path(lake: Lake, site: str) -> Path:
    return lake.root / "state" / "gap_repair" / f"{site}.json"


def _key(point: str, gap_start: datetime) -> str:
    return f"{gap_start.astimezone(UTC).isoformat()} {point}"


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat() if t is not None else None


def _order(entry: dict[str, Any]) -> tuple[str, str]:
    return entry["point"], entry["gap_start"]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).astimezone(UTC) if text else None


def _backoff(settings: Settings, attempts: int) -> timedelta:
    """Wait before attempt ``attempts + 1``: base, 2 x base, 4 x base ... capped."""
    factor = 2 ** min(max(attempts - 1, 0), 30)
    wait: timedelta = min(settings.repair_backoff * factor, settings.repair_backoff_max)
    return wait


def merge_windows(spans: list[tuple[datetime, datetime]],
                  slack: timedelta = MERGE_SLACK) -> list[tuple[datetime, datetime]]:
    """Sorted, merged ``[start, end)`` windows; spans closer than ``slack`` become one."""
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1] + slack:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def plan_site(settings: Settings, entries: dict[str, dict[str, Any]], gaps: list[Gap],
              now: datetime, sync_from: datetime | None,
              summary: RepairSummary) -> tuple[list[tuple[datetime, datetime]], list[str]]:
    """Update one site's entries with the current gaps; return the windows to fetch and
    the keys of the gaps they cover. Mutates ``entries``."""
    horizon_start = now - settings.repair_horizon
    current = {_key(g.point, g.gap_start): g for g in gaps}
    # tracked gaps gone from point_gaps were filled (or split: the parts are new gaps)
    for key in [k for k in entries if k not in current]:
        if entries[key]["status"] == "pending":
            summary.filled += 1
        del entries[key]
    due: list[tuple[datetime, datetime, str]] = []
    for key, gap in current.items():
        entry = entries.get(key)
        # older than the horizon (an open gap: a point silent since before it)
        too_old = (gap.gap_end if gap.gap_end is not None else gap.gap_start) < horizon_start
        if too_old:
            # final if we were still waiting for it, else never ours
            if entry is not None and entry["status"] == "pending":
                entry.update(status="final", final_at=_iso(now), next_attempt=None)
                summary.finalized += 1
            forget_before = now - KEEP_FINAL_HORIZONS * settings.repair_horizon
            if entry is not None and gap.gap_end is not None and gap.gap_end < forget_before:
                del entries[key]
            continue
        if entry is None:
            # found by the last build, whose sync had just read the window: first retry
            # after one backoff period
            entry = entries[key] = {
                "point": gap.point, "gap_start": _iso(gap.gap_start),
                "first_seen": _iso(now), "attempts": 0, "last_attempt": None,
                "next_attempt": _iso(now + _backoff(settings, 0)), "status": "pending",
                "final_at": None}
        entry["gap_end"] = _iso(gap.gap_end)
        if entry["status"] != "pending":
            continue
        next_at = _time(entry["next_attempt"])
        if next_at is not None and next_at > now:
            continue
        start = max(gap.gap_start, horizon_start)
        end = gap.gap_end if gap.gap_end is not None else sync_from
        if end is None or end <= start:
            continue  # an open gap the sync's own look-back still covers
        due.append((start, end, key))
    # newest first, up to the span cap (a gap longer than the cap alone: its newest part)
    due.sort(key=lambda d: d[1], reverse=True)
    cap = settings.repair_max_span
    chosen: list[tuple[datetime, datetime, str]] = []
    for start, end, key in due:
        if not chosen and end - start > cap:
            start = end - cap
        windows = merge_windows([(a, b) for a, b, _ in chosen] + [(start, end)])
        if sum((b - a for a, b in windows), timedelta()) > cap:
            summary.deferred += 1
            continue
        chosen.append((start, end, key))
    return merge_windows([(a, b) for a, b, _ in chosen]), [k for _, _, k in chosen]


def _read_state(path: Path, run_id: str, now: datetime) -> dict[str, dict[str, Any]]:
    """A site's repair entries by key. An unreadable file is kept aside, named in the log,
    as ``<site>.json.corrupt-<run_id>`` (outside the glob the warehouse reads), and the site
    starts afresh: the gaps are found again from point_gaps."""
    try:
        doc = read_json(path) or {}
        return {_key(e["point"], _time(e["gap_start"]) or now): e for e in doc.get("gaps", [])}
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        kept = path.with_name(f"{path.name}.corrupt-{run_id}")
        path.rename(kept)
        log.warning("gap repair: cannot read %s (%s: %s); kept as %s, starting afresh",
                    path, type(e).__name__, e, kept.name)
        return {}


def gaps_since(settings: Settings, now: datetime) -> datetime:
    """The oldest gap end repair still needs to see (older ones are forgotten)."""
    return now - KEEP_FINAL_HORIZONS * settings.repair_horizon


def repair(settings: Settings, client: FlightDeckClient, gaps: list[Gap] | None,
           now: datetime | None = None,
           only: Callable[[str], bool] | None = None) -> RepairSummary:
    """Re-fetch the windows of the gaps that are due; update the per-site repair state.
    ``gaps``: the warehouse's gaps that are open or ended after :func:`gaps_since`; None
    before the first build. ``only``: the sites this run repairs (its shard or --site).
    A site whose lock another run holds is skipped (logged) and repaired by a later run."""
    t0 = time.monotonic()
    now = (now or datetime.now(UTC)).astimezone(UTC)
    run_id = new_run_id(datetime.now(UTC))
    summary = RepairSummary(run_id=run_id, started_at=datetime.now(UTC))
    if gaps is None:
        summary.skipped = "no warehouse built yet"
        return summary
    by_site: dict[str, list[Gap]] = {}
    for g in gaps:
        by_site.setdefault(g.site, []).append(g)
    lake = Lake(settings.lake)
    token = RUN_ID.set(run_id)
    runs = RunSummary(run_id=run_id, command="repair", started_at=summary.started_at,
                      until=now)
    try:
        with lake.run_locks() as locks:
            ctx = RunContext(lake, client, run_id, settings.page_size)
            known = {p.stem for p in (lake.root / "state" / "gap_repair").glob("*.json")}
            for site in sorted(set(by_site) | known):
                if only is not None and not only(site):
                    continue
                if not locks.try_site(site):
                    summary.busy_sites.append(site)
                    log.info("%s: gap repair skipped: another run holds the site's lock "
                             "(a later run repairs it)", site)
                    continue
                path = state_path(lake, site)
                entries = _read_state(path, run_id, now)
                cp = load_checkpoint(ctx, site, settings.settle)
                sync_from = cp - settings.lookback if cp else None
                windows, keys = plan_site(settings, entries, by_site.get(site, []), now,
                                          sync_from, summary)
                result = SiteResult(site)
                try:
                    for a, b in windows:
                        for ca, cb in chunks(a, b, settings.chunk):
                            result.counts.add(land_window(ctx, site, ca, cb, "realtime"))
                        result.windows += 1
                except ExtractError as e:
                    result.ok, result.error = False, f"{type(e).__name__}: {e}"
                    summary.failed_sites.append(site)
                    log.warning("%s: gap repair failed: %s", site, e)
                # an attempt counts even when it failed: the backoff applies either way
                for key in keys:
                    entry = entries[key]
                    entry["attempts"] += 1
                    entry["last_attempt"] = _iso(now)
                    entry["next_attempt"] = _iso(now + _backoff(settings, entry["attempts"]))
                summary.asked += len(keys)
                summary.windows += result.windows
                summary.landed += result.counts.landed
                summary.tracked += sum(1 for e in entries.values() if e["status"] == "pending")
                if windows or keys or result.counts.landed:
                    runs.sites.append(result)
                if entries or path.exists():
                    atomic_write_json(path, {"site": site, "updated_at": _iso(now),
                                             "gaps": sorted(entries.values(), key=_order)})
                if windows:
                    log.info("%s: gap repair asked %d gaps in %d windows, landed %d samples",
                             site, len(keys), result.windows, result.counts.landed)
            runs.finished_at = datetime.now(UTC)
            runs.damaged = ctx.damaged
            summary.damaged = [d.as_dict() for d in ctx.damaged]
            if runs.sites or runs.damaged:
                atomic_write_json(lake.run_path(run_id), runs.as_dict())
    finally:
        RUN_ID.reset(token)
    summary.seconds = time.monotonic() - t0
    return summary
