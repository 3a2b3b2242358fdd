"""Small HTML helpers shared by the page and its charts: escaping, colours, number and
time formats."""

from __future__ import annotations

import html
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
