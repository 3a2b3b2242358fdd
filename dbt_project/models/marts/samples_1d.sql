-- Local calendar days of each site's time zone (var site_timezones, else default_timezone),
-- rolled up exactly from samples_5min: every zone offset in use is a multiple of 5 minutes
-- (Asia/Kathmandu +05:45 included), so 5-minute buckets nest in local days, and DST days
-- have 23 or 25 hours. Incremental: only the local days touched by the files landed since
-- the last run are rolled up again.
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

touched_days as (

    select distinct
        raw_rows.site,
        raw_rows.point,
        {{ ace_local_date('raw_rows.ts', ace_site_timezone('raw_rows.site')) }} as day

    from {{ ace_landed_samples(range) }} as raw_rows

),

touched as (

    select
        site,
        point,
        day,
        {{ ace_local_midnight('day', ace_site_timezone('site')) }} as bucket_start,
        {{ ace_local_midnight('day + 1', ace_site_timezone('site')) }} as bucket_end

    from touched_days

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
        {%- if is_incremental() %}
        touched.day,
        {%- else %}
        {{ ace_local_date('five.bucket_start', ace_site_timezone('five.site')) }} as day,
        {%- endif %}
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
        and five.bucket_start < touched.bucket_end
    {%- endif %}

),

parts_with_mean as (

    select
        parts.*,
        fsum(parts.sum) over (partition by parts.site, parts.point, parts.day)
            / nullif(sum(parts.n) over (partition by parts.site, parts.point, parts.day), 0)
            as bucket_mean

    from parts

),

computed as (

    select
        parts_with_mean.site,
        parts_with_mean.point,
        parts_with_mean.day,
        {{ ace_rollup_stats('parts_with_mean') }}

    from parts_with_mean
    group by parts_with_mean.site, parts_with_mean.point, parts_with_mean.day

),

{{ ace_stats_with_rederived('day') }}

bounded as (

    select
        stats.*,
        {{ ace_local_midnight('stats.day', ace_site_timezone('stats.site')) }} as bucket_start,
        {{ ace_local_midnight('stats.day + 1', ace_site_timezone('stats.site')) }} as bucket_end

    from stats

),

final as (

    select
        bounded.site,
        bounded.point,
        bounded.bucket_start,
        bounded.day,
        {{ ace_finish_stats('bounded', ace_epoch_seconds('bounded.bucket_end - bounded.bucket_start'), 'coalesce(intervals.collect_interval, ' ~ ace_default_interval() ~ ')') }}

    from bounded
    left join intervals
        on bounded.site = intervals.site and bounded.point = intervals.point

)

select * from final
{%- if not is_incremental() %}
order by day, site, point
{%- endif %}
