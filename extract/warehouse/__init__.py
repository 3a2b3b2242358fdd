"""The warehouse: running dbt, reading what the main job needs of the built file, the
cold-tier move and publishing read-only snapshots (docs/warehouse.md, docs/analysts.md)."""
