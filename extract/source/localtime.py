"""The time rules of imported files, on top of the parsing rules of ``parsing.py``.

- A text that names a time zone after a naive date-time (``2026-11-01 01:30:00
  America/New_York``) is a local time of that zone. A naive text is a local time of
  ``zone`` when one is given (``import --timezone ZONE``), and UTC otherwise, as for API
  samples. Texts with ``Z`` or an offset are instants whatever the zone.
- A local time that its zone's clocks showed twice (the hour repeated when they are set
  back) or never showed (the hour skipped when they are set forward) does not name one
  instant: the row is quarantined with the reason, never guessed.
- A time outside ``[earliest, latest)`` (default 2000-01-01 to now plus one day) is not a
  plausible sample: quarantined with the reason. This also keeps a 0001 or 9999 row from
  reaching the lake, where its date partition and its gap would be absurd.

Everything is column-wise (Arrow's ``assume_timezone``, once per zone named), so a file of
local times costs about what a file of UTC times does.
"""

from __future__ import annotations

import functools
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from .parsing import parse_columns

_LOCAL = r"\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
#: a date-time with no zone, no ``Z`` and no offset
NAIVE_RE = rf"^{_LOCAL}\s*$"
#: a naive date-time followed by a zone name (``America/New_York``, ``UTC``)
ZONED_RE = (rf"^(?P<local>{_LOCAL})\s+"
            r"(?P<zone>[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*)\s*$")

_NAIVE_TS = pa.timestamp("us")
#: no zone is ever this far from UTC: wall times further out than this beyond the
#: plausible range are out of it in every zone (and need no conversion)
_MAX_OFFSET = timedelta(days=1)


@functools.cache
def _zone_names() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones()}


def known_zone(name: str) -> str | None:
    """The IANA spelling of ``name`` (case-insensitive), or None when there is no such zone."""
    try:
        zoneinfo.ZoneInfo(name)
        return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return _zone_names().get(name.lower())


def _shift(t: datetime, by: timedelta) -> datetime:
    """``t + by``, held at the ends of datetime's range."""
    try:
        return t + by
    except OverflowError:
        if by > timedelta(0):
            return datetime.max.replace(tzinfo=UTC)
        return datetime.min.replace(tzinfo=UTC)


def _naive(t: datetime) -> pa.Scalar:
    return pa.scalar(t.astimezone(UTC).replace(tzinfo=None), _NAIVE_TS)


def _instants(wall: pa.Array, zone: str) -> tuple[pa.Array, pa.Array]:
    """(naive UTC instants, reason) for naive wall times of ``zone``."""
    n = len(wall)
    name = known_zone(zone)
    if name is None:
        return (pa.nulls(n, _NAIVE_TS),
                pa.repeat(pa.scalar(f"unknown time zone {zone!r}"), n))

    def at(ambiguous: str, nonexistent: str) -> pa.Array:
        a = pc.assume_timezone(wall, timezone=name, ambiguous=ambiguous,
                               nonexistent=nonexistent)
        return a.view(_NAIVE_TS)

    try:
        first, second, before_gap = (at("earliest", "latest"), at("latest", "latest"),
                                     at("earliest", "earliest"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a zone Arrow does not know
        return (pa.nulls(n, _NAIVE_TS),
                pa.repeat(pa.scalar(f"unknown time zone {zone!r}"), n))
    twice = pc.not_equal(first, second).fill_null(False)
    never = pc.not_equal(first, before_gap).fill_null(False)
    reason = pc.if_else(
        twice, pa.scalar(f"ambiguous local time in {name} (clocks set back: "
                         "it happened twice)"),
        pc.if_else(never, pa.scalar(f"nonexistent local time in {name} (clocks set "
                                    "forward: it never happened)"),
                   pa.scalar(None, pa.string())))
    return first, reason


@dataclass(frozen=True)
class TimeRules:
    """The import's time rules, applied as a ``refine`` step of ``parse_texts``."""

    earliest: datetime
    latest: datetime
    #: naive times are local times of this IANA zone; None: they are UTC
    zone: str | None = None

    def __call__(self, texts: pa.Table, out: dict[str, pa.Array]) -> dict[str, pa.Array]:
        times = _combined(texts["time_text"])
        ts, reason = out["ts"], out["reason"]
        n = len(times)
        zones = pa.nulls(n, pa.string())
        named = pc.extract_regex(times, ZONED_RE)
        has_named = pc.is_valid(named).fill_null(False)
        if n and pc.any(has_named).as_py():
            rows = pa.table({"name": texts["name"], "time_text": named.field("local"),
                             "value_text": texts["value_text"]}).filter(has_named)
            local = parse_columns(rows)
            ts = pc.replace_with_mask(ts, has_named, local["ts"])
            reason = pc.replace_with_mask(reason, has_named, local["reason"])
            zones = pc.replace_with_mask(zones, has_named,
                                         named.field("zone").filter(has_named))
        if self.zone is not None and n:
            naive = pc.match_substring_regex(times, NAIVE_RE).fill_null(False)
            zones = pc.if_else(naive, pa.scalar(self.zone), zones)
        lo, hi = _naive(self.earliest), _naive(self.latest)
        convert = pc.and_(pc.and_(pc.is_valid(zones), pc.is_null(reason)),
                          pc.and_(pc.greater_equal(ts, _naive(_shift(self.earliest,
                                                                     -_MAX_OFFSET))),
                                  pc.less(ts, _naive(_shift(self.latest, _MAX_OFFSET))))
                          ).fill_null(False)
        if n and pc.any(convert).as_py():
            for zone in pc.unique(zones.filter(convert)).to_pylist():
                mask = pc.and_(convert, pc.equal(zones, zone)).fill_null(False)
                z_ts, z_reason = _instants(ts.filter(mask), zone)
                ts = pc.replace_with_mask(ts, mask, z_ts)
                reason = pc.replace_with_mask(reason, mask, z_reason)
        fine = pc.is_null(reason)
        early = pc.and_(fine, pc.less(ts, lo)).fill_null(False)
        late = pc.and_(fine, pc.greater_equal(ts, hi)).fill_null(False)
        reason = pc.if_else(early, pa.scalar(
            f"time before {self.earliest:%Y-%m-%d %H:%M:%S}Z, the earliest plausible "
            "(EXTRACT_IMPORT_EARLIEST)"), reason)
        reason = pc.if_else(late, pa.scalar(
            "time later than now plus EXTRACT_IMPORT_AHEAD, not plausible"), reason)
        return {"ts": ts, "value": out["value"], "reason": reason}


def _combined(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col
