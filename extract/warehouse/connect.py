"""The main job's connections to the warehouse file.

The main job runs ``dbt build`` in-process, and dbt-duckdb keeps its connection to the
warehouse file open afterwards. DuckDB lets a process open one file several times only
with the same configuration, so every other step of the job (gap repair, the gap counts
of the summary, the cold-tier move) connects the same way: read-write, no options. The
main job is the warehouse's only writer (analysts read published snapshots).
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file, compatible with dbt's open one; UTC session."""
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")
    return con


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute("select count(*) from information_schema.tables "
                      "where table_schema = 'main' and table_name = ?", [name]).fetchone()
    return bool(row and row[0])
