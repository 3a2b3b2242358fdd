"""The export itself: one site's points over a time range to a CSV or Parquet file.

Reads a warehouse opened read-only (by default the published snapshot). Rows are streamed:
the range is cut into time windows of about :data:`WINDOW_ROWS` rows (from the points'
collect intervals, or the bucket width), each window is one query ordered by time and
point whose Arrow record batches go straight to a ``pyarrow`` Parquet or CSV writer, so
memory depends on the window, never on the range. The file is written under a temporary
name beside ``--out`` and renamed when complete: a failed export leaves no partial file.

Resolutions (docs/analysts.md, "Export"):

- ``raw``: every sample of ``timeseries`` (hot and cold tiers) with ``start <= ts < end``;
- ``5min``, ``15min``, ``1h``: the rows of ``samples_<res>`` whose UTC-aligned bucket
  overlaps ``[start, end)``; ``1d``: the rows of ``samples_1d`` for the site's local days
  overlapping it; all columns the table has;
- ``auto``: what series() picks for its default ``max_points`` (1000) for the busiest
  selected point (series() is asked): raw when its samples fit, else the finest grain of
  the ladder whose buckets fit, else 1d.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ...core.errors import InputError, first_line

#: bucket width in seconds of each bucketed resolution, and its table
BUCKETS: dict[str, tuple[int, str]] = {
    "5min": (300, "samples_5min"),
    "15min": (900, "samples_15min"),
    "1h": (3600, "samples_1h"),
    "1d": (86400, "samples_1d"),
}
RESOLUTIONS = ("raw", *BUCKETS, "auto")
FORMATS = ("csv", "parquet")
AUTO_MAX_POINTS = 1000  # series()'s default max_points
WINDOW_ROWS = 50_000  # rows per windowed query (about); bounds the export's memory
BATCH_ROWS = 16_384
RAW_COLUMNS = "value, value_raw"


@dataclass
class ExportResult:
    path: Path
    format: str
    resolution: str
    points: int
    rows: int


def format_for(out: Path, fmt: str | None) -> str:
    """The output format: ``fmt`` if given, else from the file's suffix (csv by default)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise InputError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
        return fmt
    return "parquet" if out.suffix.lower() in (".parquet", ".pq") else "csv"


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> Any:
    row = con.execute(sql, params).fetchone()
    return row[0] if row else None


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(_one(con, "select count(*) from information_schema.tables "
                          "where table_name = ?", [name]))


def _site_zone(con: duckdb.DuckDBPyConnection, site: str) -> str:
    zone = _one(con, "select timezone from sites where site = ?", [site])
    if zone is None:
        known = [r[0] for r in con.execute("select site from sites order by site limit 6")
                 .fetchall()]
        raise InputError(f"--site {site!r}: no such site in the warehouse (sites: "
                         f"{', '.join(known) or 'none'}{', ...' if len(known) > 5 else ''})")
    return str(zone)


def select_points(con: duckdb.DuckDBPyConnection, site: str, points: list[str] | None,
                  pattern: str | None) -> list[tuple[str, int]]:
    """The selected points of ``site`` with their collect intervals, by name."""
    rows = con.execute(
        "select point, collect_interval from points where site = ? order by point", [site]
    ).fetchall()
    interval = {str(p): int(i or 60) for p, i in rows}
    if points:
        missing = [p for p in points if p not in interval]
        if missing:
            raise InputError(f"--point {missing[0]!r}: no such point at site {site!r} "
                             "(find_points(pattern := ...) lists them)")
        return [(p, interval[p]) for p in dict.fromkeys(points)]
    if pattern is None or not pattern:
        raise InputError("give --point or a non-empty --pattern")
    found = [(p, i) for p, i in interval.items() if pattern.lower() in p.lower()]
    if not found:
        raise InputError(f"--pattern {pattern!r}: no point of site {site!r} matches")
    return found


