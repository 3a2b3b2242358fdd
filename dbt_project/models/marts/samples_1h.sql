-- 1-hour buckets (UTC-aligned), rolled up exactly from samples_5min (the aggregate ladder:
-- macros/aggregate.sql, docs/warehouse.md).
{{ ace_aggregate('1 hour', 'samples_5min') }}
