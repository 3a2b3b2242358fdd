-- Every raw sample, one row per (site, point, ts), the same columns as `samples`: the one
-- name analysts and series() read raw data through. The warehouse keeps all raw samples
-- in `samples` for now; when the cold Parquet tier lands, this view becomes the union of
-- both tiers and callers do not change.
{{ config(materialized='view') }}

select
    site,
    point,
    ts,
    value,
    value_raw,
    source,
    extracted_at,
    run_id

from {{ ref('samples').include(database=False) }}
