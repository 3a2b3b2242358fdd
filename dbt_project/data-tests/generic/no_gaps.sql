{#-
    No point has a gap inside the recent window: consecutive rows of each `partition_by`
    group, within `window_hours` before as_of, are at most
    max(var gap_threshold_seconds, var gap_k x the group's collect_interval) apart.
    The interval comes from `intervals` (a relation with the partition columns and
    collect_interval, e.g. ref('points')), default var default_collect_interval.
    Set the severity (warn or error) in the test's config; a fleet always has some gaps.
-#}
{% test no_gaps(model, ts_column='ts', partition_by=['site', 'point'], intervals=none, window_hours=24) %}

{%- set keys = partition_by | join(', ') %}

with

recent as (

    select {{ keys }}, {{ ts_column }} as ts
    from {{ model }}
    where {{ ts_column }} >= {{ ace_as_of() }} - {{ ace_seconds(window_hours * 3600) }}
        and {{ ts_column }} <= {{ ace_as_of() }}

),

consecutive as (

    select
        {{ keys }},
        ts as gap_start,
        lead(ts) over (partition by {{ keys }} order by ts) as gap_end
    from recent

),

measured as (

    select
        consecutive.*,
        {%- if intervals is not none %}
        coalesce(intervals.collect_interval, {{ ace_default_interval() }}) as collect_interval
        {%- else %}
        {{ ace_default_interval() }} as collect_interval
        {%- endif %}
    from consecutive
    {%- if intervals is not none %}
    left join {{ intervals }} as intervals
        using ({{ keys }})
    {%- endif %}
    where consecutive.gap_end is not null

)

select *
from measured
where {{ ace_epoch_seconds('gap_end - gap_start') }} > {{ ace_gap_threshold('collect_interval') }}

{% endtest %}
