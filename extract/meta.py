"""Snapshots of sites and configured points, for the warehouse's dimensions.

Every field of the API's answer is kept: the well-known ones as typed columns (nested
ones as JSON text) and the whole item as ``raw_json``. A snapshot is written only when its
content differs from the last one written for the same scope, so a sync every five
minutes does not pile up identical copies; the warehouse reads the latest per key.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from .lake import Lake, atomic_write_json, atomic_write_table, check_site_name, read_json
from .parsing import TS

SITE_SCHEMA = pa.schema([
    ("site", pa.string()), ("site_id", pa.int64()), ("nice_name", pa.string()),
    ("client", pa.string()), ("address", pa.string()),
    ("latitude", pa.float64()), ("longitude", pa.float64()),
    ("archived", pa.bool_()), ("collect_enabled", pa.bool_()),
    ("extracted_at", TS), ("run_id", pa.string()), ("raw_json", pa.string()),
])

POINT_SCHEMA = pa.schema([
    ("site", pa.string()), ("point", pa.string()), ("point_id", pa.int64()),
    ("client", pa.string()), ("collect_enabled", pa.bool_()),
    ("collect_interval", pa.int64()), ("point_type", pa.string()),
    ("kv_tags", pa.string()), ("marker_tags", pa.string()), ("bacnet_data", pa.string()),
    ("collect_config", pa.string()), ("created", pa.string()), ("updated", pa.string()),
    ("extracted_at", TS), ("run_id", pa.string()), ("raw_json", pa.string()),
])


def _json(v: Any) -> str | None:
    return None if v is None else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def _int(v: Any) -> int | None:
    try:
        return None if v is None or v == "" else int(float(v))
    except (TypeError, ValueError):
        return None


def _float(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None


def _bool(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)


def _str(v: Any) -> str | None:
    return None if v is None else v if isinstance(v, str) else _json(v)


def sites_table(items: list[dict[str, Any]], extracted_at: datetime, run_id: str) -> pa.Table:
    rows = [{
        "site": _str(it.get("name")), "site_id": _int(it.get("id")),
        "nice_name": _str(it.get("nice_name")), "client": _str(it.get("client")),
        "address": _str(it.get("address")),
        "latitude": _float(it.get("latitude")), "longitude": _float(it.get("longitude")),
        "archived": _bool(it.get("archived")), "collect_enabled": _bool(it.get("collect_enabled")),
        "extracted_at": extracted_at, "run_id": run_id, "raw_json": _json(it),
    } for it in items]
    return pa.Table.from_pylist(rows, schema=SITE_SCHEMA)


def points_table(site: str, items: list[dict[str, Any]], extracted_at: datetime,
                 run_id: str) -> pa.Table:
    rows = [{
        "site": site, "point": _str(it.get("name")), "point_id": _int(it.get("id")),
        "client": _str(it.get("client")), "collect_enabled": _bool(it.get("collect_enabled")),
        "collect_interval": _int(it.get("collect_interval")),
        "point_type": _str(it.get("point_type")),
        "kv_tags": _json(it.get("kv_tags")), "marker_tags": _json(it.get("marker_tags")),
        "bacnet_data": _json(it.get("bacnet_data")),
        "collect_config": _json(it.get("collect_config")),
        "created": _str(it.get("created")), "updated": _str(it.get("updated")),
        "extracted_at": extracted_at, "run_id": run_id, "raw_json": _json(it),
    } for it in items]
    return pa.Table.from_pylist(rows, schema=POINT_SCHEMA)


def _digest(items: list[dict[str, Any]]) -> str:
    return hashlib.sha256(orjson.dumps(items, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _land_if_changed(lake: Lake, scope: str, items: list[dict[str, Any]],
                     table: pa.Table, rel: str) -> bool:
    hashes_path = lake.root / "state" / "meta_digests.json"
    hashes: dict[str, str] = read_json(hashes_path) or {}
    digest = _digest(items)
    if hashes.get(scope) == digest:
        return False
    atomic_write_table(lake.root / rel, table)
    hashes[scope] = digest
    atomic_write_json(hashes_path, hashes)
    return True


def land_sites(lake: Lake, items: list[dict[str, Any]], extracted_at: datetime,
               run_id: str) -> bool:
    table = sites_table(items, extracted_at, run_id)
    return _land_if_changed(lake, "sites", items, table, f"meta/sites/{run_id}.parquet")


def land_points(lake: Lake, site: str, items: list[dict[str, Any]], extracted_at: datetime,
                run_id: str) -> bool:
    check_site_name(site)
    table = points_table(site, items, extracted_at, run_id)
    return _land_if_changed(lake, f"points:{site}", items, table,
                            f"meta/points/site={site}/{run_id}.parquet")
