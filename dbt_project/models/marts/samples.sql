-- One row per (site, point, ts): the winning landed row. import beats realtime and
-- backfill; within a rank the later extracted_at wins, then the larger run_id.
-- Incremental: only the raw files landed since the last run are read; their best row per
-- key is compared with the row already held for that key (if any), and only keys whose
-- winner changed are rewritten (delete+insert on the key).
-- (refs used through macros, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}
{{
    config(
        unique_key=['site', 'point', 'ts'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['int_landed_files']) }}",
    )
}}

{%- set range = ace_pending_range(['int_landed_files']) %}

{%- set winner_order = ace_winner_order() %}

with

landed as (

    select
        raw_rows.site,
        raw_rows.point,
        raw_rows.ts,
        raw_rows.value,
        raw_rows.value_raw,
        raw_rows.source,
        raw_rows.extracted_at,
        raw_rows.run_id

    from {{ ace_landed_samples(range) }} as raw_rows

),

best_landed as (

    select *
    from landed
    qualify row_number() over (partition by site, point, ts order by {{ winner_order }}) = 1

),

{%- if is_incremental() %}

held as (

    select
        current_rows.site,
        current_rows.point,
        current_rows.ts,
        current_rows.value,
        current_rows.value_raw,
        current_rows.source,
        current_rows.extracted_at,
        current_rows.run_id

    from {{ this }} as current_rows
    semi join best_landed
        on current_rows.site = best_landed.site
        and current_rows.point = best_landed.point
        and current_rows.ts = best_landed.ts

),

candidates as (

    select *, true as is_landed from best_landed
    union all
    -- a held row wins a tie, so re-landing the same row rewrites nothing
    select *, false as is_landed from held

),

winners as (

    select *
    from candidates
    qualify row_number() over (
        partition by site, point, ts order by {{ winner_order }}, is_landed
    ) = 1

),

changed as (

    select * exclude (is_landed)
    from winners
    where is_landed

)

select * from changed

{%- else %}

ordered as (

    -- clustered by time: the recent-range lookups of incremental runs (and any time-range
    -- query) skip row groups by their min/max
    select *
    from best_landed
    order by ts

)

select * from ordered

{%- endif %}
