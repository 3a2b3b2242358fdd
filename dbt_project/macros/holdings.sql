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

{% macro ace_changed_points(range) -%}
    {#- A select of the (site, point) whose expected (or configured) interval changed in the
        pending range (int_point_intervals): their holdings, buckets, days of
        data_quality_daily and gaps (int_gap_landed) are computed again in full. -#}
    select site, point
    from {{ ref('int_point_intervals') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}
{%- endmacro %}


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


{% macro ace_read_windows(touched, params, w) -%}
    {#- A select of (site, point, island, read_from, read_to): the touched buckets (CTE
        `touched`: site, point, idx) grouped into runs close enough that their reads meet, each
        run read from one gap threshold before its first bucket to one after its last (every
        sample whose holding or start can reach into the run, and the neighbours those need).
        Runs never overlap, so no sample is read twice; w is the bucket width in us. -#}
    select
        runs.site,
        runs.point,
        runs.island,
        {{ ace_from_epoch_microseconds('min(runs.idx) * ' ~ w ~ ' - max(runs.gap_us)') }} as read_from,
        {{ ace_from_epoch_microseconds('(max(runs.idx) + 1) * ' ~ w ~ ' + max(runs.gap_us)') }} as read_to

    from (
        select
            spaced.site,
            spaced.point,
            spaced.idx,
            spaced.gap_us,
            sum(case when spaced.idx - spaced.previous_idx <= 1 + 2 * ceil(spaced.gap_us / {{ w }}) then 0 else 1 end)
                over (partition by spaced.site, spaced.point order by spaced.idx) as island
        from (
            select
                {{ touched }}.site,
                {{ touched }}.point,
                {{ touched }}.idx,
                coalesce({{ params }}.gap_us, {{ ace_default_gap_us() }}) as gap_us,
                lag({{ touched }}.idx) over (
                    partition by {{ touched }}.site, {{ touched }}.point order by {{ touched }}.idx
                ) as previous_idx
            from {{ touched }}
            left join {{ params }}
                on {{ touched }}.site = {{ params }}.site and {{ touched }}.point = {{ params }}.point
        ) as spaced
    ) as runs
    group by runs.site, runs.point, runs.island
{%- endmacro %}


{% macro ace_holding_buckets(scoped, params, w) -%}
    {#- A select of (site, point, idx, tw_sum, known_seconds, on_seconds, n_non_binary,
        starts): the holdings of the samples of `scoped` (site, point, ts, value, island: each
        island an unbroken run of a point's samples) split at the buckets of w us, summed per
        bucket. `params`: the CTE of ace_hold_params. -#}
    select
        pieces.site,
        pieces.point,
        pieces.idx,
        fsum(pieces.value * pieces.held_us) / 1000000 as tw_sum,
        sum(pieces.held_us) / 1000000 as known_seconds,
        coalesce(sum(pieces.held_us) filter (where pieces.value = 1), 0) / 1000000 as on_seconds,
        count(*) filter (where pieces.value <> 0 and pieces.value <> 1) as n_non_binary,
        count(*) filter (where pieces.is_start and pieces.idx = pieces.t // {{ w }}) as starts

    from (
        select
            split.*,
            least(split.held_to, (split.idx + 1) * {{ w }})
            - greatest(split.t, split.idx * {{ w }}) as held_us
        from (
            select
                held.*,
                unnest(range(held.t // {{ w }}, (held.held_to - 1) // {{ w }} + 1)) as idx
            from (
                select
                    sequenced.site,
                    sequenced.point,
                    sequenced.value,
                    sequenced.t,
                    case
                        when sequenced.next_t - sequenced.t <= sequenced.gap_us then sequenced.next_t
                        else sequenced.t + sequenced.hold_us
                    end as held_to,
                    coalesce(
                        sequenced.value = 1 and sequenced.previous_value = 0
                        and sequenced.t - sequenced.previous_t <= sequenced.gap_us,
                        false
                    ) as is_start
                from (
                    select
                        {{ scoped }}.site,
                        {{ scoped }}.point,
                        {{ scoped }}.value,
                        {{ ace_epoch_microseconds(scoped ~ '.ts') }} as t,
                        lead({{ ace_epoch_microseconds(scoped ~ '.ts') }}) over by_time as next_t,
                        lag({{ ace_epoch_microseconds(scoped ~ '.ts') }}) over by_time as previous_t,
                        lag({{ scoped }}.value) over by_time as previous_value,
                        coalesce(
                            {{ params }}.hold_us,
                            cast({{ ace_default_interval() }} * 1000000 as bigint)
                        ) as hold_us,
                        coalesce({{ params }}.gap_us, {{ ace_default_gap_us() }}) as gap_us
                    from {{ scoped }}
                    left join {{ params }}
                        on {{ scoped }}.site = {{ params }}.site and {{ scoped }}.point = {{ params }}.point
                    window by_time as (
                        partition by {{ scoped }}.site, {{ scoped }}.point, {{ scoped }}.island
                        order by {{ scoped }}.ts
                    )
                ) as sequenced
                where sequenced.value is not null
            ) as held
        ) as split
    ) as pieces
    group by pieces.site, pieces.point, pieces.idx
{%- endmacro %}
