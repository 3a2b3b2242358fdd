"""Bring a published snapshot up to date with the warehouse by rewriting only what changed.

A snapshot made by :mod:`.publish` carries, in its schema ``_publish``, the row groups of the
warehouse's tables as they were when it last equalled the warehouse (``row_groups``: per
table and row group its first row id, its row count, a signature of its storage and the
range of the table's time column it holds) and a signature of the views and macros
(``state``). DuckDB stores a table in row groups of up to 122,880 rows. A build appends its
new rows in new row groups and never rewrites a row group it does not touch: an unchanged
signature (the row group's segments: blocks, offsets, counts, compression, statistics) means
unchanged rows, except for rows deleted since (deletes do not show in the storage).

So, per table, against the warehouse's current row groups:

* **changed**: every row group whose signature is new. Its rows are read (rows in that
  row-id range only) to get, per key (the columns before the time column, e.g. site and
  point), the range of the time column it holds; every row group that is gone gives its
  recorded range (all keys). In the snapshot, the rows in those boxes are deleted, and the
  warehouse's rows in them inserted. A replaced row (dbt's delete+insert) has the key and
  time of its replacement, so its deletion is covered by the new row's box.
* **deleted without replacement**: a count alone misses them when the same build also
  inserted rows, so small changed tables and ``point_gaps`` are compared whole
  (``COMPARED_WHOLE``), and rows older than the warehouse's oldest (the cold-tier move) are
  trimmed; the large tables left only replace rows on key and time. If counts still differ,
  the UTC days whose counts differ are replaced whole, else the whole table is copied.

All of it runs in one transaction on the snapshot, with ``_publish`` updated in the same
transaction, so a snapshot is always exactly the warehouse its ``_publish`` describes. A
table without a time column is copied whole when any of its row groups changed. When the
tables' names or columns change, or an object other than a table, view or macro appears,
the caller makes a full copy instead (:class:`NeedsCopy`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb

log = logging.getLogger(__name__)

SCHEMA = "_publish"
#: the column types a table's time column may have, and how a UTC day bucket is taken
TIME_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP", "DATE", "TIMESTAMP_NS",
              "TIMESTAMP_MS", "TIMESTAMP_S"}
#: a patch that would rewrite more than this share of the rows is a full copy instead
COPY_SHARE = 0.5
#: a changed table of at most this many rows is compared whole (cheap, exact whatever it deletes)
SMALL_ROWS = 1_000_000
#: compared whole when changed at any size: point_gaps' strategy deletes gaps without successors
COMPARED_WHOLE = frozenset({"point_gaps"})


class NeedsCopy(Exception):
    """The snapshot cannot be patched into the warehouse (names, columns or object kinds
    changed, no manifest, or most rows changed): make a full copy."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, type) in order

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"

    def ref(self, catalog: str) -> str:
        return f"{q(catalog)}.{q(self.schema)}.{q(self.name)}"

    @property
    def time_column(self) -> str | None:
        return next((c for c, t in self.columns if t in TIME_TYPES), None)


@dataclass(frozen=True)
class RowGroup:
    start: int
    total: int
    sig: str
    lo: Any = None     # the time column's range in the row group (a superset)
    hi: Any = None
    has_null: bool = True
    known: bool = True  # False: no usable statistics (the whole table is replaced)

    @property
    def ident(self) -> tuple[int, str]:
        """What a row group is, wherever it is: a vacuum that removes an earlier row group
        moves the later ones' row ids without rewriting them."""
        return (self.total, self.sig)


@dataclass
class PatchResult:
    tables_changed: list[str] = field(default_factory=list)
    rows_deleted: int = 0
    rows_inserted: int = 0
    schema_replayed: bool = False


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, Table]:
    """The catalog's tables (``_publish`` left out) with their columns in order."""
    rows = con.execute(
        "select c.schema_name, c.table_name, "
        "list([c.column_name, c.data_type] order by c.column_index) "
        "from duckdb_columns() as c join duckdb_tables() as t "
        "on t.database_name = c.database_name and t.schema_name = c.schema_name "
        "and t.table_name = c.table_name "
        "where c.database_name = ? and c.schema_name <> ? and not t.temporary "
        "group by all order by all", [catalog, SCHEMA]).fetchall()
    out = {}
    for schema, name, cols in rows:
        t = Table(str(schema), str(name), tuple((str(c), str(ty)) for c, ty in cols))
        out[t.key] = t
    return out


