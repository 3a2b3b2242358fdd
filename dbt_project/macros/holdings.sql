{#-
    Holdings: the time each numeric sample's value is held (docs/warehouse.md,
    "Time-weighted figures and runtime"). A numeric sample holds its value from its time until
    the point's next sample (of any kind), unless that one is further away than the gap
    threshold (or there is none yet): then for one expected interval only. A non-numeric
    sample holds nothing. int_point_holdings splits the holdings at the boundaries of the
    ladder's finest buckets; every aggregate sums them over its own buckets.

    A sample landing at t can change the holdings between the previous sample (at most one
    gap threshold before t) and t's own holding's end (at most one threshold after): the
    buckets an incremental run recomputes are those overlapping [t - threshold, t + threshold]
    for every landed sample (ace_touched_buckets, ace_touched_days).
-#}

{% macro ace_holdings_seconds() -%}
    {#- The width (seconds) of int_point_holdings' buckets: the finest grain of the ladder
        (5 minutes while parsing). Every other grain is a multiple of it, and every zone
        offset in use is a multiple of 5 minutes, so its buckets nest in all of them. -#}
    {%- set ladder = ace_ladder() -%}
    {{- return(ladder[0].seconds if ladder else 300) -}}
{%- endmacro %}


{% macro ace_hold_params() -%}
    {#- Per point: hold_us (the expected interval, held after the last sample before a gap)
        and gap_us (the gap threshold), in microseconds. -#}
    select
        site,
        point,
        cast(expected_interval * 1000000 as bigint) as hold_us,
        cast({{ ace_gap_threshold('expected_interval') }} * 1000000 as bigint) as gap_us

    from {{ ref('int_point_intervals') }}
{%- endmacro %}


{% macro ace_default_gap_us() -%}
    cast({{ ace_gap_threshold(ace_default_interval()) }} * 1000000 as bigint)
{%- endmacro %}


{% macro ace_landed_spans(landed, params) -%}
    {#- Per point and hour of the landed samples: the earliest and latest landed time and
        the point's gap threshold, in microseconds (few rows, whatever the delta's size). -#}
    select
        raw_rows.site,
        raw_rows.point,
        min({{ ace_epoch_microseconds('raw_rows.ts') }}) as lo_us,
        max({{ ace_epoch_microseconds('raw_rows.ts') }}) as hi_us,
        coalesce(min({{ params }}.gap_us), {{ ace_default_gap_us() }}) as gap_us

    from {{ landed }} as raw_rows
    left join {{ params }}
        on raw_rows.site = {{ params }}.site and raw_rows.point = {{ params }}.point
    group by
        raw_rows.site,
        raw_rows.point,
        {{ ace_epoch_microseconds('raw_rows.ts') }} // 3600000000
{%- endmacro %}


{% macro ace_touched_buckets(spans, seconds) -%}
    {#- The UTC buckets of `seconds` overlapping [lo - gap, hi + gap] of each landed span:
        (site, point, idx, bucket_start), idx the bucket's number since 1970. -#}
    {%- set w = seconds * 1000000 -%}
    select distinct
        spread.site,
        spread.point,
        spread.idx,
        {{ ace_from_epoch_microseconds('spread.idx * ' ~ w) }} as bucket_start

    from (
        select
            {{ spans }}.site,
            {{ spans }}.point,
            unnest(range(
                ({{ spans }}.lo_us - {{ spans }}.gap_us) // {{ w }},
                ({{ spans }}.hi_us + {{ spans }}.gap_us) // {{ w }} + 1
            )) as idx
        from {{ spans }}
    ) as spread
{%- endmacro %}


{% macro ace_touched_days(spans, zone) -%}
    {#- The local days (zone: a SQL expression of site) overlapping [lo - gap, hi + gap] of
        each landed span: (site, point, day). -#}
    select distinct
        spread.site,
        spread.point,
        spread.first_day + cast(spread.offset_days as integer) as day

    from (
        select
            bounds.site,
            bounds.point,
            bounds.first_day,
            unnest(range(0, date_diff('day', bounds.first_day, bounds.last_day) + 1)) as offset_days
        from (
            select
                {{ spans }}.site,
                {{ spans }}.point,
                {{ ace_local_date(ace_from_epoch_microseconds(spans ~ '.lo_us - ' ~ spans ~ '.gap_us'), zone) }} as first_day,
                {{ ace_local_date(ace_from_epoch_microseconds(spans ~ '.hi_us + ' ~ spans ~ '.gap_us'), zone) }} as last_day
            from {{ spans }}
        ) as bounds
    ) as spread
{%- endmacro %}


{% macro ace_holding_sums(holdings) -%}
    {#- Sums of int_point_holdings rows (alias `holdings`) over one aggregate bucket. -#}
    fsum({{ holdings }}.tw_sum) as tw_sum,
    fsum({{ holdings }}.known_seconds) as known_seconds,
    fsum({{ holdings }}.on_seconds) as on_seconds,
    cast(sum({{ holdings }}.n_non_binary) as bigint) as n_non_binary,
    cast(sum({{ holdings }}.starts) as bigint) as starts
{%- endmacro %}


{% macro ace_finish_holdings(sums) -%}
    {#- The time-weighted contract columns of an aggregate row from its holding sums. -#}
    {{ sums }}.tw_sum / nullif({{ sums }}.known_seconds, 0) as tw_avg,
    coalesce({{ sums }}.known_seconds, 0) as known_seconds,
    case
        when {{ sums }}.known_seconds > 0 and {{ sums }}.n_non_binary = 0
            then coalesce({{ sums }}.on_seconds, 0)
    end as on_seconds,
    case
        when {{ sums }}.known_seconds > 0 and {{ sums }}.n_non_binary = 0 then {{ sums }}.starts
    end as starts
{%- endmacro %}
