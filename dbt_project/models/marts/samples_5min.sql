-- 5-minute buckets (UTC-aligned) of every point's samples. Incremental: the buckets touched
-- by the files landed since the last run are recomputed from the raw samples (`samples`,
-- or `timeseries` when late data reaches the cold tier); a point whose
-- collect_interval changed gets n_expected and coverage re-derived for all its buckets.
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}, {{ ref('timeseries') }}
{{
    config(
        unique_key=['site', 'point', 'bucket_start'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['samples', 'int_point_metadata']) }}",
    )
}}

{%- set range = ace_pending_range(['samples', 'int_point_metadata']) %}

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
        {{ ace_bucket_start('raw_rows.ts', 300) }} as bucket_start

    from {{ ace_landed_samples(range) }} as raw_rows

),

interval_changed as (

    select site, point
    from {{ ref('int_point_metadata') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}

),

{%- endif %}

computed as (

    select
        s.site,
        s.point,
        {{ ace_bucket_start('s.ts', 300) }} as bucket_start,
        {{ ace_sample_stats('s.value', 's.ts') }}

    from {{ ace_raw_relation(range) }} as s
    {%- if is_incremental() %}
    inner join touched
        on s.site = touched.site
        and s.point = touched.point
        and s.ts >= touched.bucket_start
        and s.ts < touched.bucket_start + interval 5 minute
    {%- endif %}
    group by s.site, s.point, {{ ace_bucket_start('s.ts', 300) }}

),

{{ ace_stats_with_rederived('bucket_start') }}

final as (

    select
        stats.site,
        stats.point,
        stats.bucket_start,
        {{ ace_finish_stats('stats', 300, 'coalesce(intervals.collect_interval, ' ~ ace_default_interval() ~ ')') }}

    from stats
    left join intervals
        on stats.site = intervals.site and stats.point = intervals.point

)

select * from final
{%- if not is_incremental() %}
order by cast(bucket_start as date), site, point, bucket_start
{%- endif %}
