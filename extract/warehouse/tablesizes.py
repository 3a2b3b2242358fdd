"""The tables' sizes, measured once when a snapshot is published and recorded in it, so
that ``status`` reads them instead of measuring them on every call.

A table's size is the storage blocks holding its column segments times the block size
(``pragma_storage_info``; small tables share blocks, so they are over-counted). Measuring it
walks every segment of every row group: its cost grows with the history held, about
0.1 s per 10 M samples, and it needs the table's storage metadata in memory. ``status``
runs every few minutes; a snapshot is published once per run. So :func:`record` measures
the finished snapshot during the publish and writes the figures into it, in
``_publish.table_sizes`` (one row per table of ``main``: its rows and bytes when measured,
and when). :func:`read` reads them back, and :func:`measure` is the measurement itself,
which ``status`` falls back to for a file without a record (the build's own file, a
snapshot of an older version).

A record describes the file as it was when measured. A table whose row count is no longer
the recorded one has changed since (someone wrote to the file): its recorded size is then
reported "as of" the measurement, not as current.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..core.errors import first_line

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

SCHEMA = "_publish"  # the snapshot's own bookkeeping (snapdiff.SCHEMA), never a warehouse table
TABLE = "table_sizes"
#: a patched snapshot keeps a record younger than this (status reports it "as of" its time):
#: measuring costs about 0.1 s per 10 M samples, too much for every 5-minute publish
RECORD_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Size:
    name: str
    rows: int
    approx_bytes: int | None


@dataclass(frozen=True)
class Recorded:
    measured_at: datetime
    sizes: dict[str, Size]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_names(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    """The persistent tables of ``catalog.main``, by name."""
    return [str(r[0]) for r in con.execute(
        "select table_name from duckdb_tables() where database_name = ? "
        "and schema_name = 'main' and not temporary order by table_name", [catalog]
    ).fetchall()]


def measure(con: duckdb.DuckDBPyConnection, catalog: str,
            names: list[str] | None = None) -> dict[str, Size]:
    """Rows and bytes of every table of ``catalog.main`` (or of ``names``), now."""
    row = con.execute("select block_size from pragma_database_size() where database_name = ?",
                      [catalog]).fetchone()
    block_size = int(row[0]) if row and row[0] else None
    out: dict[str, Size] = {}
    for name in table_names(con, catalog) if names is None else names:
        ref = f"{_q(catalog)}.main.{_q(name)}"
        count = con.execute(f"select count(*) from {ref}").fetchone()
        blocks = con.execute(
            f"select count(distinct block_id) from pragma_storage_info({_lit(ref)}) "
            "where persistent and block_id >= 0").fetchone()
        out[name] = Size(name, int(count[0]) if count else 0,
                         int(blocks[0]) * block_size if blocks and blocks[0] is not None
                         and block_size else None)
    return out


def record(con: duckdb.DuckDBPyConnection, catalog: str,
           keep_younger_than: timedelta | None = None) -> Recorded:
    """Measure ``catalog`` (attached read-write, checkpointed) and record the figures in it,
    replacing any earlier record, then checkpoint it again. With ``keep_younger_than``, a
    record of that age or less that names every table is kept as it is (not measured)."""
    at = datetime.now(UTC)
    if keep_younger_than is not None:
        held = read(con, catalog)
        if (held is not None and at - held.measured_at <= keep_younger_than
                and set(table_names(con, catalog)) <= set(held.sizes)):
            return held
    sizes = measure(con, catalog)
    table = f"{_q(catalog)}.{SCHEMA}.{TABLE}"
    con.execute(f"create schema if not exists {_q(catalog)}.{SCHEMA}")
    con.execute(f"create table if not exists {table} (table_name varchar, rows bigint, "
                "approx_bytes bigint, measured_at timestamptz)")
    con.execute("begin")
    try:
        con.execute(f"delete from {table}")
        if sizes:
            con.executemany(f"insert into {table} values (?, ?, ?, ?)",
                            [[s.name, s.rows, s.approx_bytes, at] for s in sizes.values()])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute(f"checkpoint {_q(catalog)}")
    return Recorded(at, sizes)


def record_quietly(con: duckdb.DuckDBPyConnection, catalog: str,
                   keep_younger_than: timedelta | None = None) -> Recorded | None:
    """:func:`record`, a failure logged, not raised: without a record, status measures."""
    import duckdb

    try:
        return record(con, catalog, keep_younger_than)
    except duckdb.Error as e:
        log.warning("publish: the table sizes could not be recorded (%s); status will "
                    "measure them", first_line(e))
        return None


def read(con: duckdb.DuckDBPyConnection, catalog: str) -> Recorded | None:
    """The record in ``catalog``, or None when it has none (or an unreadable one)."""
    import duckdb

    try:
        rows = con.execute(
            f"select table_name, rows, approx_bytes, measured_at "
            f"from {_q(catalog)}.{SCHEMA}.{TABLE}").fetchall()
    except duckdb.CatalogException:
        return None
    if not rows:
        return None
    at = min(r[3] for r in rows)
    if not isinstance(at, datetime):
        return None
    return Recorded(at.astimezone(UTC),
                    {str(n): Size(str(n), int(r), None if b is None else int(b))
                     for n, r, b, _ in rows})
