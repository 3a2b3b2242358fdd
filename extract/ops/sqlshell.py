"""``python -m extract sql``: a small read-only SQL prompt on the published warehouse."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import duckdb

from ..warehouse.publish import connect_current


def _run(con: duckdb.DuckDBPyConnection, sql: str, max_rows: int) -> bool:
    try:
        for statement in duckdb.extract_statements(sql):
            rel = con.sql(statement.query)
            if rel is not None:
                rel.show(max_rows=max_rows)
        return True
    except duckdb.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return False


_GRAIN = re.compile(r"samples_(\d+)(min|h|d)")
_UNIT_SECONDS = {"min": 60, "h": 3600, "d": 86400}


def ladder_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The aggregate ladder's tables in this warehouse (samples_5min, samples_15min, ...),
    finest first: read from the warehouse, so a grain added as a model shows up here."""
    names = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'main'"
    ).fetchall()]
    found = [(m, n) for n in names if (m := _GRAIN.fullmatch(n))]
    found.sort(key=lambda item: int(item[0].group(1)) * _UNIT_SECONDS[item[0].group(2)])
    return [n for _m, n in found]


def banner(con: duckdb.DuckDBPyConnection) -> str:
    tables = ", ".join(["samples", *ladder_tables(con), "point_gaps", "data_quality_daily",
                        "points", "sites"])
    return ("read-only session on the published warehouse; end statements with ';', "
            f"Ctrl-D to leave. Tables: {tables}.")


def shell(published_dir: Path, command: str | None, *, max_rows: int = 40) -> int:
    """Statements on the newest snapshot in ``published_dir``: one (``command``) or those
    read from the terminal or stdin; 0 when all ran, 1 when one failed, 2 with no snapshot."""
    try:
        con = connect_current(published_dir)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if command is not None:
        return 0 if _run(con, command, max_rows) else 1
    interactive = sys.stdin.isatty()
    if interactive:
        print(banner(con))
    buf: list[str] = []
    ok = True
    while True:
        try:
            prompt = "sql> " if not buf else "...> "
            line = input(prompt) if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        buf.append(line)
        text = "\n".join(buf).strip()
        if text.endswith(";"):
            ok = _run(con, text, max_rows) and ok
            buf = []
    if "".join(buf).strip():
        ok = _run(con, "\n".join(buf), max_rows) and ok
    return 0 if ok else 1
