-- The points point_gaps recomputes in its next incremental run, from the files landed
-- since its position: per point with landed samples, the span of their times and the
-- 5-minute buckets and local days around it; a point whose expected interval changed is
-- recomputed over its whole history (is_whole, no span). Rebuilt every run for point_gaps'
-- pending range, which from_file_id names; empty when point_gaps is rebuilt.
-- (refs that order it after the models whose positions bound its range)
-- depends_on: {{ ref('samples_1d') }}, {{ ref('int_point_activity') }}
{{
    config(
        materialized='table',
        post_hook="{{ ace_record_progress(['samples_1d', 'int_point_activity']) }}",
    )
}}

{%- set range = ace_pending_range(['samples_1d', 'int_point_activity'], for_model='point_gaps') %}
{%- set zone = ace_site_timezone('site') %}

with

changed as (

    {{ ace_changed_points(range) }}

),

landed_range as (

    -- per point, the span of the landed sample times (points recomputed whole are left out)
    select
        raw_rows.site,
        raw_rows.point,
        min(raw_rows.ts) as min_ts,
        max(raw_rows.ts) as max_ts

    from {{ ace_landed_samples(range) }} as raw_rows
    anti join changed
        on raw_rows.site = changed.site and raw_rows.point = changed.point
    group by raw_rows.site, raw_rows.point

),

final as (

    select
        landed_range.site,
        landed_range.point,
        cast({{ range.lo }} as bigint) as from_file_id,
        false as is_whole,
        landed_range.min_ts,
        landed_range.max_ts,
        {{ ace_bucket_start('min_ts', 300) }} as min_bucket,
        {{ ace_bucket_start('max_ts', 300) }} + interval 5 minute as max_bucket_end,
        {{ ace_local_midnight(ace_local_date('min_ts', zone), zone) }} as min_day_start,
        {{ ace_local_midnight(ace_local_date('max_ts', zone) ~ ' + 1', zone) }} as max_day_end

    from landed_range

    union all

    select
        changed.site,
        changed.point,
        cast({{ range.lo }} as bigint) as from_file_id,
        true as is_whole,
        cast(null as timestamp with time zone) as min_ts,
        cast(null as timestamp with time zone) as max_ts,
        cast(null as timestamp with time zone) as min_bucket,
        cast(null as timestamp with time zone) as max_bucket_end,
        cast(null as timestamp with time zone) as min_day_start,
        cast(null as timestamp with time zone) as max_day_end

    from changed

)

select * from final
{%- if not range.get('incremental', false) %}
-- point_gaps is rebuilt from all samples: no region
where false
{%- endif %}
