"""Axis ticks: the time axis in the site's local time (wall-clock steps, DST-aware), the
value axis on round numbers."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

#: tick steps of the time axis, in seconds; the first giving at most MAX_TICKS is used
TIME_STEPS = (60, 300, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
              86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 56 * 86400, 91 * 86400,
              182 * 86400, 364 * 86400)
MAX_TICKS = 8


def time_ticks(start: datetime, end: datetime, zone: str) -> list[tuple[datetime, str]]:
    """``(instant, label)`` of the time axis: local wall-clock times that are whole
    multiples of the step since local midnight (or local midnights every few days), inside
    ``[start, end]``. A local time that does not exist (a DST jump) is skipped, and one
    that occurs twice is ticked once."""
    tz = ZoneInfo(zone)
    span = max((end - start).total_seconds(), 1.0)
    step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), TIME_STEPS[-1])
    first = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    out: list[tuple[datetime, str]] = []
    day = first
    while day <= last:
        if step >= 86400:
            offsets = [0] if day.toordinal() % (step // 86400) == 0 else []
        else:
            offsets = list(range(0, 86400, step))
        for seconds in offsets:
            hour, minute = divmod(seconds // 60, 60)
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            t = local.astimezone(UTC)
            back = t.astimezone(tz)
            if (back.date(), back.hour, back.minute) != (day, hour, minute):
                continue  # does not exist in the zone
            if start <= t <= end and (not out or out[-1][0] != t):
                out.append((t, _label(local, step, out)))
        day += timedelta(days=1)
    return out


def _label(local: datetime, step: int, earlier: list[tuple[datetime, str]]) -> str:
    if step >= 28 * 86400:
        return f"{local:%Y-%m-%d}"
    if step >= 86400:
        return f"{local:%a %m-%d}"
    new_day = not earlier or _day(earlier[-1][0], local) != local.date()
    return f"{local:%m-%d %H:%M}" if new_day else f"{local:%H:%M}"


def _day(t: datetime, like: datetime) -> date:
    return t.astimezone(like.tzinfo).date()


def value_domain(values: list[float]) -> tuple[float, float, float]:
    """``(low, high, step)``: round bounds around the values and a tick step between them
    (about five ticks); a flat or empty series gets a unit-wide domain."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0, 0.2
    lo, hi = min(finite), max(finite)
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        pad = max(abs(hi) * 0.05, 0.5)
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return math.floor(lo / step) * step, math.ceil(hi / step) * step, step


def value_ticks(lo: float, hi: float, step: float) -> list[float]:
    n = round((hi - lo) / step)
    return [lo + k * step for k in range(n + 1)]


def fmt_value(v: float, step: float) -> str:
    """A tick value with as many decimals as the step needs (2.5 -> one, 0.25 -> two)."""
    decimals = next((d for d in range(10)
                     if abs(round(step, d) - step) <= 1e-9 * max(1.0, abs(step))), 10)
    return f"{v:.{decimals}f}"
