-- Per point, every interval where consecutive samples (of any kind) are further apart than
-- max(var gap_threshold_seconds, var gap_k x the point's collect_interval); a point whose
-- last sample is that far before the run's time (var as_of) has an open gap.
--
-- Incremental: for each point with samples in the files landed since the last run, the
-- region between the sample just before the earliest landed time and the sample just after
-- the latest one is recomputed (those two neighbours are found through samples_1d and
-- samples_5min without scanning the point's history). The incremental output carries the
-- regions in two extra columns (_region_start, _region_end), with marker rows whose
-- gap_start is null; the strategy ace_gap_regions deletes the gaps held inside each region
-- and every open gap, then inserts the new rows. A point whose collect_interval changed is
-- recomputed over its whole history.
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}, {{ ref('timeseries') }}, {{ ref('samples_5min') }}, {{ ref('samples_1d') }}
{{
    config(
        unique_key=['site', 'point', 'gap_start'],
        incremental_strategy='ace_gap_regions',
        on_schema_change='ignore',
        post_hook="{{ ace_record_progress(['samples_1d', 'int_point_activity']) }}",
        meta={'ace_settings': ['default_collect_interval', 'gap_threshold_seconds', 'gap_k']},
    )
}}

{%- set range = ace_pending_range(['samples_1d', 'int_point_activity']) %}

with

intervals as (

    select site, point, collect_interval
    from {{ ref('int_point_metadata') }}

),

{%- if is_incremental() %}

interval_changed as (

    select site, point
    from {{ ref('int_point_metadata') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}

),

landed_range as (

    -- per point, the span of the landed sample times (points recomputed whole are left out)
    select
        raw_rows.site,
        raw_rows.point,
        min(raw_rows.ts) as min_ts,
        max(raw_rows.ts) as max_ts

    from {{ ace_landed_samples(range) }} as raw_rows
    anti join interval_changed
        on raw_rows.site = interval_changed.site and raw_rows.point = interval_changed.point
    group by raw_rows.site, raw_rows.point

),

landed_bounds as (

    select
        landed_range.*,
        {{ ace_bucket_start('min_ts', 300) }} as min_bucket,
        {{ ace_bucket_start('max_ts', 300) }} + interval 5 minute as max_bucket_end,
        {{ ace_local_midnight(ace_local_date('min_ts', ace_site_timezone('site')), ace_site_timezone('site')) }} as min_day_start,
        {{ ace_local_midnight(ace_local_date('max_ts', ace_site_timezone('site')) ~ ' + 1', ace_site_timezone('site')) }} as max_day_end

    from landed_range

),

-- the sample just before min_ts: in its 5-minute bucket, else in an earlier bucket of its
-- local day, else in an earlier day
before_in_bucket as (

    select b.site, b.point, max(s.ts) as ts
    from landed_bounds as b
    inner join {{ ace_raw_relation(range) }} as s
        on s.site = b.site and s.point = b.point
        and s.ts >= b.min_bucket and s.ts < b.min_ts
    group by b.site, b.point

),

before_in_day as (

    select b.site, b.point, max(f.last_ts) as ts
    from landed_bounds as b
    inner join {{ ref('samples_5min') }} as f
        on f.site = b.site and f.point = b.point
        and f.bucket_start >= b.min_day_start and f.bucket_start < b.min_bucket
    group by b.site, b.point

),

before_earlier as (

    select b.site, b.point, max(d.last_ts) as ts
    from landed_bounds as b
    inner join {{ ref('samples_1d') }} as d
        on d.site = b.site and d.point = b.point
        and d.bucket_start < b.min_day_start
    group by b.site, b.point

),

-- the sample just after max_ts, symmetrically
after_in_bucket as (

    select b.site, b.point, min(s.ts) as ts
    from landed_bounds as b
    inner join {{ ace_raw_relation(range) }} as s
        on s.site = b.site and s.point = b.point
        and s.ts > b.max_ts and s.ts < b.max_bucket_end
    group by b.site, b.point

),

after_in_day as (

    select b.site, b.point, min(f.first_ts) as ts
    from landed_bounds as b
    inner join {{ ref('samples_5min') }} as f
        on f.site = b.site and f.point = b.point
        and f.bucket_start >= b.max_bucket_end and f.bucket_start < b.max_day_end
    group by b.site, b.point

),

after_later as (

    select b.site, b.point, min(d.first_ts) as ts
    from landed_bounds as b
    inner join {{ ref('samples_1d') }} as d
        on d.site = b.site and d.point = b.point
        and d.bucket_start >= b.max_day_end
    group by b.site, b.point

),

regions as (

    select
        b.site,
        b.point,
        b.min_ts,
        b.max_ts,
        coalesce(
            before_in_bucket.ts, before_in_day.ts, before_earlier.ts
        ) as before_ts,
        coalesce(
            after_in_bucket.ts, after_in_day.ts, after_later.ts
        ) as after_ts

    from landed_bounds as b
    left join before_in_bucket using (site, point)
    left join before_in_day using (site, point)
    left join before_earlier using (site, point)
    left join after_in_bucket using (site, point)
    left join after_in_day using (site, point)
    left join after_later using (site, point)

),

region_samples as (

    -- (joined to landed_bounds, not regions: the simpler build side lets DuckDB push the
    -- time range into the samples scan)
    select s.site, s.point, s.ts
    from {{ ace_raw_relation(range) }} as s
    inner join landed_bounds as b
        on s.site = b.site and s.point = b.point
        and s.ts >= b.min_ts and s.ts <= b.max_ts

    union all
    select site, point, before_ts from regions where before_ts is not null

    union all
    select site, point, after_ts from regions where after_ts is not null

    union all
    select s.site, s.point, s.ts
    from {{ ace_raw_relation(range) }} as s
    semi join interval_changed
        on s.site = interval_changed.site and s.point = interval_changed.point

),

region_bounds as (

    select
        site,
        point,
        coalesce(before_ts, min_ts) as _region_start,
        coalesce(after_ts, cast('infinity' as timestamp with time zone)) as _region_end
    from regions

    union all
    select
        site,
        point,
        cast('-infinity' as timestamp with time zone) as _region_start,
        cast('infinity' as timestamp with time zone) as _region_end
    from interval_changed

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
        is_open

    from (
        select * from closed_gaps
        union all
        select * from open_gaps
    ) as candidates
    where {{ ace_epoch_seconds('duration') }} > {{ ace_gap_threshold('collect_interval') }}

)

{%- if is_incremental() %}

select
    gaps.*,
    cast(null as timestamp with time zone) as _region_start,
    cast(null as timestamp with time zone) as _region_end
from gaps

union all

-- region markers: the strategy deletes held gaps starting in [_region_start, _region_end)
select
    site,
    point,
    cast(null as timestamp with time zone) as gap_start,
    cast(null as timestamp with time zone) as gap_end,
    cast(null as interval) as duration,
    cast(null as double) as missing_expected,
    cast(null as boolean) as is_open,
    _region_start,
    _region_end
from region_bounds

{%- else %}

select * from gaps
order by site, point, gap_start

{%- endif %}
