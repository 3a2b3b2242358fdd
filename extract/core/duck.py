"""The extractor's one in-memory DuckDB (pinned to UTC) and a helper for queries over Arrow
tables registered by name."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb

_duck_lock = threading.Lock()
_duck: duckdb.DuckDBPyConnection | None = None


def duck() -> duckdb.DuckDBPyConnection:
    """The process's in-memory DuckDB, pinned to UTC; use a ``cursor()`` of it per thread.

    The settings are the database's (``SET GLOBAL``): a cursor is a connection of its own
    and does not inherit session settings, so a session time zone would leave every
    cursor on the machine's local zone (and shift the times that carry an offset).
    """
    global _duck
    with _duck_lock:
        if _duck is None:
            import duckdb  # here, not at the top: ~40 ms a sync start-up need not wait for

            con = duckdb.connect(":memory:")
            con.execute("set global TimeZone = 'UTC'")
            # one thread: pages are small, and the page being downloaded and decoded
            # meanwhile needs the other core
            con.execute("set global threads = 1")
            _duck = con
        return _duck


def cursor() -> duckdb.DuckDBPyConnection:
    """A new cursor of :func:`duck`, for one thread's use."""
    con = duck()
    with _duck_lock:
        return con.cursor()


def query(sql: str, params: dict[str, Any] | None = None, **tables: pa.Table) -> pa.Table:
    """Run ``sql`` on a new :func:`cursor` with Arrow ``tables`` registered by name."""
    con = cursor()
    for name, table in tables.items():
        con.register(name, table)
    try:
        return con.execute(sql, params or {}).fetch_arrow_table()
    finally:
        for name in tables:
            con.unregister(name)
        con.close()
