"""The landing lake: immutable hive-partitioned Parquet written atomically under a lock;
windows, sync, backfill, import, metadata snapshots and gap repair (docs/landing.md)."""
