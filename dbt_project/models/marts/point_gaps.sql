-- Per point, every interval where consecutive samples (of any kind) are further apart than
-- max(var gap_threshold_seconds, var gap_k x the point's collect_interval); a point whose
-- last sample is that far before the run's time (var as_of) has an open gap.
-- Incremental: the gaps of the regions in int_gap_regions (around the samples landed since
-- the last run) are computed again; the strategy ace_gap_regions replaces the held gaps of
-- those regions and every open gap. Build it with its steps: dbt build --select +point_gaps
-- (docs/warehouse.md, "point_gaps").
-- (refs used only by one branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}, {{ ref('timeseries') }}, {{ ref('samples_5min') }}, {{ ref('int_gap_regions') }}
{{
    config(
        unique_key=['site', 'point', 'gap_start'],
        incremental_strategy='ace_gap_regions',
        post_hook="{{ ace_record_progress(['int_gap_regions']) }}",
        meta={
            'ace_settings': [
                'default_collect_interval', 'interval_source', 'gap_threshold_seconds', 'gap_k'
            ],
            'ace_columns_version': 2,
        },
    )
}}

{%- set range = ace_pending_range(['int_gap_regions']) %}

with

intervals as (

    select
        site,
        point,
        expected_interval as collect_interval
    from {{ ref('int_point_intervals') }}

),

{%- if is_incremental() %}

regions as (

    -- the regions prepared for this run's range (ace_gap_regions deletes by the same rule)
    select * from {{ ref('int_gap_regions') }}
    where from_file_id = {{ range.lo }}

),

region_samples as (

    -- the samples of those regions, with their neighbours (macros/gaps.sql)
    {{ ace_gap_region_samples('regions', ace_raw_relation(range)) }}

),

{%- endif %}

{%- if is_incremental() or var('gap_threshold_seconds', 300) < 300 %}

consecutive as (

    select
        site,
        point,
        ts as gap_start,
        lead(ts) over (partition by site, point order by ts) as gap_end

    from {{ 'region_samples' if is_incremental() else ace_raw_relation(range) }}

),

{%- else %}

consecutive as (

    -- a rebuild with a threshold of at least 5 minutes: two samples of one 5-minute bucket
    -- are less than 300 s apart, so only the last sample of a bucket and the first of the
    -- next non-empty bucket can be a gap; samples_5min holds both (5x fewer rows to sort)
    select
        site,
        point,
        last_ts as gap_start,
        lead(first_ts) over (partition by site, point order by bucket_start) as gap_end

    from {{ ref('samples_5min') }}

),

{%- endif %}

closed_gaps as (

    select
        consecutive.site,
        consecutive.point,
        consecutive.gap_start,
        consecutive.gap_end,
        consecutive.gap_end - consecutive.gap_start as duration,
        coalesce(intervals.collect_interval, {{ ace_default_interval() }}) as collect_interval,
        false as is_open

    from consecutive
    left join intervals
        on consecutive.site = intervals.site and consecutive.point = intervals.point
    where consecutive.gap_end is not null

),

open_gaps as (

    select
        activity.site,
        activity.point,
        activity.last_ts as gap_start,
        cast(null as timestamp with time zone) as gap_end,
        {{ ace_as_of() }} - activity.last_ts as duration,
        coalesce(intervals.collect_interval, {{ ace_default_interval() }}) as collect_interval,
        true as is_open

    from {{ ref('int_point_activity') }} as activity
    left join intervals
        on activity.site = intervals.site and activity.point = intervals.point

),

gaps as (

    select
        site,
        point,
        gap_start,
        gap_end,
        duration,
        {{ ace_epoch_seconds('duration') }} / collect_interval - 1 as missing_expected,
        is_open,
        cast({{ ace_epoch_seconds('duration') }} as double) as duration_s

    from (
        select * from closed_gaps
        union all
        select * from open_gaps
    ) as candidates
    where {{ ace_epoch_seconds('duration') }} > {{ ace_gap_threshold('collect_interval') }}

)

select * from gaps
{%- if not is_incremental() %}
order by site, point, gap_start
{%- endif %}
