"""The points whose observed interval mismatches the configured one (``points``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import IntervalMismatch

if TYPE_CHECKING:
    import duckdb

#: the columns a warehouse built before observed intervals lacks
COLUMNS = ("observed_interval", "is_interval_mismatch")


def read_mismatches(con: duckdb.DuckDBPyConnection) -> list[IntervalMismatch]:
    """Every mismatched point, the farthest from its configured interval first (then by
    site and point); empty when ``points`` has no observed intervals."""
    have = {r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = 'main' and table_name = 'points'").fetchall()}
    if not set(COLUMNS) <= have:
        return []
    rows = con.execute(
        "select site, point, collect_interval, observed_interval from points "
        "where is_interval_mismatch "
        "order by abs(ln(observed_interval / collect_interval)) desc, site, point").fetchall()
    return [IntervalMismatch(str(s), str(p), float(c), int(o)) for s, p, c, o in rows]


def describe(mismatches: list[IntervalMismatch], shown: int = 3) -> str:
    """One line: how many points report off their configured interval, the first few."""
    if not mismatches:
        return "none"
    parts = [f"{m.site}/{m.point} configured {m.collect_interval:g} s, observed "
             f"{m.observed_interval} s" for m in mismatches[:shown]]
    more = len(mismatches) - shown
    head = f"{len(mismatches)} point{'' if len(mismatches) == 1 else 's'} off their " \
           "configured interval: "
    return head + "; ".join(parts) + (f"; {more} more" if more > 0 else "")