def schema_signature(con: duckdb.DuckDBPyConnection, catalog: str) -> tuple[str, bool]:
    """A digest of the views and macros, and whether only those (and tables) exist."""
    parts = con.execute(
        "select 'view', schema_name, view_name, sql from duckdb_views() "
        "where database_name = ? and not internal "
        "union all select 'macro', schema_name, function_name, "
        "concat_ws('|', function_type, parameters::varchar, macro_definition) "
        "from duckdb_functions() where database_name = ? and not internal "
        "and function_type in ('macro', 'table_macro') order by all",
        [catalog, catalog]).fetchall()
    others = con.execute(
        "select (select count(*) from duckdb_sequences() where database_name = $1) "
        "+ (select count(*) from duckdb_indexes() where database_name = $1) "
        "+ (select count(*) from duckdb_types() where database_name = $1 and not internal)",
        [catalog]).fetchone()
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return digest, not (others and others[0])


def row_groups(con: duckdb.DuckDBPyConnection, catalog: str, table: Table) -> list[RowGroup]:
    """The table's row groups now, with the time column's range from the statistics."""
    tcol = table.time_column
    tcol_id = [c for c, _ in table.columns].index(tcol) if tcol else -1
    ttype = dict(table.columns).get(tcol or "", "VARCHAR")
    rows = con.execute(f"""
        with info as (select * from pragma_storage_info('{table.ref(catalog).replace("'", "''")}')),
        parsed as (
            select row_group_id, column_id, column_path, segment_id, start, count, stats,
                   concat_ws('|', column_path, segment_id, count, compression,
                             persistent, has_updates, block_id, block_offset,
                             additional_block_ids, stats, segment_info) as part,
                   regexp_extract(stats, '^\\[Min: (.*), Max: (.*)\\]\\[', ['lo', 'hi']) as mm,
                   column_id = $1 and column_path = '[' || $1 || ']' as is_time
            from info)
        select row_group_id, min(start), max(start + count) - min(start),
               md5(string_agg(part, ';' order by column_path, segment_id)),
               min(try_cast(mm.lo as {ttype})) filter (is_time),
               max(try_cast(mm.hi as {ttype})) filter (is_time),
               bool_or(stats not like '%Has Null: false%') filter (column_id = $1),
               bool_or(mm.lo = '' or (try_cast(mm.lo as {ttype}) is null and mm.lo <> 'NULL'))
                   filter (is_time)
        from parsed group by row_group_id order by 2""", [tcol_id]).fetchall()
    return [RowGroup(int(start), int(total), str(sig), lo, hi, bool(nulls),
                     known=not unknown and (lo is not None or bool(nulls)))
            for _, start, total, sig, lo, hi, nulls, unknown in rows]


def create_manifest(con: duckdb.DuckDBPyConnection, pub: str) -> None:
    con.execute(f"create schema if not exists {q(pub)}.{SCHEMA}")
    con.execute(f"create table if not exists {q(pub)}.{SCHEMA}.row_groups (table_key varchar, "
                "start bigint, total bigint, sig varchar, lo varchar, hi varchar, "
                "has_null boolean, known boolean)")
    con.execute(f"create table if not exists {q(pub)}.{SCHEMA}.state (warehouse varchar, "
                "schema_sig varchar, run_id varchar, published_at timestamptz, mode varchar)")


def write_manifest(con: duckdb.DuckDBPyConnection, pub: str, table: Table,
                   groups: Sequence[RowGroup]) -> None:
    con.execute(f"delete from {q(pub)}.{SCHEMA}.row_groups where table_key = ?", [table.key])
    if groups:
        con.executemany(
            f"insert into {q(pub)}.{SCHEMA}.row_groups values (?, ?, ?, ?, ?, ?, ?, ?)",
            [[table.key, g.start, g.total, g.sig, None if g.lo is None else _text(g.lo),
              None if g.hi is None else _text(g.hi), g.has_null, g.known] for g in groups])


