-- The latest metadata snapshot row of every configured point (latest extracted_at, then the
-- larger run_id), merged from the point snapshot files landed since the last run. Tracks
-- when a point's effective collect_interval last changed, so the aggregates can re-derive
-- n_expected and coverage for that point's existing buckets.
{{
    config(
        unique_key=['site', 'point'],
        incremental_strategy='delete+insert',
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

    from landed
    qualify row_number() over (
        partition by site, point order by extracted_at desc, run_id desc
    ) = 1

),

{%- if is_incremental() %}

previous as (

    select current_rows.*
    from {{ this }} as current_rows
    semi join latest_landed
        on current_rows.site = latest_landed.site and current_rows.point = latest_landed.point

),

candidates as (

    select *, true as is_landed, cast(null as bigint) as interval_changed_file_id
    from latest_landed
    union all by name
    select *, false as is_landed
    from previous

),

winners as (

    -- a snapshot already merged (same extracted_at and run_id) keeps its row
    select *
    from candidates
    qualify row_number() over (
        partition by site, point order by extracted_at desc, run_id desc, is_landed
    ) = 1

),

merged as (

    select
        winners.* exclude (is_landed, interval_changed_file_id),
        case
            when winners.collect_interval
                is distinct from coalesce(previous.collect_interval, {{ ace_default_interval() }})
                then cast({{ range.hi }} as bigint)
            else previous.interval_changed_file_id
        end as interval_changed_file_id

    from winners
    left join previous
        on winners.site = previous.site and winners.point = previous.point

)

{%- else %}

merged as (

    -- a rebuild: every point counts as changed, so incremental aggregates re-derive all
    select *, cast({{ range.hi }} as bigint) as interval_changed_file_id
    from latest_landed

)

{%- endif %}

select * from merged
