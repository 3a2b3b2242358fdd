"""``python -m extract sql``: a small read-only SQL prompt on the published warehouse."""

from __future__ import annotations

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
        print("read-only session on the published warehouse; end statements with ';', "
              "Ctrl-D to leave. Tables: samples, samples_5min, samples_1h, samples_1d, "
              "point_gaps, data_quality_daily, points, sites.")
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