def _text(value: Any) -> str:
    """A time value as text that casts back to the same value (UTC for instants)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def write_state(con: duckdb.DuckDBPyConnection, pub: str, warehouse: str, schema_sig: str,
                run_id: str, mode: str) -> None:
    con.execute(f"delete from {q(pub)}.{SCHEMA}.state")
    con.execute(f"insert into {q(pub)}.{SCHEMA}.state values (?, ?, ?, now(), ?)",
                [warehouse, schema_sig, run_id, mode])


def read_state(con: duckdb.DuckDBPyConnection, pub: str) -> tuple[str, str] | None:
    try:
        row = con.execute(f"select warehouse, schema_sig from {q(pub)}.{SCHEMA}.state"
                          ).fetchone()
    except duckdb.CatalogException:
        return None
    return (str(row[0]), str(row[1])) if row else None


def read_manifest(con: duckdb.DuckDBPyConnection, pub: str,
                  table: Table) -> list[RowGroup]:
    ttype = dict(table.columns).get(table.time_column or "", "VARCHAR")
    rows = con.execute(
        f"select start, total, sig, cast(lo as {ttype}), cast(hi as {ttype}), has_null, known "
        f"from {q(pub)}.{SCHEMA}.row_groups where table_key = ? order by start",
        [table.key]).fetchall()
    return [RowGroup(int(s), int(t), str(g), lo, hi, bool(n), bool(k))
            for s, t, g, lo, hi, n, k in rows]


def _count(con: duckdb.DuckDBPyConnection, ref: str) -> int:
    row = con.execute(f"select count(*) from {ref}").fetchone()
    return int(row[0]) if row else 0


def sync_region(con: duckdb.DuckDBPyConnection, wh: str, pub: str, table: Table,
                where: str, params: list[Any], result: PatchResult) -> None:
    """Make the snapshot's rows matching ``where`` (over alias ``t``) equal the warehouse's,
    writing only the rows that differ: both sides are read, the snapshot's rows that the
    warehouse no longer has are deleted and the warehouse's that it lacks are inserted."""
    match = " and ".join(f"p.{q(c)} is not distinct from w.{q(c)}" for c, _ in table.columns)
    wh_rows = f"(select * from {table.ref(wh)} as t where {where}) as w"
    pub_rows = f"(select rowid as _publish_rid, * from {table.ref(pub)} as t where {where}) as p"
    con.execute(f"create or replace temp table _publish_new as select w.* from {wh_rows} "
                f"anti join {pub_rows} on {match}", params + params)
    con.execute(f"create or replace temp table _publish_old as select p._publish_rid as rid "
                f"from {pub_rows} anti join {wh_rows} on {match}", params + params)
    deleted = con.execute(f"delete from {table.ref(pub)} where rowid in "
                          "(select rid from _publish_old)").fetchone()
    inserted = con.execute(f"insert into {table.ref(pub)} select * from _publish_new").fetchone()
    con.execute("drop table _publish_new")
    con.execute("drop table _publish_old")
    result.rows_deleted += int(deleted[0]) if deleted else 0
    result.rows_inserted += int(inserted[0]) if inserted else 0
    log.debug("publish: %s: %s rows out, %s in where %s %s", table.key,
              deleted and deleted[0], inserted and inserted[0], where, params)


def _copy_all(con: duckdb.DuckDBPyConnection, wh: str, pub: str, table: Table,
              result: PatchResult) -> None:
    deleted = con.execute(f"delete from {table.ref(pub)}").fetchone()
    inserted = con.execute(f"insert into {table.ref(pub)} select * from {table.ref(wh)}"
                           ).fetchone()
    result.rows_deleted += int(deleted[0]) if deleted else 0
    result.rows_inserted += int(inserted[0]) if inserted else 0


def _fix_counts(con: duckdb.DuckDBPyConnection, wh: str, pub: str, table: Table,
                result: PatchResult) -> None:
    """Rows deleted without replacement: the UTC days whose counts differ are compared."""
    tcol = table.time_column
    if tcol is None:
        sync_region(con, wh, pub, table, "true", [], result)
    else:
        day = f"date_trunc('day', t.{q(tcol)})"  # the session is UTC
        counts = f"select {day} as d, count(*) as n from {{}} as t group by 1"
        a, b = counts.format(table.ref(wh)), counts.format(table.ref(pub))
        diff = [r[0] for r in con.execute(
            f"select d from (({a} except all {b}) union all ({b} except all {a}))").fetchall()]
        parts: list[str] = []
        params: list[Any] = []
        for lo, hi in _merge([(d, d + timedelta(days=1)) for d in diff if d is not None]):
            parts.append(f"(t.{q(tcol)} >= ? and t.{q(tcol)} < ?)")
            params += [lo, hi]
        if any(d is None for d in diff):
            parts.append(f"t.{q(tcol)} is null")
        if parts:
            sync_region(con, wh, pub, table, " or ".join(parts), params, result)
    if _count(con, table.ref(wh)) != _count(con, table.ref(pub)):
        log.warning("publish: %s still differs (rows repeated whole?); copying it whole",
                    table.key)
        _copy_all(con, wh, pub, table, result)


