"""Checkpoints: ``state/checkpoints/<site>.json`` says "every window before T is landed".

A sync reads T to know where to start and writes it after each chunk is durably landed.
Every write is atomic (a temporary file, fsynced, renamed) and is held to the wall clock
minus the settle time, whatever instant the caller asks for: a checkpoint in the future
would make every later sync skip the data before it. ``python -m extract checkpoint``
shows a site's checkpoint, and moves it under the site's lock like a sync.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from ..core.errors import ConfigError
from .lake import Lake, atomic_write_json, new_run_id, read_json

log = logging.getLogger(__name__)


def read_checkpoint(lake: Lake, site: str) -> datetime | None:
    doc = read_json(lake.checkpoint_path(site))
    if not doc:
        return None
    return datetime.fromisoformat(doc["synced_through"]).astimezone(UTC)


def checkpoint_limit(settle: timedelta, now: datetime | None = None) -> datetime:
    """The latest instant a checkpoint may say: the wall clock minus the settle time."""
    return (now or datetime.now(UTC)).astimezone(UTC) - max(settle, timedelta(0))


def write_checkpoint(lake: Lake, site: str, through: datetime, run_id: str, *,
                     settle: timedelta, now: datetime | None = None,
                     previous: datetime | None = None) -> datetime:
    """Write "synced through ``through``", never past :func:`checkpoint_limit`; return
    what was written. ``previous`` is recorded when a person moved the checkpoint."""
    through = through.astimezone(UTC)
    limit = checkpoint_limit(settle, now)
    if through > limit:
        log.warning("%s: checkpoint %s is past now minus the settle time; writing %s",
                    site, through.isoformat(), limit.isoformat())
        through = limit
    doc: dict[str, str | None] = {
        "site": site,
        "synced_through": through.isoformat(),
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(),
    }
    if previous is not None:
        doc["moved_from"] = previous.astimezone(UTC).isoformat()
    atomic_write_json(lake.checkpoint_path(site), doc)
    return through


def _fmt(t: datetime | None) -> str:
    return f"{t:%Y-%m-%dT%H:%M:%SZ}" if t is not None else "none"


def _read_for_show(lake: Lake, site: str) -> tuple[datetime | None, str]:
    """The checkpoint and how to show it; a damaged file is shown, and --set replaces it."""
    try:
        old = read_checkpoint(lake, site)
    except (ValueError, KeyError, TypeError) as e:
        return None, f"unreadable ({type(e).__name__}: {e})"
    return old, _fmt(old)


def show_or_move(lake: Lake, site: str, new: datetime | None, *, settle: timedelta,
                 now: datetime | None = None) -> str:
    """The line ``checkpoint`` prints: the site's checkpoint, or, with ``new``, the move to
    it. Showing only reads (files are replaced atomically); moving holds the site's lock
    (:class:`~extract.core.errors.LockHeld` while a sync of the site runs), and a ``new`` past now
    minus the settle time is refused with one ConfigError line."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    limit = checkpoint_limit(settle, now)
    if new is None:
        old, shown = _read_for_show(lake, site)
        note = ""
        if old is not None and old > limit:
            note = (f"; IN THE FUTURE (now minus settle is {_fmt(limit)}): syncs land "
                    "nothing until it is moved back with --set")
        return f"{site}: synced through {shown}{note}"
    new = new.astimezone(UTC)
    if new > limit:
        raise ConfigError(
            f"checkpoint --set {_fmt(new)} is later than now minus the settle time "
            f"({_fmt(limit)}): a checkpoint there would skip the data before it")
    with lake.run_locks() as locks:
        locks.site(site)
        old, shown = _read_for_show(lake, site)
        write_checkpoint(lake, site, new, new_run_id(now), settle=settle, now=now,
                         previous=old)
        if old is not None and new > old:
            log.warning("%s: checkpoint moved forward: [%s, %s) is not fetched by sync "
                        "(backfill it if it is wanted)", site, _fmt(old), _fmt(new))
        log.info("%s: checkpoint moved %s -> %s", site, shown, _fmt(new))
        return f"{site}: checkpoint moved {shown} -> {_fmt(new)}"
