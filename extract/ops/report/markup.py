"""Small HTML helpers shared by the page and its charts: escaping, colours, number and
time formats."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from .model import COVERAGE_BINS, NO_DATA_COLOUR


def e(value: object) -> str:
    """HTML-escape text or an attribute value (quotes included)."""
    return html.escape(str(value), quote=True)


def css_class(status: str) -> str:
    """A status as a CSS class suffix ("runtime error" -> "runtime-error")."""
    return "".join(c if c.isalnum() else "-" for c in status)


def coverage_colour(coverage: float | None) -> str:
    if coverage is None:
        return NO_DATA_COLOUR
    for upper, colour, _label in COVERAGE_BINS:
        if coverage < upper:
            return colour
    return COVERAGE_BINS[-1][1]


def fmt_utc(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_iso(t: datetime) -> str:
    """An exact ISO 8601 UTC instant for data attributes (microseconds only when present)."""
    t = t.astimezone(UTC)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{t.microsecond:06d}Z" if t.microsecond else f"{text}Z"


def fmt_duration(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def fmt_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def shorten(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def label_width(labels: Sequence[str]) -> int:
    longest = max((len(shorten(s)) for s in labels), default=10)
    return int(min(max(longest * 6.6 + 16, 120), 440))


#: segments of a point name that name no equipment (BACnet driver paths and the like)
FILLER_SEGMENTS = frozenset({"c", "drivers", "driver", "bacnetnetwork", "bacnet", "network",
                             "points", "point", "devices", "device"})


def shorten_left(text: str, limit: int = 64) -> str:
    """The end of a long text, which is where point names differ."""
    return text if len(text) <= limit else "\u2026" + text[-(limit - 1):]


def equipment_of(site: str, point: str) -> str:
    """The point's equipment: the nearest segment of the name (split at ``/`` and ``.``)
    before the last one that is not a driver path word or the site; '' when none is.
    :func:`.summary.equipment_sql` is its SQL twin (the per-equipment summaries)."""
    parts = [p for p in re.split(r"[/.]", point) if p]
    return next((p for p in reversed(parts[:-1])
                 if p.lower() not in FILLER_SEGMENTS and p != site), "")


def row_label(site: str, point: str, *, with_site: bool) -> str:
    """What tells a point apart: the equipment (the nearest segment before the last that is
    not a driver path word or the site) and the last segment of the name, split at ``/``
    and ``.``; with the site in front when the rows are of several sites."""
    parts = [p for p in re.split(r"[/.]", point) if p]
    if not parts:
        return f"{site}: {point}" if with_site else point
    equipment = equipment_of(site, point)
    core = f"{equipment} / {parts[-1]}" if equipment else parts[-1]
    return f"{site}: {core}" if with_site else core


def row_labels(keys: Sequence[tuple[str, str]]) -> list[str]:
    """The labels of chart rows: :func:`row_label`, or the end of the full name where two
    rows would read the same."""
    several = len({site for site, _ in keys}) > 1
    labels = [row_label(site, point, with_site=several) for site, point in keys]
    seen = Counter(labels)
    return [shorten(label) if seen[label] == 1 else shorten_left(f"{site} / {point}")
            for (site, point), label in zip(keys, labels, strict=True)]