def _merge(ranges: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    out: list[tuple[Any, Any]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def patch_table(con: duckdb.DuckDBPyConnection, wh: str, pub: str, table: Table,
                old: list[RowGroup], new: list[RowGroup], result: PatchResult) -> None:
    """Make the snapshot's ``table`` equal the warehouse's (module docstring)."""
    kept = {g.ident for g in old} & {g.ident for g in new}
    changed = [g for g in (*old, *new) if g.ident not in kept]
    tcol = table.time_column
    if tcol is not None:
        # rows older than the warehouse's oldest are gone from it (the cold-tier move deletes
        # a prefix in time): trimmed here, so that an insertion elsewhere in the same build
        # cannot hide them from the count check below
        trimmed = con.execute(
            f"delete from {table.ref(pub)} where {q(tcol)} < "
            f"(select min({q(tcol)}) from {table.ref(wh)})").fetchone()
        result.rows_deleted += int(trimmed[0]) if trimmed else 0
    if changed:
        result.tables_changed.append(table.key)
        whole = (tcol is None or not all(g.known for g in changed)
                 or table.name in COMPARED_WHOLE or _count(con, table.ref(wh)) <= SMALL_ROWS)
        if whole or tcol is None:
            sync_region(con, wh, pub, table, "true", [], result)
        else:
            parts: list[str] = []
            params: list[Any] = []
            for lo, hi in _merge([(g.lo, g.hi) for g in changed if g.lo is not None]):
                parts.append(f"t.{q(tcol)} between ? and ?")
                params += [lo, hi]
            if any(g.has_null for g in changed):
                parts.append(f"t.{q(tcol)} is null")
            if parts:
                sync_region(con, wh, pub, table, " or ".join(parts), params, result)
    if _count(con, table.ref(wh)) != _count(con, table.ref(pub)):
        if not changed:
            result.tables_changed.append(table.key)
        _fix_counts(con, wh, pub, table, result)


def schema_statements(con: duckdb.DuckDBPyConnection, wh: str) -> list[str]:
    """The warehouse's views and macros as DuckDB writes them out: ``EXPORT DATABASE`` of a
    copy of the schema alone (no rows), which keeps macros' default arguments."""
    scratch = "_publish_schema"
    con.execute(f"attach ':memory:' as {scratch}")
    tmp = Path(tempfile.mkdtemp(prefix="publish-schema-"))
    try:
        con.execute(f"copy from database {q(wh)} to {scratch} (schema)")
        con.execute(f"export database {scratch} to '{tmp}'")
        statements = [s.strip() for s in (tmp / "schema.sql").read_text().split(";\n")]
    finally:
        con.execute(f"detach {scratch}")
        shutil.rmtree(tmp, ignore_errors=True)
    return [s for s in statements if s.upper().startswith(("CREATE VIEW", "CREATE MACRO"))]


def replay_schema(con: duckdb.DuckDBPyConnection, wh: str, pub: str,
                  statements: list[str]) -> None:
    """Replace the snapshot's views and macros by ``statements`` (inside the transaction)."""
    for kind, schema, name in con.execute(
            "select 'view', schema_name, view_name from duckdb_views() "
            "where database_name = $1 and not internal union "
            "select function_type, schema_name, function_name from duckdb_functions() "
            "where database_name = $1 and not internal "
            "and function_type in ('macro', 'table_macro')", [pub]).fetchall():
        what = {"view": "view", "macro": "macro", "table_macro": "macro table"}[str(kind)]
        con.execute(f"drop {what} if exists {q(pub)}.{q(schema)}.{q(name)}")
    con.execute(f"use {q(pub)}")
    try:
        for statement in _by_dependency(statements):
            con.execute(statement)
    finally:
        con.execute(f"use {q(wh)}")


def _by_dependency(statements: list[str]) -> list[str]:
    """EXPORT DATABASE lists views and macros by creation, not by what they read, and
    DuckDB binds a view when it is created: each statement goes after the statements that
    create the names it mentions (a cycle keeps the given order)."""
    names = {}
    for s in statements:
        m = re.match(r'CREATE (?:VIEW|MACRO) ("?)([^"\s(]+)\1', s, re.IGNORECASE)
        if m:
            names[m.group(2)] = s
    done: list[str] = []
    visiting: set[str] = set()

    def visit(s: str) -> None:
        if s in done or s in visiting:
            return
        visiting.add(s)
        for name, other in names.items():
            if other is not s and re.search(rf"\b{re.escape(name)}\b", s):
                visit(other)
        visiting.discard(s)
        done.append(s)

    for s in statements:
        visit(s)
    return done
