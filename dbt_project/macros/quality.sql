{#-
    data_quality_daily (docs/warehouse.md, "data_quality_daily"): the landed copies it
    counts, and how a local day is scored while it is still running.
-#}

{% macro ace_daily_landings(range) -%}
    {#- A select of (site, point, day, landed): per point and local day (the site's zone, as
        samples_1d), the sample rows the raw files of a pending range hold; a rebuild also
        counts the raw files the retention deleted (macros/retention.sql). -#}
    select
        landed_files.site,
        landed_files.point,
        landed_files.day,
        cast(sum(landed_files.landed) as bigint) as landed

    from (
        select
            raw_rows.site,
            raw_rows.point,
            {{ ace_local_date('raw_rows.ts', ace_site_timezone('raw_rows.site')) }} as day,
            count(*) as landed

        from {{ ace_landed_samples(range) }} as raw_rows
        group by all

        union all

        -- a UTC 5-minute bucket lies in one local day (every zone offset is a multiple of
        -- 5 min)
        select
            pruned.site,
            pruned.point,
            {{ ace_local_date('pruned.first_ts', ace_site_timezone('pruned.site')) }} as day,
            pruned.n_landed as landed

        from {{ ace_pruned_landings(range) }} as pruned
    ) as landed_files
    group by all
{%- endmacro %}


{% macro ace_day_scaling(d) -%}
    {#- SQL expressions for a local day of samples_1d (alias d): is_complete (it ended by
        as_of), expected (the samples it expects: all of them when complete, else those of
        its elapsed part, to as_of or to its last sample if later) and scored_seconds (the
        seconds of the day, or of its elapsed part), as a dict. -#}
    {%- set day_end = ace_local_midnight(d ~ '.day + 1', ace_site_timezone(d ~ '.site')) -%}
    {%- set is_complete = day_end ~ ' <= ' ~ ace_as_of() -%}
    {%- set day_seconds = ace_epoch_seconds(day_end ~ ' - ' ~ d ~ '.bucket_start') -%}
    {%- set elapsed_seconds = 'greatest(' ~ ace_epoch_seconds('least(' ~ day_end ~ ', greatest('
        ~ ace_as_of() ~ ', ' ~ d ~ '.last_ts)) - ' ~ d ~ '.bucket_start') ~ ', 0)' -%}
    {{- return({
        'is_complete': is_complete,
        'expected': 'case when ' ~ is_complete ~ ' then ' ~ d ~ '.n_expected else ' ~ d
            ~ '.n_expected * ' ~ elapsed_seconds ~ ' / ' ~ day_seconds ~ ' end',
        'scored_seconds': 'case when ' ~ is_complete ~ ' then ' ~ day_seconds ~ ' else '
            ~ elapsed_seconds ~ ' end',
    }) -}}
{%- endmacro %}
