-- Per point: the configured interval, the observed one (the median spacing between the
-- consecutive samples of its measuring window, the hours from 24 before the hour of its
-- latest sample on, each spacing in whole seconds, rounded to the nearest level of
-- ace_interval_levels on a ratio scale, from at least 2 spacings), whether they mismatch,
-- and the interval n_expected, coverage and the gap rule use (var interval_source). Tracks
-- when that expected interval (or the configured one) last changed, so the aggregates,
-- data_quality_daily and point_gaps re-derive that point's rows. Incremental: the observed
-- interval is taken again, from int_point_spacings' histograms, for the points with samples
-- landed since the last run (their window is the only one that can move); every other row
-- is carried over.
-- (refs used through macros, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('int_point_spacings') }}
{{
    config(
        unique_key=['site', 'point'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['int_point_spacings', 'int_point_metadata']) }}",
        meta={'ace_settings': ['default_collect_interval', 'interval_source']},
    )
}}

{%- set range = ace_pending_range(['int_point_spacings', 'int_point_metadata']) %}
{%- set measured_points = 'landed_points' if is_incremental() else none %}
{%- set mismatch = ace_interval_mismatch('observed_interval', 'configured_interval') %}
{%- set expected = ace_expected_interval('observed_interval', 'configured_interval', mismatch) %}

with

{%- if is_incremental() %}

landed_points as (

    select distinct
        raw_rows.site,
        raw_rows.point
    from {{ ace_landed_samples(range) }} as raw_rows

),

{%- endif %}

-- the int_point_spacings rows in the window of each (landed) point
window_hours as (

    {{ ace_window_hours(measured_points) }}

),

-- the observed interval of each (landed) point (macros/intervals.sql)
observed as (

    {{ ace_observed_intervals('window_hours') }}

),

every_point as (

    select
        coalesce(metadata.site, activity.site) as site,
        coalesce(metadata.point, activity.point) as point,
        coalesce(metadata.collect_interval, {{ ace_default_interval() }}) as configured_interval,
        coalesce(
            metadata.interval_changed_file_id > {{ range.lo }}
            and metadata.interval_changed_file_id <= {{ range.hi }},
            false
        ) as is_configured_changed

    from {{ ref('int_point_metadata') }} as metadata
    full outer join {{ ref('int_point_activity') }} as activity
        on metadata.site = activity.site and metadata.point = activity.point

),

{%- if is_incremental() %}

measured as (

    -- a point with landed samples takes its new measurement, any other keeps its own
    select
        every_point.*,
        {%- for column in ['median_spacing', 'n_spacings', 'observed_interval'] %}
        case
            when landed_points.site is not null then observed.{{ column }} else previous.{{ column }}
        end as {{ column }},
        {%- endfor %}
        previous.expected_interval as previous_expected_interval,
        previous.interval_changed_file_id as previous_changed_file_id

    from every_point
    left join landed_points
        on every_point.site = landed_points.site and every_point.point = landed_points.point
    left join observed
        on every_point.site = observed.site and every_point.point = observed.point
    left join {{ this }} as previous
        on every_point.site = previous.site and every_point.point = previous.point

),

{%- else %}

measured as (

    select
        every_point.*,
        observed.median_spacing,
        observed.n_spacings,
        observed.observed_interval,
        cast(null as double) as previous_expected_interval,
        cast(null as bigint) as previous_changed_file_id

    from every_point
    left join observed
        on every_point.site = observed.site and every_point.point = observed.point

),

{%- endif %}

final as (

    select
        site,
        point,
        configured_interval,
        median_spacing,
        n_spacings,
        observed_interval,
        {{ mismatch }} as is_interval_mismatch,
        {{ expected }} as expected_interval,
        {%- if is_incremental() %}
        case
            when
                is_configured_changed
                or {{ expected }}
                is distinct from coalesce(previous_expected_interval, {{ ace_default_interval() }})
                then cast({{ range.hi }} as bigint)
            else previous_changed_file_id
        end as interval_changed_file_id
        {%- else %}
        -- a rebuild: every point counts as changed, so incremental consumers re-derive all
        cast({{ range.hi }} as bigint) as interval_changed_file_id
        {%- endif %}

    from measured

)

select * from final
