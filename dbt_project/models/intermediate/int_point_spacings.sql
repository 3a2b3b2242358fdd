-- Per point and UTC hour of its measuring window (the hours from 24 before the hour of its
-- latest sample on): the first and last sample time of the hour and a histogram of the
-- spacings between the hour's consecutive samples, in whole seconds. int_point_intervals
-- takes the observed interval's median from these rows (macros/intervals.sql), so a run
-- reads the hours its landed samples touch, not each point's last 24 hours again.
-- Incremental: the touched hours are computed again from the samples; hours that have left
-- a point's window are deleted (post-hook).
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}, {{ ref('timeseries') }}
{{
    config(
        unique_key=['site', 'point', 'hour_start'],
        incremental_strategy='delete+insert',
        post_hook=[
            "{{ ace_prune_spacings() }}",
            "{{ ace_record_progress(['int_point_activity']) }}",
        ],
    )
}}

{%- set range = ace_pending_range(['int_point_activity']) %}

with

windows as (

    -- each point's window starts at this hour
    select
        activity.site,
        activity.point,
        {{ ace_spacing_window_start('activity.last_ts') }} as window_start

    from {{ ref('int_point_activity') }} as activity

),

{%- if is_incremental() %}

touched as (

    -- the hours of the window that the landed samples fall in
    select distinct
        raw_rows.site,
        raw_rows.point,
        {{ ace_bucket_start('raw_rows.ts', 3600) }} as hour_start

    from {{ ace_landed_samples(range) }} as raw_rows
    inner join windows
        on
            raw_rows.site = windows.site
            and raw_rows.point = windows.point
            and raw_rows.ts >= windows.window_start

),

hour_samples as (

    select
        s.site,
        s.point,
        touched.hour_start,
        s.ts

    from {{ ace_raw_relation(range) }} as s
    inner join touched
        on
            s.site = touched.site
            and s.point = touched.point
            and s.ts >= touched.hour_start
            and s.ts < touched.hour_start + interval 1 hour

),

{%- else %}

hour_samples as (

    select
        s.site,
        s.point,
        {{ ace_bucket_start('s.ts', 3600) }} as hour_start,
        s.ts

    from {{ ref('timeseries') }} as s
    inner join windows
        on
            s.site = windows.site
            and s.point = windows.point
            and s.ts >= windows.window_start

),

{%- endif %}

-- the histogram of each hour (macros/intervals.sql)
final as (

    {{ ace_hour_spacings('hour_samples', by_list=is_incremental()) }}

)

select * from final
