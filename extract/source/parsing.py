"""Turn API pages and import files into Arrow tables of raw samples.

The three texts of a sample (name, time, value) become three Arrow string columns, and
are parsed column-wise, with no Python object per sample. Arrow casts settle the usual
shapes. The rules below are DuckDB's, as written in ``_TIME_SQL`` and ``_VALUE_SQL``, and
DuckDB applies them to every row the casts do not settle; the two agree on every row
(``tests/test_parsing.py``):

- ``ts``: a UTC instant with microsecond precision. The text must look like an ISO 8601
  date-time (``YYYY-MM-DD[T ]hh:mm[:ss[.ffffff]]`` with an optional ``Z`` or an offset
  ``±hh[:mm]`` of at most 14 hours);
  a naive time means UTC, offsets are honoured, digits past microseconds are truncated.
- ``value``: a double when the text (surrounding white space allowed) is a decimal number,
  optionally with an exponent, and finite (zero is a value); null otherwise (``NaN``,
  ``inf``, ``''``, ``1_000``, ``0x10``, ``1,5``...); ``value_raw`` keeps the text exactly.
- A sample whose time is missing or unparseable, or whose point name is empty, is not a
  raw row: it goes to quarantine with a ``reason``. So does a sample of an API page whose
  time is outside the window asked for (``time outside the requested window``), but for
  one at exactly the window's end, which the next window lands.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..core.duck import query
from ..core.schema import QUARANTINE_SCHEMA, RAW_SCHEMA, TS
from .pages import decode_page

#: a time text must start with a date and an hour:minute (DuckDB's cast does the rest)
TIME_PREFIX_RE = r"^\s*\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}"
#: a zone offset beyond +-14:59 does not exist
BAD_OFFSET_RE = r"[+-](1[5-9]|[2-9]\d):?\d\d\s*$"
BLANK_RE = r"^\s*$"

# The general path, in DuckDB, for the rows the fast path below does not settle. Measured
# on 100,000-sample pages (CPU ms, one thread): a plain TIMESTAMP cast is 4 ms where
# TIMESTAMPTZ is 11, so the zone-aware cast is kept for texts that carry an offset, and
# cheap character checks run before any regex.
_TIME_SQL = f"""
with typed as (
    select
        time_text,
        contains(substr(time_text, 17), '+') or contains(substr(time_text, 17), '-')
            as has_offset,
        name is null or name = ''
            or (ascii(name) <= 32 and regexp_matches(name, '{BLANK_RE}')) as blank_name
    from page
),
cast_times as (
    select
        *,
        case
            when has_offset then cast(try_cast(time_text as timestamptz) as timestamp)
            else coalesce(try_cast(time_text as timestamp),
                          cast(try_cast(upper(trim(time_text)) as timestamptz) as timestamp))
        end as ts_cast
    from typed
),
checked as (
    select
        *,
        case when ts_cast is not null
              and isfinite(ts_cast)
              and (substr(time_text, 14, 1) = ':'
                   or regexp_matches(time_text, '{TIME_PREFIX_RE}'))
              and not (has_offset and regexp_matches(time_text, '{BAD_OFFSET_RE}'))
             then ts_cast end as ts
    from cast_times
)
select
    ts,
    case
        when blank_name then 'empty point name'
        when ts is null and (time_text is null or regexp_matches(time_text, '{BLANK_RE}'))
            then 'missing time'
        when ts is null then 'unparseable time'
    end as reason
from checked
"""

# DuckDB's cast also takes '1_000' and '+-1', which are not numbers as sent
_VALUE_SQL = """
select case when strpos(value_text, '_') = 0 and strpos(value_text, '+-') = 0
            then try_cast(value_text as double) end as value
from page
"""

#: the quarantine reason of a sample the API sent for a time outside the asked window
OUTSIDE_WINDOW = "time outside the requested window"


@dataclass
class Parsed:
    """A parsed batch: raw rows, quarantined rows, and how many were dropped at the window's
    end (``out_of_window``: the next window's to land)."""

    good: pa.Table
    bad: pa.Table
    out_of_window: int = 0


def _naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None)


