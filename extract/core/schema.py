"""The lake's contract, defined once: the columns of every Parquet file the extractor lands
(docs/landing.md) and the winner rule for a key held several times (docs/warehouse.md).

Everything else is generated from these or checked against them by a test
(``tests/test_contracts.py``): the dbt sources YAML, the staging models' columns, the cold
tier's files and view, and the dbt macro ``ace_winner_order``.
"""

from __future__ import annotations

import pyarrow as pa

#: every instant in the lake: microseconds, UTC
TS = pa.timestamp("us", tz="UTC")

#: ``raw/site=S/date=D/*.parquet``: one row per sample as received
RAW_SCHEMA = pa.schema([
    ("site", pa.string()),
    ("point", pa.string()),
    ("ts", TS),
    ("value", pa.float64()),
    ("value_raw", pa.string()),
    ("source", pa.string()),
    ("extracted_at", TS),
    ("run_id", pa.string()),
])

#: ``quarantine/site=S/date=D/*.parquet``: what could not be parsed, as received, and why
QUARANTINE_SCHEMA = pa.schema([
    ("site", pa.string()),
    ("point", pa.string()),
    ("time_raw", pa.string()),
    ("value_raw", pa.string()),
    ("reason", pa.string()),
    ("source", pa.string()),
    ("extracted_at", TS),
    ("run_id", pa.string()),
    ("origin", pa.string()),
])

#: ``meta/sites/*.parquet``: snapshots of the site list
SITE_SCHEMA = pa.schema([
    ("site", pa.string()), ("site_id", pa.int64()), ("nice_name", pa.string()),
    ("client", pa.string()), ("address", pa.string()),
    ("latitude", pa.float64()), ("longitude", pa.float64()),
    ("archived", pa.bool_()), ("collect_enabled", pa.bool_()),
    ("extracted_at", TS), ("run_id", pa.string()), ("raw_json", pa.string()),
])

#: ``meta/points/site=S/*.parquet``: snapshots of a site's configured points
POINT_SCHEMA = pa.schema([
    ("site", pa.string()), ("point", pa.string()), ("point_id", pa.int64()),
    ("client", pa.string()), ("collect_enabled", pa.bool_()),
    ("collect_interval", pa.int64()), ("point_type", pa.string()),
    ("kv_tags", pa.string()), ("marker_tags", pa.string()), ("bacnet_data", pa.string()),
    ("collect_config", pa.string()), ("created", pa.string()), ("updated", pa.string()),
    ("extracted_at", TS), ("run_id", pa.string()), ("raw_json", pa.string()),
])

#: the ``source`` of a raw row: the sync, a backfill, or an imported export
SOURCES = ("realtime", "backfill", "import")

#: the cold tier's files hold the raw columns but ``site``, which is their folder's
COLD_FILE_COLUMNS = tuple(n for n in RAW_SCHEMA.names if n != "site")

#: The winner rule, as an SQL ORDER BY list over raw rows of one (site, point, ts): an
#: import wins, then the latest extraction, then the latest run, then the larger text.
#: The dbt macro ``ace_winner_order`` must say the same (checked by a test).
WINNER_ORDER = ("case when source = 'import' then 1 else 0 end desc, extracted_at desc, "
                "run_id desc, value_raw desc nulls last")
