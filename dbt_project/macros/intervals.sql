{#-
    Observed intervals (docs/warehouse.md, "Observed intervals"): the interval a point
    actually reports at, and the one n_expected, coverage and the gap rule use.
-#}

{% macro ace_interval_levels() -%}
    {#- The intervals (seconds) an observed spacing is rounded to. -#}
    {{- return([30, 60, 120, 300, 600, 900, 1800, 3600]) -}}
{%- endmacro %}


{% macro ace_interval_source() -%}
    {#- var interval_source, checked: configured, observed or auto (the default). -#}
    {%- set source = var('interval_source', 'auto') -%}
    {%- if source not in ('configured', 'observed', 'auto') -%}
        {{ exceptions.raise_compiler_error(
            "var interval_source is " ~ source ~ ": it must be configured, observed or auto") }}
    {%- endif -%}
    {{- return(source) -}}
{%- endmacro %}


{% macro ace_interval_mismatch(observed, configured) -%}
    {#- Whether the observed interval is at least twice the configured one, or at most half. -#}
    coalesce(
        {{ observed }} >= 2 * {{ configured }} or {{ observed }} * 2 <= {{ configured }},
        false
    )
{%- endmacro %}


{% macro ace_expected_interval(observed, configured, is_mismatch) -%}
    {#- The interval n_expected, coverage and the gap rule use, by var interval_source. -#}
    {%- set source = ace_interval_source() -%}
    {%- if source == 'configured' -%}
        cast({{ configured }} as double)
    {%- elif source == 'observed' -%}
        cast(coalesce({{ observed }}, {{ configured }}) as double)
    {%- else -%}
        cast(case when {{ is_mismatch }} then {{ observed }} else {{ configured }} end as double)
    {%- endif -%}
{%- endmacro %}


{% macro ace_spacing_window_start(last_ts) -%}
    {#- Where a point's measuring window starts: the UTC hour 24 hours before the hour of its
        latest sample (int_point_activity.last_ts). -#}
    {{ ace_bucket_start(last_ts, 3600) }} - interval 24 hour
{%- endmacro %}


{% macro ace_spacing_seconds(us) -%}
    {#- A spacing in microseconds as whole seconds, rounded half up. -#}
    cast(floor(({{ us }} + 500000) / 1000000.0) as bigint)
{%- endmacro %}


{% macro ace_hour_spacings(samples, by_list=false) -%}
    {#- A select of int_point_spacings' rows from a relation of (site, point, hour_start, ts):
        per point and hour, the first and last sample time, the number of samples, and one
        row per distinct spacing (whole seconds) between consecutive samples of the hour with
        how many there are (an hour of one sample: one row, spacing_seconds null and
        n_spacings 0). by_list: take the spacings from each hour's instants as one sorted
        list, unnested twice side by side (about twice as fast as a lag() window, which
        sorts on the two strings, but a list aggregate cannot spill to disk: for the small
        input of an incremental run); else a lag() window, which a rebuild under a memory
        limit can spill. -#}
    select
        per_hour.site,
        per_hour.point,
        per_hour.hour_start,
        per_hour.first_ts,
        per_hour.last_ts,
        per_hour.n_samples,
        histogram.spacing_seconds,
        coalesce(histogram.n_spacings, 0) as n_spacings

    from (
        select
            site,
            point,
            hour_start,
            min(ts) as first_ts,
            max(ts) as last_ts,
            count(*) as n_samples
        from {{ samples }}
        group by site, point, hour_start
    ) as per_hour
    left join (
        select
            spacings.site,
            spacings.point,
            spacings.hour_start,
            {{ ace_spacing_seconds('spacings.spacing_us') }} as spacing_seconds,
            count(*) as n_spacings
        from (
            {%- if by_list %}
            select
                per_list.site,
                per_list.point,
                per_list.hour_start,
                unnest(list_slice(per_list.instants, 2, len(per_list.instants)))
                - unnest(list_slice(per_list.instants, 1, len(per_list.instants) - 1)) as spacing_us
            from (
                select
                    site,
                    point,
                    hour_start,
                    list({{ ace_epoch_microseconds('ts') }} order by ts) as instants
                from {{ samples }}
                group by site, point, hour_start
            ) as per_list
            {%- else %}
            select
                site,
                point,
                hour_start,
                {{ ace_epoch_microseconds('ts') }}
                - lag({{ ace_epoch_microseconds('ts') }}) over (
                    partition by site, point, hour_start order by ts
                ) as spacing_us
            from {{ samples }}
            {%- endif %}
        ) as spacings
        where spacings.spacing_us is not null
        group by spacings.site, spacings.point, spacings.hour_start, spacing_seconds
    ) as histogram
        on
            per_hour.site = histogram.site
            and per_hour.point = histogram.point
            and per_hour.hour_start = histogram.hour_start
{%- endmacro %}


{% macro ace_prune_spacings() -%}
    {#- int_point_spacings' post-hook: delete the hours that have left their point's window. -#}
    delete from {{ this }} as held
    using {{ ref('int_point_activity') }} as activity
    where
        held.site = activity.site
        and held.point = activity.point
        and held.hour_start < {{ ace_spacing_window_start('activity.last_ts') }}
{%- endmacro %}


{% macro ace_observed_intervals(hours) -%}
    {#- A select of (site, point, median_spacing, n_spacings, observed_interval): per point,
        the median spacing (seconds) between its consecutive samples in its measuring window
        (int_point_spacings: each spacing in whole seconds; the spacings within each hour
        and those between one hour's last sample and the next hour's first), how many
        spacings that is, and the median rounded to the nearest of ace_interval_levels on a
        ratio scale; only points with at least 2 spacings. hours: a relation or CTE of the
        int_point_spacings rows to measure (ace_window_hours). -#}
    select
        medians.site,
        medians.point,
        medians.median_spacing,
        medians.n_spacings,
        arg_min(
            levels.level, abs(ln(medians.median_spacing / levels.level))
        ) as observed_interval

    from (
        -- the median from the histogram: the mean of the values at 0-based positions
        -- (n - 1) // 2 and n // 2 of the sorted spacings
        select
            ranked.site,
            ranked.point,
            (
                min(ranked.spacing_seconds) filter (where ranked.up_to > (ranked.total - 1) // 2)
                + min(ranked.spacing_seconds) filter (where ranked.up_to > ranked.total // 2)
            ) / 2.0 as median_spacing,
            max(ranked.total) as n_spacings
        from (
            select
                histogram.*,
                sum(histogram.n) over (
                    partition by histogram.site, histogram.point order by histogram.spacing_seconds
                    rows between unbounded preceding and current row
                ) as up_to,
                sum(histogram.n) over (partition by histogram.site, histogram.point) as total
            from (
                select
                    parts.site,
                    parts.point,
                    parts.spacing_seconds,
                    sum(parts.n) as n
                from (
                    select
                        hours.site,
                        hours.point,
                        hours.spacing_seconds,
                        hours.n_spacings as n
                    from {{ hours }} as hours
                    where hours.n_spacings > 0

                    union all

                    -- from each hour's first sample back to the last one of the previous
                    -- hour with samples in the window
                    select
                        bounds.site,
                        bounds.point,
                        {{ ace_spacing_seconds(
                            ace_epoch_microseconds('bounds.first_ts') ~ ' - '
                            ~ ace_epoch_microseconds('bounds.previous_last_ts')) }} as spacing_seconds,
                        1 as n
                    from (
                        select
                            hour_bounds.*,
                            lag(hour_bounds.last_ts) over (
                                partition by hour_bounds.site, hour_bounds.point order by hour_bounds.hour_start
                            ) as previous_last_ts
                        from (
                            select distinct site, point, hour_start, first_ts, last_ts
                            from {{ hours }}
                        ) as hour_bounds
                    ) as bounds
                    where bounds.previous_last_ts is not null
                ) as parts
                group by parts.site, parts.point, parts.spacing_seconds
            ) as histogram
        ) as ranked
        group by ranked.site, ranked.point
    ) as medians
    cross join (select unnest({{ ace_interval_levels() }}) as level) as levels
    where medians.n_spacings >= 2 and medians.median_spacing > 0
    group by medians.site, medians.point, medians.median_spacing, medians.n_spacings
{%- endmacro %}


{% macro ace_window_hours(points=none) -%}
    {#- A select of int_point_spacings' rows inside each point's current window, limited to
        the (site, point) of `points` when given. -#}
    select spacings.*
    from {{ ref('int_point_spacings') }} as spacings
    inner join {{ ref('int_point_activity') }} as activity
        on
            spacings.site = activity.site
            and spacings.point = activity.point
            and spacings.hour_start >= {{ ace_spacing_window_start('activity.last_ts') }}
    {%- if points is not none %}
    semi join {{ points }}
        on spacings.site = {{ points }}.site and spacings.point = {{ points }}.point
    {%- endif %}
{%- endmacro %}
