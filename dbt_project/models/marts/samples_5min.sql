-- 5-minute buckets (UTC-aligned) of every point's samples, computed from the raw samples
-- (the aggregate ladder: macros/aggregate.sql, docs/warehouse.md).
{{ ace_aggregate('5 minutes', 'samples') }}
