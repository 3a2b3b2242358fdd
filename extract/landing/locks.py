"""Locks of the lake: per site, so extractors on different sites run at once.

Three kinds of ``flock`` locks (held by open file descriptors: a process that dies, even
by ``kill -9``, releases them):

- ``<lake>/.lock``, **shared** by every landing run (sync, backfill, import, gap repair,
  ``checkpoint --set``) for its whole length, and **exclusive** for whoever must have the
  lake to itself (:meth:`extract.landing.lake.Lake.lock`; an extractor of an older
  version takes it exclusively for its whole run, so old and new runs never overlap);
- ``<lake>/state/locks/<site>.lock``, exclusive, by the run that lands a site's data or
  writes its state (checkpoint, backfill progress, gap repair state, point digests): the
  same site twice fails at once with :class:`~extract.core.errors.LockHeld`;
- ``<lake>/.lakewide.lock``, exclusive, only for the length of lake-wide work (the /sites
  snapshot, the clean-up of temporary files, the lake check, the cold-tier move). It is
  tried, never waited for: when another run holds it, that part is skipped with a log
  line, and the sites' syncs go on.

A site's temporary files are removed when its lock is taken: no live run can own them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from ..core.errors import LockHeld

log = logging.getLogger(__name__)

#: the file locked shared by every landing run (and exclusively by a whole-lake holder)
LAKE_LOCK = ".lock"
#: the file locked only while lake-wide work is done
LAKE_WIDE_LOCK = ".lakewide.lock"
LOCKS_DIR = ("state", "locks")


def _holder_text() -> bytes:
    return (f"pid {os.getpid()} on {socket.gethostname()} since "
            f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}").encode()


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def _holder(fd: int) -> str:
    return os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"


def take(path: Path, *, shared: bool = False) -> int:
    """Lock ``path`` at once or raise LockHeld (one line naming the holder); the open
    descriptor is returned (closing it releases the lock). An exclusive holder writes who
    it is into the file, for the message another run prints."""
    fd = _open(path)
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise LockHeld(
            f"another extractor run holds {path} ({holder}); exiting without changes"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    if not shared:
        os.ftruncate(fd, 0)
        os.pwrite(fd, _holder_text(), 0)
    return fd


def try_take(path: Path) -> int | None:
    """Lock ``path`` exclusively if nobody holds it; None when somebody does."""
    try:
        return take(path)
    except LockHeld:
        return None


def site_lock_path(root: Path, site: str) -> Path:
    return root.joinpath(*LOCKS_DIR, f"{site}.lock")


class RunLocks:
    """The locks one landing run holds: the lake shared, then its sites, one by one.

    ``with RunLocks(root, on_site=cleanup) as locks: locks.site("a")``; everything is
    released on leaving the block. ``on_site(site)`` runs once a site's lock is taken.
    """

    def __init__(self, root: Path, on_site: Callable[[str], object] | None = None) -> None:
        self.root = root
        self._fds: list[int] = []
        self._sites: set[str] = set()
        self._on_site = on_site

    def __enter__(self) -> RunLocks:
        self.root.mkdir(parents=True, exist_ok=True)
        self._fds.append(take(self.root / LAKE_LOCK, shared=True))
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        for fd in reversed(self._fds):
            os.close(fd)
        self._fds.clear()
        self._sites.clear()

    def holds(self, site: str) -> bool:
        return site in self._sites

    def site(self, site: str) -> None:
        """Hold ``site``'s lock (at once, or LockHeld); taking it twice is a no-op."""
        if site in self._sites:
            return
        self._fds.append(take(site_lock_path(self.root, site)))
        self._sites.add(site)
        if self._on_site is not None:
            self._on_site(site)

    def sites(self, sites: list[str]) -> None:
        """Hold every one of ``sites`` (sorted, so two runs never wait on each other)."""
        for s in sorted(set(sites)):
            self.site(s)

    def try_site(self, site: str) -> bool:
        """Hold ``site``'s lock if it is free; False (nothing held) when it is not."""
        try:
            self.site(site)
        except LockHeld:
            return False
        return True

    @contextlib.contextmanager
    def lake_wide(self, what: str) -> Iterator[bool]:
        """Try the lake-wide lock for ``what``; yields False (and logs) when another run
        holds it, so the caller skips that part."""
        with lake_wide(self.root, what) as held:
            yield held


@contextlib.contextmanager
def lake_wide(root: Path, what: str) -> Iterator[bool]:
    """The lake-wide work lock, tried once: True while held, False (logged) when another
    run holds it."""
    path = root / LAKE_WIDE_LOCK
    fd = try_take(path)
    if fd is None:
        log.info("%s skipped: another run is doing the lake-wide work (%s)", what, path)
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)