def choose_resolution(con: duckdb.DuckDBPyConnection, site: str, points: list[str],
                      start: datetime, end: datetime) -> str:
    """What series() picks for its default ``max_points`` (1000) for the busiest of
    ``points`` (the most samples in the 5-minute buckets overlapping the range): asked of
    series() itself, so the export follows its rule and the ladder's grains as they are;
    raw when the range holds no sample."""
    row = con.execute("""
        select b.point from samples_5min b
        where b.site = ? and b.point in (select unnest(cast(? as varchar[])))
          and b.bucket_start > cast(? as timestamptz) - interval 5 minute
          and b.bucket_start < cast(? as timestamptz)
        group by b.point order by sum(b.n_total) desc, b.point limit 1""",
                      [site, points, start.isoformat(), end.isoformat()]).fetchone()
    if row is None:
        return "raw"
    chosen = con.execute(
        "select resolution from series(?, ?, cast(? as timestamptz), cast(? as timestamptz), "
        f"max_points := {AUTO_MAX_POINTS}) limit 1",
        [site, row[0], start.isoformat(), end.isoformat()]).fetchone()
    return "raw" if chosen is None else str(chosen[0])


def _windows(lo: datetime, hi: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    at = lo
    while at < hi:
        nxt = min(at + step, hi)
        yield at, nxt
        at = nxt


def _plan(resolution: str, points: list[tuple[str, int]]) -> timedelta:
    """The width of one windowed query, for about WINDOW_ROWS rows."""
    if resolution == "raw":
        rate = sum(1 / max(i, 1) for _, i in points)  # samples per second
        floor = 60
    else:
        width = BUCKETS[resolution][0]
        rate, floor = len(points) / width, width
    seconds = max(floor, int(WINDOW_ROWS / rate) // floor * floor)
    return timedelta(seconds=seconds)


def _query(con: duckdb.DuckDBPyConnection, resolution: str) -> str:
    """The windowed query: parameters site, zone, points, window start, window end."""
    if resolution == "raw":
        return f"""
            select t.ts as ts_utc, timezone(z.tz, t.ts) as ts_local, z.tz as timezone,
                   t.site, t.point, {RAW_COLUMNS}
            from timeseries t, (select cast(? as varchar) as tz) z
            where t.site = ? and t.point in (select unnest(cast(? as varchar[])))
              and t.ts >= cast(? as timestamptz) and t.ts < cast(? as timestamptz)
            order by t.ts, t.point"""
    table = BUCKETS[resolution][1]
    cols = [str(r[0]) for r in con.execute(f"describe {table}").fetchall()]
    rest = ", ".join(f'b."{c}"' for c in cols if c not in ("site", "point", "bucket_start"))
    return f"""
        select b.bucket_start as bucket_start_utc,
               timezone(z.tz, b.bucket_start) as bucket_start_local, z.tz as timezone,
               b.site, b.point, {rest}
        from {table} b, (select cast(? as varchar) as tz) z
        where b.site = ? and b.point in (select unnest(cast(? as varchar[])))
          and b.bucket_start >= cast(? as timestamptz)
          and b.bucket_start < cast(? as timestamptz)
        order by b.bucket_start, b.point"""


def first_bucket(con: duckdb.DuckDBPyConnection, resolution: str, zone: str,
                 start: datetime) -> datetime:
    """The start of the bucket holding ``start``: UTC-aligned, or the local midnight."""
    if resolution == "raw":
        return start
    if resolution == "1d":
        sql = ("select timezone(?, cast(cast(timezone(?, cast(? as timestamptz)) as date) "
               "as timestamp))")
        value = _one(con, sql, [zone, zone, start.isoformat()])
    else:
        sql = "select time_bucket(to_seconds(?), cast(? as timestamptz), 'UTC')"
        value = _one(con, sql, [BUCKETS[resolution][0], start.isoformat()])
    return value if isinstance(value, datetime) else start


def _span(con: duckdb.DuckDBPyConnection, site: str, points: list[str], start: datetime,
          end: datetime) -> tuple[datetime, datetime] | None:
    """``[start, end)`` narrowed to the points' first and last samples (``points``), so that
    a range far wider than the data costs no empty windows; None when nothing overlaps."""
    row = con.execute(
        "select min(first_sample_ts), max(last_sample_ts) from points "
        "where site = ? and point in (select unnest(cast(? as varchar[])))",
        [site, points]).fetchone()
    first, last = row if row else (None, None)
    if not isinstance(first, datetime) or not isinstance(last, datetime):
        return None
    if first >= end or last < start:
        return None
    return max(start, first), min(end, last + timedelta(microseconds=1))


class _Writer:
    """A Parquet or CSV writer opened on the first batch's schema."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self._w: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def write(self, reader: pa.RecordBatchReader) -> int:
        if self._w is None:
            self._w = (pq.ParquetWriter(self.path, reader.schema, compression="zstd")
                       if self.fmt == "parquet" else pacsv.CSVWriter(self.path, reader.schema))
        n = 0
        for batch in reader:
            if batch.num_rows:
                self._w.write_batch(batch)
                n += batch.num_rows
        return n

    def close(self) -> None:
        if self._w is not None:
            self._w.close()


def _open_out(out: Path) -> Path:
    """A temporary file beside ``out``, created now so an unwritable place fails first."""
    if out.is_dir():
        raise InputError(f"--out {out}: is a directory")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.touch()
    except OSError as e:
        raise InputError(f"--out {out}: cannot write there ({e.strerror or e})") from None
    return tmp


def export(con: duckdb.DuckDBPyConnection, *, site: str, points: list[str] | None,
           pattern: str | None, start: datetime, end: datetime, resolution: str,
           out: Path, fmt: str | None = None) -> ExportResult:
    """Write the selected rows to ``out``; :class:`InputError` for bad input."""
    if resolution not in RESOLUTIONS:
        raise InputError(f"--resolution {resolution!r}: expected one of "
                         f"{', '.join(RESOLUTIONS)}")
    fmt = format_for(out, fmt)
    if start >= end:
        raise InputError(f"--start {start.isoformat()} is not before --end {end.isoformat()}")
    con.execute("set TimeZone = 'UTC'")
    zone = _site_zone(con, site)
    chosen = select_points(con, site, points, pattern)
    names = [p for p, _ in chosen]
    if resolution == "auto":
        resolution = choose_resolution(con, site, names, start, end)
    table = "timeseries" if resolution == "raw" else BUCKETS[resolution][1]
    if not _has_table(con, table):
        raise InputError(f"--resolution {resolution}: this warehouse has no table {table} "
                         "(built before it was added? export from a newer build)")
    sql = _query(con, resolution)
    tmp = _open_out(out)
    writer = _Writer(tmp, fmt)
    rows = 0
    try:
        span = _span(con, site, names, start, end)
        windows = [] if span is None else _windows(
            first_bucket(con, resolution, zone, span[0]), span[1], _plan(resolution, chosen))
        for a, b in windows:
            params = [zone, site, names, a.isoformat(), b.isoformat()]
            rows += writer.write(con.execute(sql, params).fetch_record_batch(BATCH_ROWS))
        if rows == 0:  # nothing in range: still a file with the columns
            empty = [zone, site, names, end.isoformat(), end.isoformat()]
            writer.write(con.execute(sql, empty).fetch_record_batch(BATCH_ROWS))
        writer.close()
        os.replace(tmp, out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    return ExportResult(out, fmt, resolution, len(names), rows)


def connect_readonly(warehouse: Path | None, published_dir: Path) -> duckdb.DuckDBPyConnection:
    """``warehouse`` opened read-only, else the newest published snapshot."""
    from ...warehouse.publish import connect_current

    try:
        if warehouse is None:
            return connect_current(published_dir)
        if not warehouse.is_file():
            raise InputError(f"--warehouse {warehouse}: no such file")
        return duckdb.connect(str(warehouse), read_only=True)
    except FileNotFoundError as e:
        raise InputError(str(e)) from None
    except duckdb.Error as e:
        raise InputError(f"cannot open the warehouse: {first_line(e)}") from None