_NAIVE_TS = pa.timestamp("us")
#: time texts Arrow's cast settles exactly as the general path would: the API's two usual
#: shapes, naive with microseconds (26 characters) and the same with ``Z`` (27). Arrow's
#: ISO 8601 cast is strict (a field out of range, a lower-case ``t`` or a zone where none
#: is expected fails it); whatever it does not take goes to the general path.
_FAST_TIME_SHAPES = ((26, None, _NAIVE_TS), (27, "Z", pa.timestamp("us", tz="UTC")))
#: the smallest piece a failing fast cast is split into before its rows go the general way
_FAST_MIN_PIECE = 2048


def _as_array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array (without a copy when there is one chunk: combine_chunks always copies)."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def _cast_pieces(texts: pa.Array, to: pa.DataType) -> tuple[pa.Array, pa.Array]:
    """Cast ``texts`` to naive UTC timestamps where Arrow's all-or-nothing cast succeeds.

    A failing array is halved until the pieces that fail are at most ``_FAST_MIN_PIECE``
    rows; their rows come back null and not ok. Returns (timestamps, ok).
    """
    try:
        cast = pc.cast(texts, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(texts) <= _FAST_MIN_PIECE:
            return pa.nulls(len(texts), _NAIVE_TS), pa.repeat(pa.scalar(False), len(texts))
        half = len(texts) // 2
        a_ts, a_ok = _cast_pieces(texts.slice(0, half), to)
        b_ts, b_ok = _cast_pieces(texts.slice(half), to)
        return pa.concat_arrays([a_ts, b_ts]), pa.concat_arrays([a_ok, b_ok])
    return cast.view(_NAIVE_TS), pa.repeat(pa.scalar(True), len(texts))


def _fast_times(times: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(naive UTC timestamps, settled) for every row; unsettled rows are null."""
    n = len(times)
    ts = pa.nulls(n, _NAIVE_TS)
    settled = pa.repeat(pa.scalar(False), n)
    lengths = pc.binary_length(times)
    for length, suffix, to in _FAST_TIME_SHAPES:
        shape = pc.equal(lengths, length)
        if suffix is not None:
            shape = pc.and_(shape, pc.ends_with(times, suffix))
        shape = shape.fill_null(False)
        if not pc.any(shape).as_py():
            continue
        part_ts, part_ok = _cast_pieces(times.filter(shape), to)
        ts = pc.replace_with_mask(ts, shape, part_ts)
        settled = pc.replace_with_mask(settled, shape, part_ok)
    return ts, settled


def _maybe_blank_names(names: pa.Array) -> pa.Array:
    """Names that may be blank: null, empty, or starting with a character <= space.

    A cheap superset of ``BLANK_RE``'s matches (its white space is ASCII, all <= space);
    the general path decides.
    """
    first = pc.utf8_slice_codeunits(names, 0, 1)
    return pc.less_equal(first, pa.scalar(" ")).fill_null(True)


def _values(values: pa.Array) -> pa.Array:
    """The double of each value text that is a finite number, else null.

    Arrow's cast (fast, all-or-nothing) takes the usual texts; a page with anything it
    refuses (white space, ``1_000``...) is cast by the general path instead. Both agree
    on every text Arrow takes (``tests/test_parsing.py`` checks them against each other).
    """
    no_empty = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    try:
        num = pc.cast(no_empty, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        num = _as_array(query(_VALUE_SQL, page=pa.table({"value_text": values}))["value"])
    return pc.if_else(pc.is_finite(num), num, pa.scalar(None, pa.float64()))


def _parse_columns(texts: pa.Table, *, general_only: bool = False) -> dict[str, pa.Array]:
    """``ts`` (naive UTC), ``value`` and ``reason`` for each row of ``texts``, in order.

    Rows in the API's usual shapes are settled by Arrow casts (a few ms per 100,000 rows);
    the rest (odd times, blank names) by ``_TIME_SQL`` in DuckDB. ``general_only`` sends
    every row the general way (for tests comparing the two).
    """
    n = texts.num_rows
    names = _as_array(texts["name"])
    times = _as_array(texts["time_text"])
    values = _as_array(texts["value_text"])
    if general_only:
        ts = pa.nulls(n, _NAIVE_TS)
        general = pa.repeat(pa.scalar(True), n)
        num = _as_array(query(_VALUE_SQL, page=pa.table({"value_text": values}))["value"])
        value = pc.if_else(pc.is_finite(num), num, pa.scalar(None, pa.float64()))
    else:
        ts, settled = _fast_times(times)
        general = pc.or_(pc.invert(settled), _maybe_blank_names(names))
        value = _values(values)
    reason = pa.nulls(n, pa.string())
    if n and pc.any(general).as_py():
        rows = pa.table({"name": names, "time_text": times}).filter(general)
        out = query(_TIME_SQL, page=rows)
        ts = pc.replace_with_mask(ts, general, _as_array(out["ts"]).cast(_NAIVE_TS))
        reason = pc.replace_with_mask(reason, general, _as_array(out["reason"]))
    return {"ts": ts, "value": value, "reason": reason}


def parse_columns(texts: pa.Table) -> dict[str, pa.Array]:
    """``ts`` (naive UTC), ``value`` and ``reason`` of each row of ``texts``, in order."""
    return _parse_columns(texts)


#: a further check of parsed rows: (texts, parsed columns) -> parsed columns, in order
Refine = Callable[[pa.Table, dict[str, pa.Array]], dict[str, pa.Array]]

#: at most this many runs of kept rows are kept as slices (see _keep_rows)
_MAX_SLICES = 256


def _keep_rows(table: pa.Table, keep: pa.Array) -> pa.Table:
    """``table.filter(keep)``, as zero-copy slices when the dropped rows are few.

    A page usually drops a few dozen rows (quarantined or outside the window) out of
    100,000: the kept runs become chunks of the same buffers instead of a copy of every
    point name (10 MB a page, copied again by the next step otherwise).
    """
    mask = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    if mask.all():
        return table
    edges = np.flatnonzero(np.diff(np.concatenate(([False], mask, [False])).astype(np.int8)))
    starts, stops = edges[0::2], edges[1::2]
    if len(starts) > _MAX_SLICES:
        return table.filter(keep)
    if not len(starts):
        return table.slice(0, 0)
    return pa.concat_tables([table.slice(a, b - a) for a, b in zip(starts, stops, strict=True)])


def parse_texts(
    texts: pa.Table,
    *,
    site: str | pa.Array,
    source: str,
    extracted_at: datetime,
    run_id: str,
    origin: str | pa.Array,
    window: tuple[datetime, datetime] | None = None,
    refine: Refine | None = None,
) -> Parsed:
    """Parse a table with string columns ``name, time_text, value_text``.

    ``site`` and ``origin`` are one value for all rows or one per row. With ``window``,
    only rows whose ts falls inside ``[start, end)`` are raw rows: a row at exactly ``end``
    (the API may treat ``end_time`` as inclusive; the next window lands it) is dropped and
    counted in ``out_of_window``; any other row outside the window (the API has sent 1970
    and 2099 for a 2026 window) is quarantined with the reason :data:`OUTSIDE_WINDOW`.
    ``refine`` may change the parsed times and give more rows a quarantine reason (the
    import's time rules, ``source/localtime.py``).
    """
    n = texts.num_rows
    out = _parse_columns(texts)
    if refine is not None:
        out = refine(texts, out)
    reason = out["reason"]
    is_bad = pc.is_valid(reason)
    keep = pc.invert(is_bad)
    if window is not None:
        # naive UTC timestamps here; the zone is put back below
        start, end = (pa.scalar(_naive_utc(t), _NAIVE_TS) for t in window)
        inside = pc.and_(pc.greater_equal(out["ts"], start), pc.less(out["ts"], end)
                         ).fill_null(False)
        at_end = pc.equal(out["ts"], end).fill_null(False)
        stray = pc.and_(keep, pc.invert(pc.or_(inside, at_end)))
        if n and pc.any(stray).as_py():
            reason = pc.if_else(stray, pa.scalar(OUTSIDE_WINDOW), reason)
            is_bad = pc.or_(is_bad, stray)
        keep = pc.and_(pc.invert(is_bad), inside)
    n_good_all = n - pc.sum(is_bad.cast(pa.int64())).as_py() if n else 0
    # the string columns come from the input as they are; one filter pass keeps the good
    # rows inside the window
    both = pa.table({"point": texts["name"], "ts": out["ts"], "value": out["value"],
                     "value_raw": texts["value_text"], "time_raw": texts["time_text"],
                     "reason": reason})
    good_rows = _keep_rows(both.select(["point", "ts", "value", "value_raw"]), keep)
    out_of_window = n_good_all - good_rows.num_rows
    bad_rows = both.filter(is_bad)
    del out, both

    def consts(m: int, sites: pa.Array | None) -> dict[str, pa.Array]:
        return {
            "site": sites if sites is not None else pa.repeat(pa.scalar(site, pa.string()), m),
            "source": pa.repeat(pa.scalar(source, pa.string()), m),
            "extracted_at": pa.repeat(pa.scalar(extracted_at, TS), m),
            "run_id": pa.repeat(pa.scalar(run_id, pa.string()), m),
        }

    site_arr = site if isinstance(site, pa.Array) else None
    origin_arr = origin if isinstance(origin, pa.Array) else None
    g = consts(good_rows.num_rows,
               None if site_arr is None else site_arr.filter(keep))
    good = pa.table({**g, "point": good_rows["point"], "ts": good_rows["ts"].cast(TS),
                     "value": good_rows["value"], "value_raw": good_rows["value_raw"]}
                    ).select(RAW_SCHEMA.names).cast(RAW_SCHEMA)
    b = consts(bad_rows.num_rows, None if site_arr is None else site_arr.filter(is_bad))
    bad = pa.table({
        **b, "point": bad_rows["point"], "time_raw": bad_rows["time_raw"],
        "value_raw": bad_rows["value_raw"], "reason": bad_rows["reason"],
        "origin": origin_arr.filter(is_bad) if origin_arr is not None else pa.repeat(
            pa.scalar(origin, pa.string()), bad_rows.num_rows),
    }).select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA)
    return Parsed(good=good, bad=bad, out_of_window=out_of_window)


_WARM_UP_PAGE = orjson.dumps({"point_samples": [
    {"name": "warm-up/a", "value": "1.5", "time": "2026-01-01T00:00:00.000001"},
    {"name": "warm-up/b", "value": None, "time": "2026-01-01T00:00:00.000002Z"},
    {"name": "", "value": "", "time": "not a time"},
], "next_cursor": None, "has_more": False})
_warmed = threading.Event()


def warm_up() -> None:
    """Decode and parse one tiny page, once per process.

    The first page through each path pays for first use (numpy and Arrow kernels, the
    DuckDB database and its first plan): measured on a 100,000-sample page, 135 ms to
    decode and 95 ms to parse the first time, 39 and 21 ms after this 30 ms warm-up.
    Run in a thread while the first requests are answered, it costs nothing on the way.
    """
    if _warmed.is_set():
        return
    _warmed.set()
    decoded = decode_page(_WARM_UP_PAGE)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    parse_page(decoded.texts, site="warm-up", source="realtime", extracted_at=at,
               run_id="warm-up", window=(at, at + timedelta(days=1)))


def parse_page(texts: pa.Table, *, site: str, source: str, extracted_at: datetime,
               run_id: str, window: tuple[datetime, datetime]) -> Parsed:
    """One API page's texts -> raw rows for ``window`` and quarantined rows."""
    origin = f"api {window[0].isoformat()}..{window[1].isoformat()}"
    return parse_texts(texts, site=site, source=source, extracted_at=extracted_at,
                       run_id=run_id, origin=origin, window=window)
