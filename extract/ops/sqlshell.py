"""``python -m extract sql``: a read-only SQL prompt on the published warehouse.

Input is split into statements at each ``;`` outside quotes, dollar-quoted strings and
comments, and each statement is handed to DuckDB whole, as written (so every statement
DuckDB accepts runs, ``PIVOT`` included, which DuckDB rewrites into several). A line
starting with ``.`` between statements is a prompt command (``.mode``, ``.maxrows``,
``.tables``, ``.help``, ``.quit``), never part of a statement. Results are written as an
aligned table (names and values never cut; at most ``max_rows`` rows), CSV, JSON (an array
of objects per result) or Markdown; the last three stream every row.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import re
import sys
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from ..warehouse.publish import connect_current

if TYPE_CHECKING:  # duckdb is imported when a statement runs: the CLI loads this module
    import duckdb

FORMATS = ("table", "csv", "json", "markdown")
COMMAND_HELP = "open a read-only SQL session on the published warehouse"
FETCH = 10_000
QUIET = frozenset({"set", "reset", "attach", "detach", "use", "checkpoint", "load",
                   "install", "begin", "commit", "rollback", "abort", "start", "end"})
HELP = """\
.mode [table|csv|json|markdown]  show or set the output format
.maxrows N                      rows shown per result as a table (0: all)
.tables                         the tables and views
.help                           this text
.quit                           leave (or Ctrl-D)
Statements end with ';'. Tables: samples, timeseries, samples_5min, samples_1h, samples_1d,
point_gaps, data_quality_daily, points, sites; macros series(), find_points()."""


def split_statements(text: str) -> tuple[list[str], str]:
    """The complete statements of ``text`` (each without its ``;``) and the unfinished rest.

    A ``;`` ends a statement only outside '...', "...", $tag$...$tag$, -- and /* */."""
    done: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "'\"":
            end = text.find(c, i + 1)
            while end != -1 and end + 1 < n and text[end + 1] == c:  # a doubled quote
                end = text.find(c, end + 2)
            i = n if end == -1 else end + 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif c == "$" and (tag := _dollar_tag(text, i)):
            end = text.find(tag, i + len(tag))
            i = n if end == -1 else end + len(tag)
        elif c == ";":
            if text[start:i].strip():
                done.append(text[start:i].strip())
            start = i = i + 1
        else:
            i += 1
    return done, text[start:]


def _dollar_tag(text: str, i: int) -> str | None:
    end = text.find("$", i + 1)
    if end == -1:
        return None
    tag = text[i:end + 1]
    return tag if tag == "$$" or tag[1:-1].isidentifier() else None


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    return str(value).replace("\n", "\\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def _rows(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    while batch := con.fetchmany(FETCH):
        yield from batch


class Output:
    """Writes each result in the current format to ``out``."""

    def __init__(self, fmt: str = "table", max_rows: int = 40, out: IO[str] | None = None):
        self.fmt, self.max_rows, self.out = fmt, max_rows, out or sys.stdout

    def result(self, names: Sequence[str], types: Sequence[str],
               rows: Iterator[tuple[Any, ...]]) -> None:
        getattr(self, "_" + self.fmt)(list(names), list(types), rows)
        self.out.flush()

    def _table(self, names: list[str], types: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        shown: list[list[str]] = []
        total = 0
        for row in rows:
            total += 1
            if self.max_rows <= 0 or total <= self.max_rows:
                shown.append([_cell(v) for v in row])
        widths = [max([len(h), *(len(r[k]) for r in shown)]) for k, h in enumerate(names)]
        right = [t.split("(")[0] in _NUMERIC for t in types]

        def line(cells: Sequence[str]) -> str:
            parts = [c.rjust(w) if r else c.ljust(w)
                     for c, w, r in zip(cells, widths, right, strict=True)]
            return " | ".join(parts).rstrip()

        w = self.out.write
        w(line(names) + "\n")
        w("-+-".join("-" * x for x in widths) + "\n")
        for r in shown:
            w(line(r) + "\n")
        more = f", {len(shown)} shown (.maxrows or --max-rows)" if len(shown) < total else ""
        w(f"({total} row{'' if total == 1 else 's'}{more})\n")

    def _csv(self, names: list[str], _types: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        writer = csv.writer(self.out, lineterminator="\n")
        writer.writerow(names)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])

    def _json(self, names: list[str], _types: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        w = self.out.write
        w("[")
        for k, row in enumerate(rows):
            obj = orjson.dumps(dict(zip(names, row, strict=True)), default=_json_default)
            w(("," if k else "") + "\n" + obj.decode())
        w("\n]\n")

    def _markdown(self, names: list[str], types: list[str],
                  rows: Iterator[tuple[Any, ...]]) -> None:
        def esc(v: Any) -> str:
            return _cell(v).replace("|", "\\|")

        w = self.out.write
        w("| " + " | ".join(esc(n) for n in names) + " |\n")
        w("|" + "|".join("---:" if t.split("(")[0] in _NUMERIC else "---" for t in types)
          + "|\n")
        for row in rows:
            w("| " + " | ".join(esc(v) for v in row) + " |\n")


_NUMERIC = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                      "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
                      "DECIMAL"})


def run_statement(con: duckdb.DuckDBPyConnection, sql: str, output: Output) -> bool:
    """One statement, its result (if it has one) written; False (and a message) on error."""
    import duckdb

    try:
        con.execute(sql)
        desc = con.description
        if desc is None:
            return True
        first = sql.split(None, 1)[0].lower() if sql.split() else ""
        if first in QUIET and [d[0] for d in desc] == ["Success"]:
            con.fetchall()
            return True
        output.result([str(d[0]) for d in desc], [str(d[1]) for d in desc], _rows(con))
        return True
    except duckdb.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return False


class Session:
    """Lines in, statements and dot commands out; remembers the format between them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, output: Output) -> None:
        self.con, self.output, self.buf, self.ok, self.done = con, output, "", True, False

    @property
    def pending(self) -> bool:
        return bool(self.buf.strip())

    def feed(self, line: str) -> None:
        if not self.pending and line.lstrip().startswith("."):
            self.ok = self.dot(line.strip()) and self.ok
            return
        statements, self.buf = split_statements(self.buf + line + "\n")
        for sql in statements:
            self.ok = run_statement(self.con, sql, self.output) and self.ok

    def finish(self) -> None:
        """Run what is left without a closing ';'."""
        if self.pending:
            rest, self.buf = self.buf, ""
            self.ok = run_statement(self.con, rest.strip(), self.output) and self.ok

    def dot(self, command: str) -> bool:
        name, *args = command.split()
        if name == ".mode":
            if not args:
                print(self.output.fmt)
            elif args[0] in FORMATS:
                self.output.fmt = args[0]
            else:
                return _fail(f".mode {args[0]}: expected one of {', '.join(FORMATS)}")
        elif name == ".maxrows" and len(args) == 1 and args[0].isdigit():
            self.output.max_rows = int(args[0])
        elif name == ".tables":
            return run_statement(self.con, "select table_name, table_type from "
                                 "information_schema.tables order by table_name", self.output)
        elif name == ".help":
            print(HELP)
        elif name in (".quit", ".exit", ".q"):
            self.done = True
        else:
            return _fail(f"{command}: unknown command (.help lists them)")
        return True


