"""The points whose observed interval mismatches the configured one (``points``), as
``status`` and the report both list them (docs/warehouse.md, "Observed intervals")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: the columns a warehouse built before observed intervals lacks
COLUMNS = ("observed_interval", "is_interval_mismatch")


@dataclass(frozen=True)
class IntervalMismatch:
    """A point whose observed interval is at least twice, or at most half, its configured one."""

    site: str
    point: str
    collect_interval: float
    observed_interval: int

    @property
    def factor(self) -> float:
        """How far off: the observed interval over the configured one (5.0 reports 5 times
        less often than configured, 0.5 twice as often)."""
        return self.observed_interval / self.collect_interval


def missing_columns(con: duckdb.DuckDBPyConnection, schema: str = "main") -> list[str]:
    """Which of :data:`COLUMNS` ``<schema>.points`` lacks (all of them without ``points``)."""
    have = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = 'points'", [schema]).fetchall()}
    return [c for c in COLUMNS if c not in have]


def read_mismatches(con: duckdb.DuckDBPyConnection,
                    schema: str = "main") -> list[IntervalMismatch]:
    """Every mismatched point, the farthest from its configured interval first (then by
    site and point); empty when ``points`` has no observed intervals."""
    if missing_columns(con, schema):
        return []
    table = '"{}".points'.format(schema.replace('"', '""'))
    rows = con.execute(
        f"select site, point, collect_interval, observed_interval from {table} "
        "where is_interval_mismatch "
        "order by abs(ln(observed_interval / collect_interval)) desc, site, point").fetchall()
    return [IntervalMismatch(str(s), str(p), float(c), int(o)) for s, p, c, o in rows]
