-- Per point, the first and last sample time and the number of landed rows, merged from the
-- raw files landed since the last run (landing never removes a key, so first/last only
-- move outwards). Feeds `points` and the open gaps of `point_gaps` without scanning samples.
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}
{{
    config(
        unique_key=['site', 'point'],
        incremental_strategy=ace_engine_config(duckdb='delete+insert', spark='insert_overwrite'),
        partition_by=ace_engine_config(duckdb=none, spark=['site']),
        post_hook="{{ ace_record_progress(['samples']) }}",
    )
}}

{%- set range = ace_pending_range(['samples']) %}
{%- set columns = ['site', 'point', 'first_ts', 'last_ts', 'last_extracted_at', 'n_landed'] %}

with

landed_files as (

    select
        raw_rows.site,
        raw_rows.point,
        min(raw_rows.ts) as first_ts,
        max(raw_rows.ts) as last_ts,
        max(raw_rows.extracted_at) as last_extracted_at,
        count(*) as n_landed

    from {{ ace_unmerged_samples(range) }} as raw_rows
    group by raw_rows.site, raw_rows.point

    union all

    -- a rebuild also counts the raw files the retention deleted (macros/retention.sql)
    select
        pruned.site,
        pruned.point,
        pruned.first_ts,
        pruned.last_ts,
        pruned.last_extracted_at,
        pruned.n_landed

    from {{ ace_pruned_landings(range) }} as pruned

),

landed as (

    select
        site,
        point,
        min(first_ts) as first_ts,
        max(last_ts) as last_ts,
        max(last_extracted_at) as last_extracted_at,
        cast(sum(n_landed) as bigint) as n_landed

    from landed_files
    group by site, point

),

{%- if is_incremental() %}

merged as (

    select
        landed.site,
        landed.point,
        least(landed.first_ts, previous.first_ts) as first_ts,
        greatest(landed.last_ts, previous.last_ts) as last_ts,
        greatest(landed.last_extracted_at, previous.last_extracted_at) as last_extracted_at,
        landed.n_landed + coalesce(previous.n_landed, 0) as n_landed

    from landed
    left join {{ this }} as previous
        on landed.site = previous.site and landed.point = previous.point
    {{- ace_carried_site_rows(this, 'landed', columns) }}

)

{%- else %}

merged as (

    select * from landed

)

{%- endif %}

select *{{ ace_merged_file_id(range) }} from merged
