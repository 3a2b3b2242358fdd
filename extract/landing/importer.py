"""``import``: land exported history from Parquet or CSV files as ``source='import'``.

A file needs a point column (``point`` or ``name``), a time column (``ts``, ``time``,
``timestamp`` or ``time_raw``) and a value column (``value`` or ``value_raw``); a ``site``
column, or ``--site`` for files of one site (``importread.py``). Every cell is read as text
and parsed like API samples, with the import's time rules on top (``--timezone``, zones
named in the text, the plausible range: ``source/localtime.py``).

Quarantine is per row: a row that cannot be parsed, has no valid site, or is not a row of
the header's shape goes to quarantine with the file name, line and reason, and the good
rows land. Each file is independent: a file that cannot be read at all is reported (one
line) and the others land; the command writes one run summary.

Within one file, a (site, point, ts) held several times lands once: the last row in file
order wins. Each file gets its own ``extracted_at``, later than the file before it, so in
the warehouse (import first, then the latest extraction: ``core/schema.py``) a later file
of the same command wins too, as a later import command does. An import outranks
realtime and backfill rows for the same (site, point, ts).
"""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.config import DEFAULT_IMPORT_EARLIEST
from ..core.errors import ExtractError, InputError, LockHeld
from ..core.logs import RUN_ID
from ..core.schema import QUARANTINE_SCHEMA, TS
from ..source.localtime import TimeRules
from ..source.parsing import Parsed, parse_texts
from .importread import FileTexts, read_file
from .lake import (
    SITE_NAME,
    Lake,
    PartitionWriter,
    atomic_write_json,
    landed_files,
    new_run_id,
    only_new,
    only_new_bad,
    quarantined_before,
)
from .locks import RunLocks
from .summary import FileResult, RunSummary, SiteResult
from .usage import refresh_committed

log = logging.getLogger(__name__)

#: where rows without a usable site are quarantined
UNKNOWN_SITE = "_unknown"


def import_files(lake_dir: Path, paths: list[Path], *, site: str | None = None,
                 timezone: str | None = None,
                 earliest: datetime = DEFAULT_IMPORT_EARLIEST,
                 ahead: timedelta = timedelta(days=1)) -> RunSummary:
    """Import ``paths`` in order; naive times are local times of ``timezone`` (default UTC),
    and times outside ``[earliest, now + ahead)`` are quarantined."""
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    RUN_ID.set(run_id)
    lake = Lake(lake_dir)
    summary = RunSummary(run_id=run_id, command="import", started_at=now)
    rules = TimeRules(earliest=earliest, latest=now + ahead, zone=timezone)
    seq = itertools.count(1)
    results: dict[str, SiteResult] = {}
    extracted_at = now - timedelta(microseconds=1)
    with lake.run_locks() as locks:
        if site is not None:
            locks.site(site)  # another run on this site: LockHeld before any file
        for path in paths:
            # each file is extracted after the one before it: a later file wins a key
            extracted_at = max(datetime.now(UTC), extracted_at + timedelta(microseconds=1))
            result = FileResult(str(path))
            summary.files.append(result)
            try:
                _import_file(lake, locks, path, site, rules, run_id, seq, results,
                             extracted_at, result)
            except Exception as e:
                if not _file_failure(e):
                    raise
                # one line for the file; the other files go on
                result.ok = False
                text = (str(e).strip().splitlines() or [type(e).__name__])[0]
                result.error = text.removeprefix(f"{path}: ")
                log.error("%s: not imported: %s", path, result.error)
                log.debug("%s: not imported", path, exc_info=True)
        failed = [f.path for f in summary.files if not f.ok]
        if failed:
            summary.error = (f"{len(failed)} of {len(paths)} files not imported: "
                             f"{', '.join(failed)}")
        summary.sites = list(results.values())
        summary.finished_at = datetime.now(UTC)
        atomic_write_json(lake.run_path(run_id), summary.as_dict())
    return summary


def _file_failure(e: Exception) -> bool:
    """A failure of one file (its reading, parsing or landing), not of the command.

    DuckDB's errors are recognised by their module: importing duckdb here would make
    every ``import extract`` (a sync's start-up too) pay for it.
    """
    if isinstance(e, LockHeld):
        return False  # another run lands one of its sites: the command stops (exit 3)
    return (isinstance(e, ExtractError | OSError | pa.ArrowException)
            or type(e).__module__.split(".")[0] in ("duckdb", "_duckdb"))


