"""``import``: land exported history from Parquet or CSV files as ``source='import'``.

A file needs a point column (``point`` or ``name``), a time column (``ts``, ``time``,
``timestamp`` or ``time_raw``) and a value column (``value`` or ``value_raw``); a ``site``
column, or ``--site`` for files of one site. Every cell is read as text and parsed exactly
like API samples; rows that cannot be parsed (or have no valid site) go to quarantine with
the file name, row number and reason, and the good rows land. An import outranks
realtime and backfill rows for the same (site, point, ts) in the warehouse.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..core.duck import cursor
from ..core.errors import InputError
from ..core.logs import RUN_ID
from ..core.schema import QUARANTINE_SCHEMA, TS
from ..source.parsing import parse_texts
from .lake import (
    SITE_NAME,
    Lake,
    PartitionWriter,
    atomic_write_json,
    landed_latest,
    new_run_id,
    only_new,
    only_new_bad,
    quarantined_before,
)
from .summary import RunSummary, SiteResult

log = logging.getLogger(__name__)

POINT_COLS = ("point", "name", "point_name")
TIME_COLS = ("ts", "time", "timestamp", "time_raw")
VALUE_COLS = ("value", "value_raw")
BATCH_ROWS = 500_000


def _pick(cols: list[str], wanted: tuple[str, ...], what: str, path: Path) -> str:
    lower = {c.lower(): c for c in cols}
    for w in wanted:
        if w in lower:
            return lower[w]
    raise InputError(f"{path}: no {what} column (looked for {', '.join(wanted)}; "
                     f"found {', '.join(cols) or 'none'})")


def _relation_sql(path: Path) -> str:
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith(".parquet") or suffix.endswith(".pq"):
        return "read_parquet($path)"
    if suffix.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        return "read_csv($path, all_varchar = true, header = true)"
    raise InputError(f"{path}: unknown file type (expected .parquet, .csv or .csv.gz)")


def _batches(path: Path, site: str | None) -> Iterator[pa.RecordBatch]:
    """The file as batches of text columns site, name, time_text, value_text, line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    rel = _relation_sql(path)
    con = cursor()
    try:
        try:
            cols = [d[0] for d in con.execute(
                f"select * from {rel} limit 0", {"path": str(path)}).description]
        except Exception as e:  # duckdb raises many types for unreadable files
            raise InputError(f"{path}: cannot be read: {str(e).splitlines()[0]}") from None
        p = _pick(cols, POINT_COLS, "point", path)
        t = _pick(cols, TIME_COLS, "time", path)
        v = _pick(cols, VALUE_COLS, "value", path)
        lower = {c.lower(): c for c in cols}
        if "site" in lower:
            site_sql = f'cast("{lower["site"]}" as varchar)'
        elif site:
            site_sql = "$site"
        else:
            raise InputError(f"{path}: no site column; pass --site for a file of one site")
        sql = f"""
            select {site_sql} as site,
                   cast("{p}" as varchar) as name,
                   cast("{t}" as varchar) as time_text,
                   cast("{v}" as varchar) as value_text,
                   row_number() over () + 1 as line
            from {rel}
        """
        params: dict[str, object] = {"path": str(path)}
        if "$site" in site_sql:
            params["site"] = site
        yield from con.execute(sql, params).fetch_record_batch(BATCH_ROWS)
    finally:
        con.close()


def import_files(lake_dir: Path, paths: list[Path], *, site: str | None = None) -> RunSummary:
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    RUN_ID.set(run_id)
    lake = Lake(lake_dir)
    summary = RunSummary(run_id=run_id, command="import", started_at=now)
    seq = itertools.count(1)
    results: dict[str, SiteResult] = {}
    q_day = now.date()
    with lake.lock():
        lake.remove_stale_temps()
        for path in paths:
            for batch in _batches(path, site):
                _import_batch(lake, path, pa.Table.from_batches([batch]), run_id, seq,
                              results, q_day, now)
        summary.sites = list(results.values())
        summary.finished_at = datetime.now(UTC)
        atomic_write_json(lake.run_path(run_id), summary.as_dict())
    return summary


def _valid_site(sites: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.and_(pc.match_substring_regex(sites, SITE_NAME.pattern),
                                pc.invert(pc.match_substring(sites, ".."))), False)


def _origin(path: Path, lines: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(f"{path.name}:line "),
                                       pc.cast(lines, pa.string()), "")


def _import_batch(lake: Lake, path: Path, batch: pa.Table, run_id: str,
                  seq: itertools.count[int], results: dict[str, SiteResult],
                  q_day: date, now: datetime) -> None:
    site_ok = _valid_site(batch["site"])
    usable = batch.filter(site_ok)
    parsed = parse_texts(usable.select(["name", "time_text", "value_text"]),
                         site=usable["site"].combine_chunks(), source="import",
                         extracted_at=now, run_id=run_id,
                         origin=_origin(path, usable["line"]).combine_chunks()
                         if usable.num_rows else pa.array([], pa.string()))
    # rows without a usable site cannot live under raw/site=...: quarantine them as well
    no_site = batch.filter(pc.invert(site_ok))
    n = no_site.num_rows
    bad_all = pa.concat_tables([parsed.bad, pa.table([
        no_site["site"], no_site["name"], no_site["time_text"], no_site["value_text"],
        pa.repeat(pa.scalar("missing or invalid site"), n), pa.repeat(pa.scalar("import"), n),
        pa.repeat(pa.scalar(now, TS), n), pa.repeat(pa.scalar(run_id), n),
        _origin(path, no_site["line"]),
    ], schema=QUARANTINE_SCHEMA)])
    good = parsed.good
    for s in pc.unique(good["site"]).to_pylist():
        rows = good.filter(pc.equal(good["site"], s))
        res = results.setdefault(s, SiteResult(s))
        lo = pc.min(rows["ts"]).as_py()
        hi = pc.max(rows["ts"]).as_py() + timedelta(microseconds=1)
        new = only_new(rows, landed_latest(lake, s, lo, hi, source_is_import=True))
        _land(PartitionWriter(lake, s, run_id, seq), new, None)
        res.counts.fetched += rows.num_rows
        res.counts.landed += new.num_rows
        res.counts.unchanged += rows.num_rows - new.num_rows
    if not bad_all.num_rows:
        return
    qsites = pc.if_else(_valid_site(bad_all["site"]), bad_all["site"], pa.scalar("_unknown"))
    for s in pc.unique(qsites).to_pylist():
        rows = bad_all.filter(pc.equal(qsites, s))
        new_bad = only_new_bad(rows, quarantined_before(lake, s, [q_day]))
        _land(PartitionWriter(lake, s, run_id, seq, quarantine=True), new_bad, q_day)
        results.setdefault(s, SiteResult(s)).counts.quarantined += new_bad.num_rows
    log.warning("%s: %d rows quarantined (see %s/quarantine)", path, bad_all.num_rows,
                lake.root)


def _land(writer: PartitionWriter, rows: pa.Table, day: date | None) -> None:
    try:
        writer.write(rows, day)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
