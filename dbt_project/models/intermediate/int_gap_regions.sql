-- The regions point_gaps recomputes in its next incremental run (int_gap_landed: the points
-- and the span of their landed samples): for each, the sample just before and just after
-- the span, found through samples_5min and samples_1d without scanning the point's history.
-- Rebuilt every run for point_gaps' pending range, which from_file_id names (rows prepared
-- for another range are ignored, here and by point_gaps); empty when point_gaps is rebuilt.
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('int_gap_landed') }}, {{ ref('samples') }}, {{ ref('timeseries') }}, {{ ref('samples_5min') }}, {{ ref('samples_1d') }}
{{
    config(
        materialized='table',
        post_hook="{{ ace_record_progress(['int_gap_landed']) }}",
    )
}}

{%- set range = ace_pending_range(['int_gap_landed'], for_model='point_gaps') %}

{%- if range.get('incremental', false) %}

with

landed as (

    select * from {{ ref('int_gap_landed') }}
    where from_file_id = {{ range.lo }}

),

-- the sample just before min_ts: in its 5-minute bucket, else in an earlier bucket of its
-- local day, else in an earlier day; the sample just after max_ts, symmetrically
before_in_bucket as (

    select b.site, b.point, max(s.ts) as ts
    from landed as b
    inner join {{ ace_raw_relation(range) }} as s
        on s.site = b.site and s.point = b.point
        and s.ts >= b.min_bucket and s.ts < b.min_ts
    group by b.site, b.point

),

before_in_day as (

    select b.site, b.point, max(f.last_ts) as ts
    from landed as b
    inner join {{ ref('samples_5min') }} as f
        on f.site = b.site and f.point = b.point
        and f.bucket_start >= b.min_day_start and f.bucket_start < b.min_bucket
    group by b.site, b.point

),

before_earlier as (

    select b.site, b.point, max(d.last_ts) as ts
    from landed as b
    inner join {{ ref('samples_1d') }} as d
        on d.site = b.site and d.point = b.point
        and d.bucket_start < b.min_day_start
    group by b.site, b.point

),

after_in_bucket as (

    select b.site, b.point, min(s.ts) as ts
    from landed as b
    inner join {{ ace_raw_relation(range) }} as s
        on s.site = b.site and s.point = b.point
        and s.ts > b.max_ts and s.ts < b.max_bucket_end
    group by b.site, b.point

),

after_in_day as (

    select b.site, b.point, min(f.first_ts) as ts
    from landed as b
    inner join {{ ref('samples_5min') }} as f
        on f.site = b.site and f.point = b.point
        and f.bucket_start >= b.max_bucket_end and f.bucket_start < b.max_day_end
    group by b.site, b.point

),

after_later as (

    select b.site, b.point, min(d.first_ts) as ts
    from landed as b
    inner join {{ ref('samples_1d') }} as d
        on d.site = b.site and d.point = b.point
        and d.bucket_start >= b.max_day_end
    group by b.site, b.point

),

final as (

    select
        b.site,
        b.point,
        cast({{ range.lo }} as bigint) as from_file_id,
        b.is_whole,
        b.min_ts,
        b.max_ts,
        coalesce(before_in_bucket.ts, before_in_day.ts, before_earlier.ts) as before_ts,
        coalesce(after_in_bucket.ts, after_in_day.ts, after_later.ts) as after_ts

    from landed as b
    left join before_in_bucket using (site, point)
    left join before_in_day using (site, point)
    left join before_earlier using (site, point)
    left join after_in_bucket using (site, point)
    left join after_in_day using (site, point)
    left join after_later using (site, point)

)

select * from final

{%- else %}

-- point_gaps is rebuilt from all samples: no region
select
    cast(null as varchar) as site,
    cast(null as varchar) as point,
    cast({{ range.lo }} as bigint) as from_file_id,
    cast(null as boolean) as is_whole,
    cast(null as timestamp with time zone) as min_ts,
    cast(null as timestamp with time zone) as max_ts,
    cast(null as timestamp with time zone) as before_ts,
    cast(null as timestamp with time zone) as after_ts
where false

{%- endif %}
