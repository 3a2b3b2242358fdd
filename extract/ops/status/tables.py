"""The warehouse's tables for ``status``: their rows now, and their sizes from the record
the publish wrote into the snapshot (:mod:`extract.warehouse.tablesizes`).

Row counts are read every time (``count(*)`` of a table is answered from its row groups'
counts, not by a scan). Sizes are not measured here when the file has a record: measuring
walks every storage segment of the history. A table whose rows differ from the record
changed after the publish measured it; its recorded size is reported as of that instant.
A table the record does not name is measured, as is every table of a file with no record
(the build's own file, a snapshot published by an older version)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...warehouse import tablesizes
from .model import TableInfo, WarehouseInfo

if TYPE_CHECKING:
    import duckdb


def _catalog(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("select current_database()").fetchone()
    assert row is not None
    return str(row[0])


def _count(con: duckdb.DuckDBPyConnection, catalog: str, name: str) -> int:
    ref = '"{}".main."{}"'.format(catalog.replace('"', '""'), name.replace('"', '""'))
    row = con.execute(f"select count(*) from {ref}").fetchone()
    return int(row[0]) if row else 0


def read_tables(con: duckdb.DuckDBPyConnection, info: WarehouseInfo) -> None:
    """Fill ``info.tables`` (every table of ``main``, by name) and ``info.sizes``."""
    catalog = _catalog(con)
    names = tablesizes.table_names(con, catalog)
    recorded = tablesizes.read(con, catalog)
    if recorded is None:
        measured = tablesizes.measure(con, catalog, names)
        info.tables = [TableInfo(n, measured[n].rows, measured[n].approx_bytes)
                       for n in names]
        info.sizes.source = "measured"
        info.sizes.measured_at = None  # now: the report's own instant
        return
    info.sizes.source, info.sizes.measured_at = "recorded", recorded.measured_at
    unrecorded = [n for n in names if n not in recorded.sizes]
    fresh = tablesizes.measure(con, catalog, unrecorded) if unrecorded else {}
    for name in names:
        if name in fresh:
            info.tables.append(TableInfo(name, fresh[name].rows, fresh[name].approx_bytes))
            continue
        rows, size = _count(con, catalog, name), recorded.sizes[name]
        if rows == size.rows:
            info.tables.append(TableInfo(name, rows, size.approx_bytes))
        else:
            info.tables.append(TableInfo(name, rows, size.approx_bytes,
                                         approx_bytes_as_of=recorded.measured_at))
            info.sizes.changed_since.append(name)
