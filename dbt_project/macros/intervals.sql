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


{% macro ace_observed_intervals(samples, points=none) -%}
    {#- A select of (site, point, median_spacing, n_spacings, observed_interval): per point,
        the median spacing (seconds) of its samples in `samples` of the last 24 hours before
        its latest sample (int_point_activity.last_ts), how many spacings that is, and the
        median rounded to the nearest of ace_interval_levels on a ratio scale; only points
        with at least 2 spacings. points: a relation or CTE of (site, point) the samples are
        limited to (an incremental run's landed points), none for every point. -#}
    select
        medians.site,
        medians.point,
        medians.median_spacing,
        medians.n_spacings,
        arg_min(
            levels.level, abs(ln(medians.median_spacing / levels.level))
        ) as observed_interval

    from (
        select
            spacings.site,
            spacings.point,
            median(spacings.spacing_us) / 1e6 as median_spacing,
            count(spacings.spacing_us) as n_spacings
        from (
            -- each sample's distance to the point's previous one: the point's instants as
            -- one sorted list of integers, unnested twice side by side (several times
            -- faster than a lag() window over (site, point), which sorts on the two strings)
            select
                per_point.site,
                per_point.point,
                unnest(list_slice(per_point.instants, 2, len(per_point.instants)))
                - unnest(list_slice(per_point.instants, 1, len(per_point.instants) - 1)) as spacing_us
            from (
                select
                    recent.site,
                    recent.point,
                    list({{ ace_epoch_microseconds('recent.ts') }} order by recent.ts) as instants
                from (
                    select
                        s.site,
                        s.point,
                        s.ts
                    from {{ samples }} as s
                    inner join {{ ref('int_point_activity') }} as activity
                        on
                            s.site = activity.site
                            and s.point = activity.point
                            and s.ts >= activity.last_ts - interval 1 day
                    {%- if points is not none %}
                    semi join {{ points }}
                        on s.site = {{ points }}.site and s.point = {{ points }}.point
                    {%- endif %}
                ) as recent
                group by recent.site, recent.point
            ) as per_point
        ) as spacings
        group by spacings.site, spacings.point
    ) as medians
    cross join (select unnest({{ ace_interval_levels() }}) as level) as levels
    where medians.n_spacings >= 2 and medians.median_spacing > 0
    group by medians.site, medians.point, medians.median_spacing, medians.n_spacings
{%- endmacro %}