def _fail(message: str) -> bool:
    print(f"error: {message}", file=sys.stderr)
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
            f".help for commands, Ctrl-D to leave. Tables: {tables}.")


def shell(published_dir: Path, command: str | None, *, max_rows: int = 40,
          fmt: str = "table") -> int:
    """Statements on the newest snapshot in ``published_dir``: those of ``command``, or those
    read from the terminal or stdin; 0 when all ran, 1 when one failed, 2 with no snapshot."""
    try:
        con = connect_current(published_dir)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    session = Session(con, Output(fmt, max_rows))
    if command is not None:
        for line in command.splitlines():
            session.feed(line)
    else:
        _read(session)
    session.finish()
    con.close()
    return 0 if session.ok else 1


def _read(session: Session) -> None:
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        print(banner(session.con))
    while not session.done:
        try:
            line = input("...> " if session.pending else "sql> ") if interactive \
                else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        session.feed(line.rstrip("\n"))


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Runs SQL against published/current.duckdb (the newest snapshot; PUBLISHED_DIR "
        "moves it): every statement DuckDB accepts. With -c, runs its statements and "
        "exits; otherwise reads statements ending in ';' from the terminal or stdin. A line "
        "starting with '.' is a prompt command (.mode table|csv|json|markdown, .maxrows N, "
        ".tables, .help, .quit).")
    p.add_argument("-c", "--command", dest="sql", metavar="SQL",
                   help="run these statements (and dot-command lines) and exit")
    p.add_argument("--format", dest="fmt", default="table", choices=FORMATS,
                   help="output format (default table; csv, json and markdown give every row)")
    p.add_argument("--max-rows", type=int, default=40,
                   help="rows shown per result as a table (40; 0 shows all)")


def run(args: argparse.Namespace, published_dir: Path) -> int:
    return shell(published_dir, args.sql, max_rows=args.max_rows, fmt=args.fmt)
