"""Land one time window of one site: fetch page by page, parse, keep what is new, commit.

This is the unit that sync and backfill repeat. Nothing becomes visible until the whole
window is fetched: on any error the window's temporary files are removed and the caller
does not advance its checkpoint, so the window is simply fetched again next time.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import pyarrow as pa

from ..source.client import FlightDeckClient
from ..source.parsing import parse_page, warm_up
from .damaged import Damaged, bad_files, looks_unreadable
from .lake import (
    Lake,
    PartitionWriter,
    landed_files,
    only_new,
    only_new_bad,
    quarantined_before,
    utc_dates,
)
from .usage import refresh_committed

log = logging.getLogger(__name__)
T = TypeVar("T")


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
    #: set once the run's first page has arrived (or a window ended without one)
    first_page: threading.Event = field(default_factory=threading.Event)
    #: files this run set aside because they could not be read (landing/damaged.py)
    damaged: list[Damaged] = field(default_factory=list)


def read_landed(ctx: RunContext, site: str, days: list[date], read: Callable[[], T]) -> T:
    """``read()`` of the landed files of ``site`` on ``days``; when it fails because a file
    cannot be read, that file is set aside (landing/damaged.py) and the read is retried."""
    for _ in range(3):
        try:
            return read()
        except Exception as e:
            if not looks_unreadable(str(e)):
                raise
            candidates = [p for d in days for base in (ctx.lake.raw_dir(site, d),
                                                       ctx.lake.quarantine_dir(site, d))
                          if base.is_dir() for p in sorted(base.glob("*.parquet"))]
            found = bad_files(ctx.lake, str(e), candidates, ctx.run_id)
            if not found:
                raise
            ctx.damaged += found
    return read()


def _only_new(lake: Lake, site: str, days: list[date], rows: pa.Table) -> pa.Table:
    """The page's rows not landed yet, against the files of ``days`` as they are now."""
    return only_new(rows, landed_files(lake, site, days), source_is_import=False)


def land_window(ctx: RunContext, site: str, start: datetime, end: datetime,
                source: str) -> Counts:
    """Fetch ``[start, end)`` for ``site`` and land what is new, atomically."""
    counts = Counts()
    days = utc_dates(start, end)
    q_day = start.astimezone(UTC).date()
    q_days = utc_dates(start - timedelta(days=1), end)
    q_before = read_landed(ctx, site, q_days,
                           lambda: quarantined_before(ctx.lake, site, q_days))
    raw = PartitionWriter(ctx.lake, site, ctx.run_id, ctx.seq)
    bad = PartitionWriter(ctx.lake, site, ctx.run_id, ctx.seq, quarantine=True)
    try:
        pages = ctx.client.timeseries_pages(site, start, end, ctx.page_size)
        for page in prefetch(pages):
            ctx.first_page.set()
            counts.pages += 1
            if not page.rows:
                continue
            received = datetime.now(UTC)
            parsed = parse_page(page.texts, site=site, source=source, extracted_at=received,
                                run_id=ctx.run_id, window=(start, end))
            # what is landed already, read back for this page's keys alone, never for the
            # whole window (the files are listed each time: a damaged one is set aside)
            new = read_landed(ctx, site, days, partial(_only_new, ctx.lake, site, days,
                                                       parsed.good))
            new_bad = only_new_bad(parsed.bad, q_before)
            raw.write(new)
            bad.write(new_bad, q_day)
            counts.fetched += page.rows
            counts.landed += new.num_rows
            counts.unchanged += parsed.good.num_rows - new.num_rows
            counts.quarantined += new_bad.num_rows
            counts.out_of_window += parsed.out_of_window
            trim_memory()
        committed = raw.commit() + bad.commit()
        counts.files = len(committed)
        refresh_committed(ctx.lake.root, committed)  # what status reads of the lake's size
    except BaseException:
        raw.abort()
        bad.abort()
        raise
    finally:
        ctx.first_page.set()
    if counts.quarantined:
        log.warning("%s: %d samples quarantined in %s..%s (see %s/quarantine)",
                    site, counts.quarantined, start, end, ctx.lake.root)
    if counts.out_of_window:
        log.info("%s: dropped %d samples at the end of the asked window %s..%s (the next "
                 "window lands them)",
                 site, counts.out_of_window, start, end)
    return counts


#: resident memory above which freed page buffers are handed back to the OS (see trim_memory)
TRIM_ABOVE_BYTES = 320 * 1024 * 1024
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_bytes() -> int | None:
    """This process's resident memory now (Linux), or None where that cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return None


def trim_memory() -> None:
    """Keep memory flat whatever the window: hand freed buffers back once it grows.

    Arrow's allocator keeps what pages freed, for the next page; handing it back after
    every page made the next one fault it all in again (a sixth of the run's time), so
    it is done only when the process holds more than ``TRIM_ABOVE_BYTES``.
    """
    rss = resident_bytes()
    if rss is None or rss > TRIM_ABOVE_BYTES:
        pa.default_memory_pool().release_unused()


_warm_ups: list[threading.Thread] = []


def warm_up_in_background() -> None:
    """Start :func:`extract.parsing.warm_up` in a daemon thread (call before the first request).

    The process waits for it at exit: a run that ends at once (the site list refused, say)
    would otherwise exit while the thread is inside DuckDB, and the C++ runtime aborts such
    a process (``terminate called without an active exception``, exit status 134).
    """
    thread = threading.Thread(target=warm_up, name="warm-up", daemon=True)
    if not _warm_ups:
        atexit.register(_join_warm_ups)
    _warm_ups.append(thread)
    thread.start()


def _join_warm_ups() -> None:
    for thread in _warm_ups:
        thread.join(timeout=30)


class Background:
    """Run ``fn`` in a thread; :meth:`join` waits and re-raises what it raised."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                fn()
            except BaseException as e:  # re-raised in the caller by join()
                self._error = e

        self._thread = threading.Thread(target=run, name="background", daemon=True)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


_ITEM, _DONE, _ERROR = range(3)


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a worker thread, at most ``depth`` items ahead of the consumer.

    While one page is parsed and written (DuckDB and Parquet release the GIL) the next is
    downloaded and decoded; the worker starts on a page only once the consumer has taken
    the one before, so at most ``depth + 1`` pages are in memory. Errors in the worker are
    raised in the consumer; when the consumer stops early, the worker closes its generator.
    """
    q: queue.Queue[tuple[int, Any]] = queue.Queue()
    room = threading.Semaphore(depth)
    stop = threading.Event()

    def work() -> None:
        it = iter(items)
        try:
            while True:
                while not room.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(it)
                except StopIteration:
                    q.put((_DONE, None))
                    return
                q.put((_ITEM, item))
        except BaseException as e:  # handed to the consumer, which re-raises it
            q.put((_ERROR, e))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = q.get()
            if kind == _DONE:
                return
            if kind == _ERROR:
                raise value
            room.release()
            yield value
            del value
    finally:
        stop.set()
        worker.join(timeout=30)


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
