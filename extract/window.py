"""Land one time window of one site: fetch page by page, parse, keep what is new, commit.

This is the unit that sync and backfill repeat. Nothing becomes visible until the whole
window is fetched: on any error the window's temporary files are removed and the caller
does not advance its checkpoint, so the window is simply fetched again next time.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .client import FlightDeckClient
from .lake import (
    Lake,
    PartitionWriter,
    landed_latest,
    only_new,
    only_new_bad,
    quarantined_before,
    utc_dates,
)
from .parsing import parse_page

log = logging.getLogger(__name__)


@dataclass
class Counts:
    """What landing a window (or a run) did."""

    fetched: int = 0
    landed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    out_of_window: int = 0
    pages: int = 0
    files: int = 0

    def add(self, other: Counts) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class RunContext:
    """What every window of one run shares."""

    lake: Lake
    client: FlightDeckClient
    run_id: str
    page_size: int
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def land_window(ctx: RunContext, site: str, start: datetime, end: datetime,
                source: str) -> Counts:
    """Fetch ``[start, end)`` for ``site`` and land what is new, atomically."""
    counts = Counts()
    latest = landed_latest(ctx.lake, site, start, end, source_is_import=False)
    q_day = start.astimezone(UTC).date()
    q_before = quarantined_before(ctx.lake, site, utc_dates(start - timedelta(days=1), end))
    raw = PartitionWriter(ctx.lake, site, ctx.run_id, ctx.seq)
    bad = PartitionWriter(ctx.lake, site, ctx.run_id, ctx.seq, quarantine=True)
    try:
        for page in ctx.client.timeseries_pages(site, start, end, ctx.page_size):
            counts.pages += 1
            if not page.samples:
                continue
            received = datetime.now(UTC)
            parsed = parse_page(page.samples, site=site, source=source, extracted_at=received,
                                run_id=ctx.run_id, window=(start, end))
            new = only_new(parsed.good, latest)
            new_bad = only_new_bad(parsed.bad, q_before)
            raw.write(new)
            bad.write(new_bad, q_day)
            counts.fetched += len(page.samples)
            counts.landed += new.num_rows
            counts.unchanged += parsed.good.num_rows - new.num_rows
            counts.quarantined += new_bad.num_rows
            counts.out_of_window += parsed.out_of_window
        counts.files = len(raw.commit()) + len(bad.commit())
    except BaseException:
        raw.abort()
        bad.abort()
        raise
    if counts.quarantined:
        log.warning("%s: %d samples quarantined in %s..%s (see %s/quarantine)",
                    site, counts.quarantined, start, end, ctx.lake.root)
    if counts.out_of_window:
        log.info("%s: dropped %d samples outside the asked window %s..%s",
                 site, counts.out_of_window, start, end)
    return counts


def chunks(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive pieces of at most ``size``."""
    out = []
    t = start
    while t < end:
        nxt = min(t + size, end)
        out.append((t, nxt))
        t = nxt
    return out


def day_chunks(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at UTC midnights."""
    out = []
    t = start
    while t < end:
        midnight = datetime.combine(t.astimezone(UTC).date() + timedelta(days=1),
                                    datetime.min.time(), tzinfo=UTC)
        nxt = min(midnight, end)
        out.append((t, nxt))
        t = nxt
    return out
