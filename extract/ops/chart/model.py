"""What a value chart draws: a point's buckets as ``series()`` returned them, its unit and
zone, and where its line breaks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

MAX_POINTS = 1000  # series()'s default: rows per point at most (except at 1d)
MAX_SERIES = 12  # points in one chart
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#637939")


class ChartError(Exception):
    """The chart cannot be drawn: no snapshot, an unknown point, a bad output format."""


@dataclass(frozen=True)
class Bucket:
    """One row of ``series()``: a raw sample or a bucket starting at ``start``."""

    start: datetime
    avg: float | None
    min: float | None
    max: float | None
    n: int | None


@dataclass
class Series:
    """One point over ``[start, end)`` at the resolution ``series()`` chose."""

    site: str
    point: str
    unit: str | None
    timezone: str
    start: datetime
    end: datetime
    resolution: str = ""
    buckets: list[Bucket] = field(default_factory=list)
    gaps: list[tuple[datetime, datetime | None]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.site} / {self.point}"

    def bucket_end(self, b: Bucket) -> datetime:
        """Where the bucket ends: the sample itself at ``raw``, the next local midnight at a
        day resolution, else the start plus the resolution's width (``5min``, ``15min``,
        ``1h``, ...)."""
        if self.resolution in ("", "raw"):
            return b.start
        m = re.fullmatch(r"(\d+)\s*(min|h|d)", self.resolution)
        if m is None:
            return b.start
        count, unit = int(m.group(1)), m.group(2)
        if unit == "d":
            zone = ZoneInfo(self.timezone)
            day = b.start.astimezone(zone).date() + timedelta(days=count)
            return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(b.start.tzinfo)
        return b.start + timedelta(minutes=count) * (60 if unit == "h" else 1)

    def segments(self) -> list[list[Bucket]]:
        """The runs of buckets a line may join: a run ends at a bucket without a numeric
        value and wherever a gap of ``point_gaps`` lies between two consecutive buckets (it
        starts in the first, at or after its start and before its end, and ends no
        earlier than the start of the second)."""
        runs: list[list[Bucket]] = []
        current: list[Bucket] = []
        gaps = sorted(self.gaps, key=lambda g: g[0])  # a point's gaps never overlap
        i = 0
        for b in self.buckets:
            if b.avg is None:
                if current:
                    runs.append(current)
                current = []
                continue
            # gaps that ended before this bucket cannot lie between it and a later one
            while i < len(gaps) and _ends_before(gaps[i], b.start):
                i += 1
            if current and i < len(gaps) and self._starts_in(gaps[i][0], current[-1]):
                runs.append(current)
                current = []
            current.append(b)
        if current:
            runs.append(current)
        return runs

    def _starts_in(self, t: datetime, b: Bucket) -> bool:
        """Whether a gap starting at ``t`` starts in the bucket ``b`` (at its sample, raw)."""
        return t == b.start or b.start <= t < self.bucket_end(b)


def _ends_before(gap: tuple[datetime, datetime | None], t: datetime) -> bool:
    end = gap[1]
    return end is not None and end < t
