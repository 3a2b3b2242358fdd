"""What the main job and gap repair read of ``point_gaps`` in the built warehouse."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from ..core.duck import query
from ..landing.repair import Gap
from .connect import connect, has_table

log = logging.getLogger(__name__)


def read_gaps(warehouse: Path, since: datetime) -> list[Gap] | None:
    """The gaps of ``point_gaps`` that are open or ended at or after ``since``; None when the
    warehouse (or the table) does not exist yet or cannot be opened."""
    if not warehouse.exists():
        return None
    import duckdb

    try:
        con = connect(warehouse)
    except duckdb.Error as e:  # e.g. locked by another process
        log.warning("gap repair: cannot open %s (%s); skipped this run", warehouse, e)
        return None
    try:
        if not has_table(con, "point_gaps"):
            return None
        rows = con.execute(
            "select site, point, gap_start, gap_end from point_gaps "
            "where is_open or gap_end >= ? order by site, point, gap_start", [since]).fetchall()
    finally:
        con.close()
    return [Gap(s, p, a.astimezone(UTC), b.astimezone(UTC) if b is not None else None)
            for s, p, a, b in rows]


def gap_snapshot(warehouse: Path) -> pa.Table | None:
    """point_gaps' keys and is_open, as Arrow (columnar: the table grows with history, and
    the main job reads it twice a run); None before the first build, or when the file
    cannot be read (the summary's gap counts are then left out)."""
    if not warehouse.exists():
        return None
    try:
        con = connect(warehouse)
    except Exception as e:  # noqa: BLE001 - e.g. held by another process
        log.warning("cannot read point_gaps from %s: %s", warehouse, e)
        return None
    try:
        if not has_table(con, "point_gaps"):
            return None
        return con.execute(
            "select site, point, gap_start, is_open from point_gaps").fetch_arrow_table()
    finally:
        con.close()


GAP_CHANGES_SQL = """
with
closed_before as (select site, point, gap_start from before where not is_open),
closed_after as (select site, point, gap_start from after where not is_open),
silent_before as (select distinct site, point from before where is_open),
silent_after as (select distinct site, point from after where is_open)
select
    (select count(*) from (select * from closed_after except select * from closed_before))
    + (select count(*) from (select * from silent_after except select * from silent_before))
        as new,
    (select count(*) from (select * from silent_before except select * from silent_after))
        as closed,
    (select count(*) from (select * from closed_before except select * from closed_after))
        as filled,
    (select count(*) from silent_after) as silent
"""


def gap_changes(before: pa.Table | None, after: pa.Table) -> tuple[int, int, int, int]:
    """(new, closed, filled, silent) between two gap snapshots. An open gap is counted per
    point (its gap_start, the point's last sample, moves while the point lags): new = closed
    gaps that appeared + points that fell silent; closed = points that reported again;
    filled = closed gaps that disappeared or changed (late data fell into them); silent =
    points with an open gap after."""
    before = after.slice(0, 0) if before is None else before
    row = query(GAP_CHANGES_SQL, before=before, after=after).to_pylist()[0]
    return int(row["new"]), int(row["closed"]), int(row["filled"]), int(row["silent"])


def late_samples(warehouse: Path, run_ids: list[str],
                 checkpoints: dict[str, datetime]) -> int:
    """Samples of the given runs that won in ``samples`` although older than their site's
    checkpoint before the run: late uploads picked up by the look-back or by gap repair."""
    if not run_ids or not checkpoints or not warehouse.exists():
        return 0
    con = connect(warehouse)
    try:
        con.execute("create temp table cps (site varchar, cp timestamptz)")
        con.executemany("insert into cps values (?, ?)", list(checkpoints.items()))
        row = con.execute(
            "select count(*) from samples s join cps on s.site = cps.site "
            "where s.run_id in (select unnest(?)) and s.ts < cps.cp", [run_ids]).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0
