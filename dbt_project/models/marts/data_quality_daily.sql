-- Per point per local day (the site's zone, as samples_1d): what was expected, what
-- arrived, what was missing or non-numeric, how often samples were landed more than once,
-- and a quality score. Incremental: the days touched by the files landed since the last run
-- are re-read from samples_1d, and their landed-row counts are increased by what those files
-- hold (a count, so it is exact only because the progress is recorded in the same
-- transaction); a point whose expected (or configured) interval changed has every day
-- re-derived, and a day unfinished at the last run (is_complete false) is re-scored against
-- this run's as_of. expected follows var interval_source (int_point_intervals);
-- expected_configured and expected_observed show what the configured and the observed
-- interval would expect (over the elapsed part, for an unfinished day).
-- (refs used through macros, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}
{{
    config(
        unique_key=['site', 'point', 'day'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['samples_1d']) }}",
        meta={
            'ace_settings': [
                'default_collect_interval', 'interval_source', 'site_timezones', 'default_timezone'
            ],
            'ace_columns_version': 3,
        },
    )
}}

{%- set range = ace_pending_range(['samples_1d']) %}
{#- a local day of samples_1d (alias d): whether it ended by as_of, what it expects, and the
    seconds it is scored over (macros/quality.sql) -#}
{%- set day = ace_day_scaling('d') %}
{%- set landed_total = 'coalesce(held.landed, 0) + coalesce(landed.landed, 0)'
    if is_incremental() else 'coalesce(landed.landed, 0)' %}

with

landed as (

    -- the rows the files of the range landed, per point and local day (macros/quality.sql)
    {{ ace_daily_landings(range) }}

),

{%- if is_incremental() %}

changed as (

    {{ ace_changed_points(range) }}

),

touched as (

    select site, point, day from landed
    union
    select held.site, held.point, held.day
    from {{ this }} as held
    semi join changed
        on held.site = changed.site and held.point = changed.point
    union
    -- a day unfinished when last scored whose elapsed part has grown since (a later as_of)
    select held.site, held.point, held.day
    from {{ this }} as held
    inner join {{ ref('samples_1d') }} as d
        on held.site = d.site and held.point = d.point and held.day = d.day
    where not held.is_complete and ({{ day.is_complete }} or {{ day.expected }} <> held.expected)

),

days as (

    select daily.*
    from {{ ref('samples_1d') }} as daily
    semi join touched
        on daily.site = touched.site and daily.point = touched.point and daily.day = touched.day

),

{%- else %}

days as (

    select * from {{ ref('samples_1d') }}

),

{%- endif %}

scaled as (

    -- a day that ended by as_of is complete and expects all its samples; an unfinished one
    -- (today, or the last day of the data) only those of its elapsed part
    select
        d.*,
        {{ day.is_complete }} as is_complete,
        {{ day.expected }} as expected,
        {{ day.scored_seconds }} as scored_seconds

    from days as d

),

scored as (

    select
        scaled.site,
        scaled.point,
        scaled.day,
        scaled.bucket_start,
        scaled.expected,
        scaled.n_total as actual,
        scaled.n as numeric,
        scaled.n_total - scaled.n as non_numeric,
        greatest(scaled.expected - scaled.n_total, 0) as missing,
        -- the rows landed: those held (an incremental run) and those of the new files
        {{ landed_total }} as landed,
        {{ landed_total }} - scaled.n_total as duplicate_landings,
        case
            when scaled.is_complete then scaled.coverage
            else scaled.n / nullif(scaled.expected, 0)
        end as coverage,
        -- completeness (actual / expected, at most 1; 1 when nothing was expected yet) x
        -- validity (numeric / actual)
        coalesce(least(cast(scaled.n_total as double) / nullif(scaled.expected, 0), 1.0), 1.0)
        * (cast(scaled.n as double) / nullif(scaled.n_total, 0)) as quality_score,
        scaled.is_complete,
        -- what the configured and the observed interval expect over the scored seconds
        scaled.scored_seconds
        / coalesce(intervals.configured_interval, {{ ace_default_interval() }})
            as expected_configured,
        scaled.scored_seconds / intervals.observed_interval as expected_observed

    from scaled
    left join {{ ref('int_point_intervals') }} as intervals
        on scaled.site = intervals.site and scaled.point = intervals.point
    left join landed
        on scaled.site = landed.site and scaled.point = landed.point and scaled.day = landed.day
    {%- if is_incremental() %}
    left join {{ this }} as held
        on scaled.site = held.site and scaled.point = held.point and scaled.day = held.day
    {%- endif %}

)

select * from scored
{%- if not is_incremental() %}
order by day, site, point
{%- endif %}
