"""Turn API pages and import files into Arrow tables of raw samples.

The three texts of a sample (name, time, value) become three Arrow string columns; all
parsing then happens column-wise in DuckDB (no Python object per parsed sample):

- ``ts``: a UTC instant with microsecond precision. The text must look like an ISO 8601
  date-time (``YYYY-MM-DD[T ]hh:mm[:ss[.ffffff]]`` with an optional ``Z`` or an offset
  ``±hh[:mm]`` of at most 14 hours);
  a naive time means UTC, offsets are honoured, digits past microseconds are truncated.
- ``value``: a double when the trimmed text is a plain decimal number and finite (zero is a
  value), null otherwise; ``value_raw`` keeps the text exactly as received.
- A sample whose time is missing or unparseable, or whose point name is empty, is not a
  raw row: it goes to quarantine with a ``reason``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc

TS = pa.timestamp("us", tz="UTC")

RAW_SCHEMA = pa.schema([
    ("site", pa.string()),
    ("point", pa.string()),
    ("ts", TS),
    ("value", pa.float64()),
    ("value_raw", pa.string()),
    ("source", pa.string()),
    ("extracted_at", TS),
    ("run_id", pa.string()),
])

QUARANTINE_SCHEMA = pa.schema([
    ("site", pa.string()),
    ("point", pa.string()),
    ("time_raw", pa.string()),
    ("value_raw", pa.string()),
    ("reason", pa.string()),
    ("source", pa.string()),
    ("extracted_at", TS),
    ("run_id", pa.string()),
    ("origin", pa.string()),
])

SOURCES = ("realtime", "backfill", "import")

TIME_RE = (r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
           r"([Zz]|[+-](0\d|1[0-4])(:?[0-5]\d)?)?")
NUMBER_RE = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"

_PARSE_SQL = f"""
with typed as (
    select
        name,
        time_text,
        value_text,
        case when regexp_full_match(trim(time_text), '{TIME_RE}')
             then try_cast(upper(trim(time_text)) as timestamptz) end as ts,
        case when regexp_full_match(trim(value_text), '{NUMBER_RE}')
             then try_cast(trim(value_text) as double) end as num
    from page
)
select
    name as point,
    ts,
    case when isfinite(num) then num end as value,
    value_text as value_raw,
    time_text as time_raw,
    case
        when name is null or trim(name) = '' then 'empty point name'
        when time_text is null or trim(time_text) = '' then 'missing time'
        when ts is null or not isfinite(ts) then 'unparseable time'
    end as reason
from typed
"""

_local = threading.local()


def duck() -> duckdb.DuckDBPyConnection:
    """A per-thread in-memory DuckDB connection pinned to UTC."""
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(":memory:")
        con.execute("set TimeZone = 'UTC'")
        _local.con = con
    return con


@dataclass
class Parsed:
    """A parsed batch: raw rows, quarantined rows, and how many fell outside the window."""

    good: pa.Table
    bad: pa.Table
    out_of_window: int = 0


def _text_column(values: Sequence[Any]) -> pa.Array:
    """Strings as received; a non-string JSON value keeps its JSON text."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(
            [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
            type=pa.string(),
        )


def columns_from_samples(samples: list[dict[str, Any]]) -> pa.Table:
    """API sample dicts -> a table of the three texts (name, time_text, value_text)."""
    return pa.table({
        "name": _text_column([s.get("name") for s in samples]),
        "time_text": _text_column([s.get("time") for s in samples]),
        "value_text": _text_column([s.get("value") for s in samples]),
    })


def parse_texts(
    texts: pa.Table,
    *,
    site: str | pa.Array,
    source: str,
    extracted_at: datetime,
    run_id: str,
    origin: str | pa.Array,
    window: tuple[datetime, datetime] | None = None,
) -> Parsed:
    """Parse a table with string columns ``name, time_text, value_text``.

    ``site`` and ``origin`` are one value for all rows or one per row. With ``window``,
    rows whose ts falls outside ``[start, end)`` are dropped and counted.
    """
    n = texts.num_rows
    con = duck().cursor()
    con.register("page", texts)
    try:
        out = con.execute(_PARSE_SQL).fetch_arrow_table()
    finally:
        con.unregister("page")
        con.close()
    ok = pc.is_null(out["reason"])
    sites = site if isinstance(site, pa.Array) else pa.repeat(pa.scalar(site, pa.string()), n)
    origins = origin if isinstance(origin, pa.Array) else pa.repeat(
        pa.scalar(origin, pa.string()), n)
    ext = pa.repeat(pa.scalar(extracted_at, TS), n)
    src = pa.repeat(pa.scalar(source, pa.string()), n)
    rid = pa.repeat(pa.scalar(run_id, pa.string()), n)
    ts = out["ts"].cast(TS)
    good = pa.table(
        [sites, out["point"], ts, out["value"], out["value_raw"], src, ext, rid],
        schema=RAW_SCHEMA,
    ).filter(ok)
    bad = pa.table(
        [sites, out["point"], out["time_raw"], out["value_raw"], out["reason"], src, ext, rid,
         origins],
        schema=QUARANTINE_SCHEMA,
    ).filter(pc.invert(ok))
    out_of_window = 0
    if window is not None and good.num_rows:
        start, end = window
        inside = pc.and_(pc.greater_equal(good["ts"], pa.scalar(start, TS)),
                         pc.less(good["ts"], pa.scalar(end, TS)))
        kept = good.filter(inside)
        out_of_window = good.num_rows - kept.num_rows
        good = kept
    return Parsed(good=good, bad=bad, out_of_window=out_of_window)


def parse_page(samples: list[dict[str, Any]], *, site: str, source: str,
               extracted_at: datetime, run_id: str,
               window: tuple[datetime, datetime]) -> Parsed:
    """One API page -> raw rows for ``window`` and quarantined rows."""
    origin = f"api {window[0].isoformat()}..{window[1].isoformat()}"
    return parse_texts(columns_from_samples(samples), site=site, source=source,
                       extracted_at=extracted_at, run_id=run_id, origin=origin, window=window)
