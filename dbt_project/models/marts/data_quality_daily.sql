-- Per point per local day (the site's zone, as samples_1d): what was expected, what
-- arrived, what was missing or non-numeric, how often samples were landed more than once,
-- and a quality score. Incremental: the days touched by the files landed since the last run
-- are re-read from samples_1d, and their landed-row counts are increased by what those files
-- hold (a count, so it is exact only because the progress is recorded in the same
-- transaction); a point whose collect_interval changed has every day re-derived.
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('int_point_metadata') }}
{{
    config(
        unique_key=['site', 'point', 'day'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['samples_1d']) }}",
        meta={'ace_settings': ['default_collect_interval', 'site_timezones', 'default_timezone']},
    )
}}

{%- set range = ace_pending_range(['samples_1d']) %}

with

landed as (

    select
        raw_rows.site,
        raw_rows.point,
        {{ ace_local_date('raw_rows.ts', ace_site_timezone('raw_rows.site')) }} as day,
        count(*) as landed

    from {{ ace_landed_samples(range) }} as raw_rows
    group by all

),

{%- if is_incremental() %}

interval_changed as (

    select site, point
    from {{ ref('int_point_metadata') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}

),

touched as (

    select site, point, day from landed
    union
    select held.site, held.point, held.day
    from {{ this }} as held
    semi join interval_changed
        on held.site = interval_changed.site and held.point = interval_changed.point

),

days as (

    select daily.*
    from {{ ref('samples_1d') }} as daily
    semi join touched
        on daily.site = touched.site and daily.point = touched.point and daily.day = touched.day

),

landed_total as (

    select
        days.site,
        days.point,
        days.day,
        coalesce(held.landed, 0) + coalesce(landed.landed, 0) as landed

    from days
    left join {{ this }} as held
        on days.site = held.site and days.point = held.point and days.day = held.day
    left join landed
        on days.site = landed.site and days.point = landed.point and days.day = landed.day

),

{%- else %}

days as (

    select * from {{ ref('samples_1d') }}

),

landed_total as (

    select
        site,
        point,
        day,
        landed
    from landed

),

{%- endif %}

measured as (

    select
        days.site,
        days.point,
        days.day,
        days.bucket_start,
        days.n_expected as expected,
        days.n_total as actual,
        days.n as numeric,
        days.n_total - days.n as non_numeric,
        greatest(days.n_expected - days.n_total, 0) as missing,
        coalesce(landed_total.landed, 0) as landed,
        coalesce(landed_total.landed, 0) - days.n_total as duplicate_landings,
        days.coverage

    from days
    left join landed_total
        on
            days.site = landed_total.site
            and days.point = landed_total.point
            and days.day = landed_total.day

),

scored as (

    select
        measured.*,
        -- completeness (actual / expected, at most 1) x validity (numeric / actual)
        least(cast(measured.actual as double) / measured.expected, 1.0)
        * (cast(measured.numeric as double) / nullif(measured.actual, 0)) as quality_score

    from measured

)

select * from scored
{%- if not is_incremental() %}
order by day, site, point
{%- endif %}
