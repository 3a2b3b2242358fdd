-- 15-minute buckets (UTC-aligned), rolled up exactly from samples_5min (the aggregate
-- ladder: macros/aggregate.sql, docs/warehouse.md).
{{ ace_aggregate('15 minutes', 'samples_5min') }}
