"""A settable UTC clock: the stand-in's idea of "now".

``Clock()`` follows real time; ``Clock(now=dt)`` is frozen at ``dt`` until moved with
:meth:`Clock.set` or :meth:`Clock.advance`. Advancing a real-time clock shifts it by an
offset and keeps it running. Every instant is timezone-aware UTC; naive datetimes are
rejected because in this domain they are bugs.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def require_aware(dt: datetime, what: str = "datetime") -> datetime:
    """Return ``dt`` converted to UTC; raise ``ValueError`` when it is naive."""
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {dt.isoformat()})")
    return dt.astimezone(UTC)


def to_us(dt: datetime, what: str = "datetime") -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    delta = require_aware(dt, what) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    """The aware UTC datetime ``us`` microseconds after the Unix epoch."""
    return EPOCH + timedelta(microseconds=int(us))


class Clock:
    """The stand-in's clock (thread-safe)."""

    def __init__(self, now: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._fixed: datetime | None = None if now is None else require_aware(now, "now")
        self._offset = timedelta(0)

    @property
    def is_real(self) -> bool:
        """True while the clock follows real time (possibly shifted by :meth:`advance`)."""
        with self._lock:
            return self._fixed is None

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return datetime.now(UTC) + self._offset

    def now_us(self) -> int:
        return to_us(self.now())

    def set(self, now: datetime) -> None:
        """Freeze the clock at ``now``."""
        fixed = require_aware(now, "now")
        with self._lock:
            self._fixed = fixed

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (a frozen clock stays frozen, a real one keeps running)."""
        with self._lock:
            if self._fixed is not None:
                self._fixed = self._fixed + delta
            else:
                self._offset = self._offset + delta

    def __repr__(self) -> str:
        kind = "real" if self.is_real else "fixed"
        return f"Clock({kind}, now={self.now().isoformat()})"
