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
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('int_point_intervals') }}
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
{#- a local day of samples_1d (alias d): its end, whether it ended by as_of, its seconds,
    and those of its elapsed part (to as_of, or to its last sample if later) -#}
{%- set day_end = ace_local_midnight('d.day + 1', ace_site_timezone('d.site')) %}
{%- set is_complete = day_end ~ ' <= ' ~ ace_as_of() %}
{%- set day_seconds = ace_epoch_seconds(day_end ~ ' - d.bucket_start') %}
{%- set elapsed_seconds = 'greatest(' ~ ace_epoch_seconds('least(' ~ day_end ~ ', greatest('
    ~ ace_as_of() ~ ', d.last_ts)) - d.bucket_start') ~ ', 0)' %}
{%- set expected = 'case when ' ~ is_complete ~ ' then d.n_expected else d.n_expected * '
    ~ elapsed_seconds ~ ' / ' ~ day_seconds ~ ' end' %}
{%- set scored_seconds = 'case when ' ~ is_complete ~ ' then ' ~ day_seconds ~ ' else '
    ~ elapsed_seconds ~ ' end' %}

with

intervals as (

    select
        site,
        point,
        configured_interval,
        observed_interval
    from {{ ref('int_point_intervals') }}

),

landed_files as (

    select
        raw_rows.site,
        raw_rows.point,
        {{ ace_local_date('raw_rows.ts', ace_site_timezone('raw_rows.site')) }} as day,
        count(*) as landed

    from {{ ace_landed_samples(range) }} as raw_rows
    group by all

    union all

    -- a rebuild also counts the raw files the retention deleted (macros/retention.sql); a
    -- UTC 5-minute bucket lies in one local day (every zone offset is a multiple of 5 min)
    select
        pruned.site,
        pruned.point,
        {{ ace_local_date('pruned.first_ts', ace_site_timezone('pruned.site')) }} as day,
        pruned.n_landed as landed

    from {{ ace_pruned_landings(range) }} as pruned

),

landed as (

    select
        site,
        point,
        day,
        cast(sum(landed) as bigint) as landed

    from landed_files
    group by all

),

{%- if is_incremental() %}

interval_changed as (

    select site, point
    from {{ ref('int_point_intervals') }}
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
    union
    -- a day unfinished when last scored whose elapsed part has grown since (a later as_of)
    select held.site, held.point, held.day
    from {{ this }} as held
    inner join {{ ref('samples_1d') }} as d
        on held.site = d.site and held.point = d.point and held.day = d.day
    where not held.is_complete and ({{ is_complete }} or {{ expected }} <> held.expected)

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

scaled as (

    -- a day that ended by as_of is complete and expects all its samples; an unfinished one
    -- (today, or the last day of the data) only those of its elapsed part
    select
        d.*,
        {{ is_complete }} as is_complete,
        {{ expected }} as expected,
        {{ scored_seconds }} as scored_seconds

    from days as d

),

measured as (

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
        coalesce(landed_total.landed, 0) as landed,
        coalesce(landed_total.landed, 0) - scaled.n_total as duplicate_landings,
        case
            when scaled.is_complete then scaled.coverage
            else scaled.n / nullif(scaled.expected, 0)
        end as coverage,
        scaled.is_complete,
        scaled.scored_seconds,
        coalesce(
            intervals.configured_interval, {{ ace_default_interval() }}
        ) as configured_interval,
        intervals.observed_interval

    from scaled
    left join intervals
        on scaled.site = intervals.site and scaled.point = intervals.point
    left join landed_total
        on
            scaled.site = landed_total.site
            and scaled.point = landed_total.point
            and scaled.day = landed_total.day

),

scored as (

    select
        measured.site,
        measured.point,
        measured.day,
        measured.bucket_start,
        measured.expected,
        measured.actual,
        measured.numeric,
        measured.non_numeric,
        measured.missing,
        measured.landed,
        measured.duplicate_landings,
        measured.coverage,
        -- completeness (actual / expected, at most 1; 1 when nothing was expected yet) x
        -- validity (numeric / actual)
        coalesce(least(cast(measured.actual as double) / nullif(measured.expected, 0), 1.0), 1.0)
        * (cast(measured.numeric as double) / nullif(measured.actual, 0)) as quality_score,
        measured.is_complete,
        -- what the configured and the observed interval expect over the scored seconds
        measured.scored_seconds / measured.configured_interval as expected_configured,
        measured.scored_seconds / measured.observed_interval as expected_observed

    from measured

)

select * from scored
{%- if not is_incremental() %}
order by day, site, point
{%- endif %}