def _valid_site(sites: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.fill_null(pc.and_(pc.match_substring_regex(sites, SITE_NAME.pattern),
                                pc.invert(pc.match_substring(sites, ".."))), False)


def _origin(path: Path, lines: pa.ChunkedArray | pa.Array) -> pa.Array:
    origin = pc.binary_join_element_wise(pa.scalar(f"{path.name}:line "),
                                         pc.cast(lines, pa.string()), "")
    return origin.combine_chunks() if isinstance(origin, pa.ChunkedArray) else origin


def _parse(path: Path, texts: pa.Table, rules: TimeRules, run_id: str,
           at: datetime) -> tuple[Parsed, pa.Table]:
    """(parsed rows of a valid site, rows without one as quarantine rows)."""
    site_ok = _valid_site(texts["site"])
    usable = texts.filter(site_ok)
    parsed = parse_texts(usable.select(["name", "time_text", "value_text"]),
                         site=usable["site"].combine_chunks(), source="import",
                         extracted_at=at, run_id=run_id,
                         origin=_origin(path, usable["line"]), refine=rules)
    no_site = texts.filter(pc.invert(site_ok))
    return parsed, _quarantine_rows(no_site["site"], no_site["name"], no_site["time_text"],
                                    no_site["value_text"], "missing or invalid site",
                                    _origin(path, no_site["line"]), run_id, at)


def _quarantine_rows(site: pa.Array | pa.ChunkedArray, point: pa.Array | pa.ChunkedArray,
                     time_raw: pa.Array | pa.ChunkedArray,
                     value_raw: pa.Array | pa.ChunkedArray, reason: str | pa.Array,
                     origin: pa.Array, run_id: str, at: datetime) -> pa.Table:
    n = len(origin)
    return pa.table([
        site, point, time_raw, value_raw,
        reason if isinstance(reason, pa.Array) else pa.repeat(pa.scalar(reason), n),
        pa.repeat(pa.scalar("import"), n), pa.repeat(pa.scalar(at, TS), n),
        pa.repeat(pa.scalar(run_id), n), origin,
    ], schema=QUARANTINE_SCHEMA)


def _rejected_rows(path: Path, read: FileTexts, site: str | None, run_id: str,
                   at: datetime) -> pa.Table:
    """CSV lines that are not rows, as received: the whole line is the ``value_raw``."""
    rej = read.rejected
    n = rej.num_rows
    nulls = pa.nulls(n, pa.string())
    return _quarantine_rows(pa.repeat(pa.scalar(site or UNKNOWN_SITE), n), nulls, nulls,
                            rej["text"], rej["reason"].combine_chunks(),
                            _origin(path, rej["line"]), run_id, at)


def last_of_each_key(good: pa.Table) -> pa.Table:
    """The last row (in table order) of each (site, point, ts), in table order.

    One stable sort of integer keys (the site's and point's dictionary codes, and ts): the
    last row of a run of equal keys is the last of that key in the table.
    """
    n = good.num_rows
    if n < 2:
        return good

    def codes(col: pa.ChunkedArray) -> np.ndarray:
        enc = pc.dictionary_encode(col).combine_chunks()
        return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)

    name = codes(good["point"]) * (len(pc.unique(good["site"])) + 1) + codes(good["site"])
    ts = np.asarray(pc.cast(good["ts"], pa.int64()).combine_chunks().to_numpy(
        zero_copy_only=False), dtype=np.int64)
    order = np.lexsort((ts, name))
    k, t = name[order], ts[order]
    last = np.append((k[1:] != k[:-1]) | (t[1:] != t[:-1]), True)
    if last.all():
        return good
    return good.take(pa.array(np.sort(order[last])))


def _import_file(lake: Lake, locks: RunLocks, path: Path, site: str | None,
                 rules: TimeRules, run_id: str,
                 seq: itertools.count[int], results: dict[str, SiteResult],
                 at: datetime, result: FileResult) -> None:
    read = read_file(path, site)
    result.rows = read.texts.num_rows + read.rejected.num_rows
    try:
        parsed, no_site = _parse(path, read.texts, rules, run_id, at)
    except pa.ArrowException as e:
        raise InputError(f"{path}: cannot be parsed: {e}") from None
    good = last_of_each_key(parsed.good)
    result.superseded = parsed.good.num_rows - good.num_rows
    bad = pa.concat_tables([parsed.bad, no_site, _rejected_rows(path, read, site, run_id, at)])
    del read, parsed, no_site
    qsites = pc.if_else(_valid_site(bad["site"]), bad["site"], pa.scalar(UNKNOWN_SITE))
    # every site the file lands into is held before any of it lands (LockHeld: another
    # run lands that site; the files before this one are landed, a rerun adds the rest)
    locks.sites([*pc.unique(good["site"]).to_pylist(), *pc.unique(qsites).to_pylist()])
    for s in pc.unique(good["site"]).to_pylist():
        rows = good.filter(pc.equal(good["site"], s))
        res = results.setdefault(s, SiteResult(s))
        days = _days(rows)
        new = only_new(rows, landed_files(lake, s, days), source_is_import=True)
        _land(PartitionWriter(lake, s, run_id, seq), new, None)
        res.counts.fetched += rows.num_rows
        res.counts.landed += new.num_rows
        res.counts.unchanged += rows.num_rows - new.num_rows
        result.landed += new.num_rows
    if not bad.num_rows:
        return
    q_day = at.date()
    for s in pc.unique(qsites).to_pylist():
        rows = bad.filter(pc.equal(qsites, s))
        new_bad = only_new_bad(rows, quarantined_before(lake, s, [q_day]))
        _land(PartitionWriter(lake, s, run_id, seq, quarantine=True), new_bad, q_day)
        results.setdefault(s, SiteResult(s)).counts.quarantined += new_bad.num_rows
    result.quarantined = bad.num_rows
    log.warning("%s: %d rows quarantined (see %s/quarantine)", path, bad.num_rows,
                lake.root)


def _days(rows: pa.Table) -> list[date]:
    """The UTC dates of the rows' ``ts``, in order."""
    days = pc.unique(pc.cast(pc.cast(rows["ts"], pa.timestamp("us")), pa.date32()))
    return sorted(days.to_pylist())


def _land(writer: PartitionWriter, rows: pa.Table, day: date | None) -> None:
    try:
        writer.write(rows, day)
        refresh_committed(writer.lake.root, writer.commit())  # status's lake sizes
    except BaseException:
        writer.abort()
        raise
