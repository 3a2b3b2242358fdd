-- Local calendar days of each site's time zone (var site_timezones, else default_timezone),
-- rolled up exactly from samples_5min: every zone offset in use is a multiple of 5 minutes
-- (Asia/Kathmandu +05:45 included), so 5-minute buckets nest in local days, and DST days
-- have 23 or 25 hours (the aggregate ladder: macros/aggregate.sql, docs/warehouse.md).
{{ ace_aggregate('1 day', 'samples_5min') }}
