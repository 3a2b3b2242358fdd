-- Every sample the extractor quarantined (could not parse), as landed, for inspection.
-- A view: the quarantine is small and always read whole.
{{ config(materialized='view') }}

select
    site,
    point,
    time_raw,
    value_raw,
    reason,
    origin,
    source,
    extracted_at,
    run_id,
    extracted_date,
    source_file,
    source_row

from {{ ref('stg_ace__quarantine').include(database=False) }}
