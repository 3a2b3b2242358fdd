"""Write a landing lake exactly as docs/landing.md describes it, for the warehouse tests.

Only pyarrow is used. Every file is written under a temporary name in its final directory and
renamed, as the extractor does, so a dbt run never sees a partial file. Every landed row is also
kept in memory (:attr:`Lake.rows`), which is what :mod:`.truth` computes the expected warehouse
from: the tests never read the lake back through DuckDB to build their expectations.

Timestamps are handled as integer microseconds since the epoch (UTC) throughout the tests, so
that bucketing and gap arithmetic are exact; :func:`us` converts a ``datetime``.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

US = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK_US = 6 * 3600 * US  # a raw file holds at most one ~6 h chunk of one UTC date

RAW_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("point", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("value", pa.float64()),
        ("value_raw", pa.string()),
        ("source", pa.string()),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
    ]
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("point", pa.string()),
        ("time_raw", pa.string()),
        ("value_raw", pa.string()),
        ("reason", pa.string()),
        ("source", pa.string()),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("origin", pa.string()),
    ]
)

SITES_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("site_id", pa.int64()),
        ("nice_name", pa.string()),
        ("client", pa.string()),
        ("address", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("archived", pa.bool_()),
        ("collect_enabled", pa.bool_()),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("raw_json", pa.string()),
    ]
)

POINTS_SCHEMA = pa.schema(
    [
        ("site", pa.string()),
        ("point", pa.string()),
        ("point_id", pa.int64()),
        ("client", pa.string()),
        ("collect_enabled", pa.bool_()),
        ("collect_interval", pa.int64()),
        ("point_type", pa.string()),
        ("kv_tags", pa.string()),
        ("marker_tags", pa.string()),
        ("bacnet_data", pa.string()),
        ("collect_config", pa.string()),
        ("created", pa.string()),
        ("updated", pa.string()),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        ("run_id", pa.string()),
        ("raw_json", pa.string()),
    ]
)

# docs/landing.md: `value` is set when value_raw, trimmed, matches this and is finite.
_NUMERIC = re.compile(r"[+-]?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?")
SOURCES = ("realtime", "backfill", "import")


def us(dt: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, no float)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime")
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * US + delta.microseconds


def dt(ts_us: int) -> datetime:
    """The UTC datetime of epoch microseconds."""
    return EPOCH + timedelta(microseconds=ts_us)


def parse_value(value_raw: str | None) -> float | None:
    """The landing contract's value rule (docs/landing.md), applied to a value text."""
    if value_raw is None:
        return None
    text = value_raw.strip()
    if not _NUMERIC.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def run_id_for(extracted_at: datetime, suffix: str) -> str:
    """A run id in the extractor's format, which sorts in time order."""
    return extracted_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + suffix


@dataclass(frozen=True)
class Landed:
    """One landed raw row, as the tests keep it (times in epoch microseconds)."""

    site: str
    point: str
    ts: int
    value: float | None
    value_raw: str | None
    source: str
    extracted_at: int
    run_id: str


@dataclass(frozen=True)
class PointMeta:
    site: str
    point: str
    collect_interval: int | None  # seconds; None = absent in the API
    unit: str | None = None
    point_id: int = 0


