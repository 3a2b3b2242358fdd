-- 1-hour buckets (UTC-aligned), rolled up exactly from samples_5min (sums, counts and m2
-- combine; no average of averages). Incremental: only the hours touched by the files
-- landed since the last run are rolled up again.
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}
{{
    config(
        unique_key=['site', 'point', 'bucket_start'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['samples_5min']) }}",
    )
}}

{%- set range = ace_pending_range(['samples_5min']) %}

with

intervals as (

    select site, point, collect_interval
    from {{ ref('int_point_metadata') }}

),

{%- if is_incremental() %}

touched as (

    select distinct
        raw_rows.site,
        raw_rows.point,
        {{ ace_bucket_start('raw_rows.ts', 3600) }} as bucket_start

    from {{ ace_landed_samples(range) }} as raw_rows

),

interval_changed as (

    select site, point
    from {{ ref('int_point_metadata') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}

),

{%- endif %}

parts as (

    select
        five.site,
        five.point,
        {{ ace_bucket_start('five.bucket_start', 3600) }} as hour_start,
        five.bucket_start,
        five.n,
        five.n_total,
        five.sum,
        five.min,
        five.max,
        five.first_value,
        five.last_value,
        five.first_ts,
        five.last_ts,
        five.m2,
        five.sum / nullif(five.n, 0) as part_mean

    from {{ ref('samples_5min') }} as five
    {%- if is_incremental() %}
    inner join touched
        on five.site = touched.site
        and five.point = touched.point
        and five.bucket_start >= touched.bucket_start
        and five.bucket_start < touched.bucket_start + interval 1 hour
    {%- endif %}

),

parts_with_mean as (

    select
        parts.*,
        fsum(parts.sum) over (partition by parts.site, parts.point, parts.hour_start)
            / nullif(sum(parts.n) over (partition by parts.site, parts.point, parts.hour_start), 0)
            as bucket_mean

    from parts

),

computed as (

    select
        parts_with_mean.site,
        parts_with_mean.point,
        parts_with_mean.hour_start as bucket_start,
        {{ ace_rollup_stats('parts_with_mean') }}

    from parts_with_mean
    group by parts_with_mean.site, parts_with_mean.point, parts_with_mean.hour_start

),

{{ ace_stats_with_rederived('bucket_start') }}

final as (

    select
        stats.site,
        stats.point,
        stats.bucket_start,
        {{ ace_finish_stats('stats', 3600, 'coalesce(intervals.collect_interval, ' ~ ace_default_interval() ~ ')') }}

    from stats
    left join intervals
        on stats.site = intervals.site and stats.point = intervals.point

)

select * from final
{%- if not is_incremental() %}
order by cast(bucket_start as date), site, point, bucket_start
{%- endif %}
