-- The latest metadata snapshot row of every configured point (latest extracted_at, then the
-- larger run_id), merged from the point snapshot files landed since the last run. Tracks
-- when a point's effective collect_interval last changed, so the aggregates can re-derive
-- n_expected and coverage for that point's existing buckets.
{{
    config(
        unique_key=['site', 'point'],
        incremental_strategy=ace_engine_config(duckdb='delete+insert', spark='insert_overwrite'),
        partition_by=ace_engine_config(duckdb=none, spark=['site']),
        post_hook="{{ ace_record_progress(['int_landed_files']) }}",
        meta={'ace_settings': ['default_collect_interval']},
    )
}}

{%- set range = ace_pending_range(['int_landed_files']) %}

with

pending_files as (

    {{ ace_pending_files(range, 'points') }}

),

landed as (

    select snapshots.*
    from {{ ref('stg_ace__points') }} as snapshots
    semi join pending_files on snapshots.source_file = pending_files.file_path

),

latest_landed as (

    select
        site,
        point,
        point_id,
        client,
        is_collect_enabled,
        collect_interval as collect_interval_configured,
        coalesce(
            cast(case when collect_interval > 0 then collect_interval end as double),
            {{ ace_default_interval() }}
        ) as collect_interval,
        point_type,
        unit,
        kv_tags,
        marker_tags,
        bacnet_data,
        collect_config,
        created_at,
        updated_at,
        extracted_at,
        run_id

    {{ ace_first_per_key('landed', 'site, point', 'extracted_at desc, run_id desc') }}

),

{%- if is_incremental() %}

{{ ace_merge_point_metadata(range) }}

{%- else %}

merged as (

    -- a rebuild: every point counts as changed, so incremental aggregates re-derive all
    select *, cast({{ range.hi }} as bigint) as interval_changed_file_id
    from latest_landed

)

{%- endif %}

select * from merged