@dataclass
class Lake:
    """A lake directory plus the in-memory record of everything landed in it."""

    root: Path
    rows: list[Landed] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # (site, point) -> [(extracted_at_us, run_id, PointMeta)]
    point_snapshots: dict[tuple[str, str], list[tuple[int, str, PointMeta]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    _run_counter: int = 0

    # -- raw samples ---------------------------------------------------------------------

    def land(
        self,
        samples: Iterable[tuple[str, str, int, str | None]],
        *,
        source: str,
        extracted_at: datetime,
        run_id: str | None = None,
        first_n: int = 1,
    ) -> str:
        """Land ``(site, point, ts_us, value_raw)`` samples as one extractor run.

        Files are partitioned by site and UTC date of ``ts`` and split into ~6 h chunks, named
        ``<run_id>-<n>.parquet`` from ``n = first_n`` (a run landing in several calls continues
        its numbering). Returns the run id.
        """
        if source not in SOURCES:
            raise ValueError(source)
        if run_id is None:
            self._run_counter += 1
            run_id = run_id_for(extracted_at, f"{self._run_counter:06x}")
        ex_us = us(extracted_at)
        parts: dict[tuple[str, str, int], list[Landed]] = defaultdict(list)
        for site, point, ts, value_raw in samples:
            row = Landed(site, point, ts, parse_value(value_raw), value_raw, source, ex_us, run_id)
            date = dt(ts).date().isoformat()
            parts[(site, date, ts // CHUNK_US)].append(row)
        for n, ((site, date, _chunk), rows) in enumerate(sorted(parts.items()), start=first_n):
            directory = self.root / "raw" / f"site={site}" / f"date={date}"
            self._write(directory, f"{run_id}-{n}.parquet", _raw_table(rows))
            self.rows.extend(rows)
        return run_id

    def quarantine(
        self, rows: Sequence[tuple[str, str | None, str | None, str | None, str]], *,
        source: str, extracted_at: datetime, run_id: str,
    ) -> None:
        """Land ``(site, point, time_raw, value_raw, reason)`` rows the extractor rejected."""
        by_site: dict[str, list[dict[str, object]]] = defaultdict(list)
        for site, point, time_raw, value_raw, reason in rows:
            by_site[site].append({
                "site": site, "point": point, "time_raw": time_raw, "value_raw": value_raw,
                "reason": reason, "source": source, "extracted_at": extracted_at,
                "run_id": run_id, "origin": "window 2025-11-03T00:00:00Z/2025-11-03T06:00:00Z",
            })
        date = extracted_at.astimezone(UTC).date().isoformat()
        for site, items in sorted(by_site.items()):
            directory = self.root / "quarantine" / f"site={site}" / f"date={date}"
            table = pa.Table.from_pylist(items, schema=QUARANTINE_SCHEMA)
            self._write(directory, f"{run_id}-1.parquet", table)

    # -- metadata ------------------------------------------------------------------------

    def write_sites(self, sites: Sequence[str], *, extracted_at: datetime, run_id: str) -> None:
        ex = us(extracted_at)
        rows = []
        for i, site in enumerate(sites):
            item = {"name": site, "id": i + 1, "nice_name": site.replace("_", " ").title()}
            rows.append(
                {
                    "site": site,
                    "site_id": i + 1,
                    "nice_name": item["nice_name"],
                    "client": "acme",
                    "address": f"{i + 1} Main St",
                    "latitude": 10.0 + i,
                    "longitude": 20.0 + i,
                    "archived": False,
                    "collect_enabled": True,
                    "extracted_at": dt(ex),
                    "run_id": run_id,
                    "raw_json": json.dumps(item),
                }
            )
        table = pa.Table.from_pylist(rows, schema=SITES_SCHEMA)
        self._write(self.root / "meta" / "sites", f"{run_id}.parquet", table)

    def write_points(
        self, site: str, points: Sequence[PointMeta], *, extracted_at: datetime, run_id: str
    ) -> None:
        ex = us(extracted_at)
        rows = []
        for p in points:
            kv_tags = {"unit": p.unit} if p.unit is not None else {}
            item = {"name": p.point, "id": p.point_id, "collect_interval": p.collect_interval}
            rows.append(
                {
                    "site": site,
                    "point": p.point,
                    "point_id": p.point_id,
                    "client": "acme",
                    "collect_enabled": True,
                    "collect_interval": p.collect_interval,
                    "point_type": "BACnet",
                    "kv_tags": json.dumps(kv_tags),
                    "marker_tags": json.dumps(["sensor"]),
                    "bacnet_data": json.dumps({"device_id": 1}),
                    "collect_config": json.dumps({}),
                    "created": "2024-01-01T00:00:00Z",
                    "updated": "2024-06-01T00:00:00Z",
                    "extracted_at": dt(ex),
                    "run_id": run_id,
                    "raw_json": json.dumps(item),
                }
            )
            self.point_snapshots[(site, p.point)].append((ex, run_id, p))
        table = pa.Table.from_pylist(rows, schema=POINTS_SCHEMA)
        self._write(self.root / "meta" / "points" / f"site={site}", f"{run_id}.parquet", table)

    def latest_meta(self) -> dict[tuple[str, str], PointMeta]:
        """Per point, its row in the latest snapshot (latest extracted_at, then run_id)."""
        return {
            key: max(snaps, key=lambda s: (s[0], s[1]))[2]
            for key, snaps in self.point_snapshots.items()
        }

    def intervals(self) -> dict[tuple[str, str], int]:
        """Per point with metadata, the effective collect_interval of its latest snapshot: the
        configured one when positive, else the default 60 s. (Points without metadata are
        absent: the truth gives them 60 s.)"""
        out = {}
        for key, meta in self.latest_meta().items():
            interval = meta.collect_interval
            out[key] = interval if interval is not None and interval > 0 else 60
        return out

    # -- internals -----------------------------------------------------------------------

    def _write(self, directory: Path, name: str, table: pa.Table) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / name
        if final.exists():
            raise FileExistsError(final)  # landing files are immutable
        tmp = directory / f".{name}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        self.files.append(final)


def _raw_table(rows: list[Landed]) -> pa.Table:
    return pa.table(
        {
            "site": pa.array([r.site for r in rows], pa.string()),
            "point": pa.array([r.point for r in rows], pa.string()),
            "ts": pa.array([r.ts for r in rows], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "value": pa.array([r.value for r in rows], pa.float64()),
            "value_raw": pa.array([r.value_raw for r in rows], pa.string()),
            "source": pa.array([r.source for r in rows], pa.string()),
            "extracted_at": pa.array([r.extracted_at for r in rows], pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "run_id": pa.array([r.run_id for r in rows], pa.string()),
        },
        schema=RAW_SCHEMA,
    )


def read_lake(root: Path) -> Lake:
    """A :class:`Lake` of what another writer (the extractor) landed, read with pyarrow alone:
    every raw row and every points snapshot. Hidden and temporary files are skipped."""
    lake = Lake(root)
    for path in sorted((root / "raw").glob("site=*/date=*/*.parquet")):
        table = pq.read_table(path, partitioning=None)
        cols = {name: table[name] for name in RAW_SCHEMA.names}
        ts = cols["ts"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
        ex = cols["extracted_at"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
        lake.rows.extend(
            Landed(site, point, t, value, value_raw, source, e, run_id)
            for site, point, t, value, value_raw, source, e, run_id in zip(
                cols["site"].to_pylist(), cols["point"].to_pylist(), ts,
                cols["value"].to_pylist(), cols["value_raw"].to_pylist(),
                cols["source"].to_pylist(), ex, cols["run_id"].to_pylist(), strict=True,
            )
        )
        lake.files.append(path)
    for path in sorted((root / "meta" / "points").glob("site=*/*.parquet")):
        for item in pq.read_table(path, partitioning=None).to_pylist():
            tags = json.loads(item["kv_tags"]) if item["kv_tags"] else {}
            meta = PointMeta(item["site"], item["point"], item["collect_interval"],
                             tags.get("unit") if isinstance(tags, dict) else None,
                             item["point_id"])
            lake.point_snapshots[(item["site"], item["point"])].append(
                (us(item["extracted_at"]), item["run_id"], meta)
            )
    return lake
