"""Reading one import file into text columns, row by row.

A Parquet or CSV file becomes a table of texts ``site, name, time_text, value_text, line``
(in file order) and, for a CSV file, the lines that are not rows of the header's shape: a
ragged row (too many or too few fields) or a row with bytes that are not UTF-8. Those are
kept as received (the line's own bytes, with ``\\xNN`` escapes for bytes that are not
UTF-8) with the reason, to be quarantined: one bad row never refuses the whole file.

``line`` is the row's line in the file (the header is line 1): exact for files without
blank lines or quoted line breaks (DuckDB gives no line numbers of good rows: they are
counted, skipping the lines it set aside, so each of those shifts the rows after it).
A Parquet file's first row is "line 2" too, as if it had been exported with a header.
"""

from __future__ import annotations

import itertools
import mmap
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..core.duck import cursor
from ..core.errors import InputError, first_line

if TYPE_CHECKING:
    import duckdb

POINT_COLS = ("point", "name", "point_name")
TIME_COLS = ("ts", "time", "timestamp", "time_raw")
VALUE_COLS = ("value", "value_raw")

_scan_ids = itertools.count(1)
_COLUMNS_MSG = re.compile(r"Expected Number of Columns:\s*(\d+)\s*Found:\s*(\d+)")


@dataclass
class FileTexts:
    """One file's rows as texts, and the CSV lines that are not rows."""

    #: site, name, time_text, value_text (strings) and line (int64), in file order
    texts: pa.Table
    #: line (int64), text (the line as received) and reason (strings)
    rejected: pa.Table


def _pick(cols: list[str], wanted: tuple[str, ...], what: str, path: Path) -> str:
    lower = {c.lower(): c for c in cols}
    for w in wanted:
        if w in lower:
            return lower[w]
    raise InputError(f"{path}: no {what} column (looked for {', '.join(wanted)}; "
                     f"found {', '.join(cols) or 'none'})")


def _kind(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return "parquet"
    if suffix.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return "csv"
    raise InputError(f"{path}: unknown file type (expected .parquet, .csv or .csv.gz)")


def read_file(path: Path, site: str | None) -> FileTexts:
    """The rows of ``path`` as texts; an InputError when the file as a whole is unusable."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    kind = _kind(path)
    n = next(_scan_ids)
    rejects, scans = f"import_rejects_{n}", f"import_scans_{n}"
    rel = ("read_parquet($path)" if kind == "parquet" else
           "read_csv($path, all_varchar = true, header = true, store_rejects = true, "
           f"rejects_table = '{rejects}', rejects_scan = '{scans}')")
    con = cursor()
    try:
        try:
            cols = [d[0] for d in con.execute(
                f"select * from {rel} limit 0", {"path": str(path)}).description]
        except Exception as e:  # duckdb raises many types for unreadable files
            raise InputError(f"{path}: cannot be read: {first_line(e)}") from None
        p = _pick(cols, POINT_COLS, "point", path)
        t = _pick(cols, TIME_COLS, "time", path)
        v = _pick(cols, VALUE_COLS, "value", path)
        lower = {c.lower(): c for c in cols}
        params: dict[str, object] = {"path": str(path)}
        if "site" in lower:
            site_sql = f'cast("{lower["site"]}" as varchar)'
        elif site:
            site_sql, params["site"] = "$site", site
        else:
            raise InputError(f"{path}: no site column; pass --site for a file of one site")
        sql = f"""
            select {site_sql} as site, cast("{p}" as varchar) as name,
                   cast("{t}" as varchar) as time_text, cast("{v}" as varchar) as value_text
            from {rel}
        """
        try:
            table = con.execute(sql, params).fetch_arrow_table()
            rejected = (_rejected(con, rejects, path) if kind == "csv"
                        else _no_rejects())
        except Exception as e:
            raise InputError(f"{path}: cannot be read: {first_line(e)}") from None
    finally:
        con.close()
    lines = _good_lines(table.num_rows, rejected["line"].to_numpy())
    return FileTexts(texts=table.append_column("line", pa.array(lines, pa.int64())),
                     rejected=rejected)


def _no_rejects() -> pa.Table:
    return pa.table({"line": pa.array([], pa.int64()), "text": pa.array([], pa.string()),
                     "reason": pa.array([], pa.string())})


def _good_lines(n: int, rejected: np.ndarray) -> np.ndarray:
    """The line of each of ``n`` good rows: lines 2, 3, ... except the rejected ones."""
    lines = np.arange(2, n + len(rejected) + 2, dtype=np.int64)
    if len(rejected):
        lines = lines[~np.isin(lines, rejected)]
    return lines[:n]


def _reason(error_type: str, message: str) -> str:
    if error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        m = _COLUMNS_MSG.search(message or "")
        if m:
            return f"ragged row: {m.group(2)} fields where the header has {m.group(1)}"
        return f"ragged row: {message}"
    if error_type == "INVALID ENCODING":
        return r"bytes that are not UTF-8 (kept as \xNN escapes)"
    return f"unreadable CSV row ({error_type.lower()}): {(message or '').splitlines()[0]}"


def _rejected(con: duckdb.DuckDBPyConnection, rejects: str, path: Path) -> pa.Table:
    """The lines DuckDB's CSV reader set aside, one per line, with the line as received."""
    rows = con.execute(
        f"""
        select line, any_value(line_byte_position order by column_idx) as at,
               any_value(cast(error_type as varchar) order by column_idx) as error_type,
               any_value(csv_line order by column_idx) as csv_line,
               any_value(error_message order by column_idx) as message
        from {rejects} group by line order by line
        """).fetchall()
    if not rows:
        return _no_rejects()
    texts = _raw_lines(path, [r[1] for r in rows], [r[3] for r in rows])
    return pa.table({
        "line": pa.array([int(r[0]) for r in rows], pa.int64()),
        "text": pa.array(texts, pa.string()),
        "reason": pa.array([_reason(r[2], r[4]) for r in rows], pa.string()),
    })


def _raw_lines(path: Path, starts: list[int | None], fallback: list[str | None]
               ) -> list[str | None]:
    """Each line's own bytes from ``path`` (a compressed file: DuckDB's copy of it)."""
    if path.suffix.lower() == ".gz" or path.stat().st_size == 0:
        return fallback
    out: list[str | None] = []
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        for start, text in zip(starts, fallback, strict=True):
            if start is None:
                out.append(text)
                continue
            # DuckDB's position may be one past the line's first byte: find the line
            begin = mm.rfind(b"\n", 0, max(start, 1)) + 1
            end = mm.find(b"\n", begin)
            raw = mm[begin:end if end >= 0 else len(mm)].rstrip(b"\r")
            out.append(raw.decode("utf-8", "backslashreplace"))
    return out
