{#- series()'s custom bucket width (bucket := interval '...'): SQL fragments of the macro
    body that ace_series_macro_sql() (analyst.sql) assembles. `bucket` here is the macro's
    parameter (docs/analysts.md, "series()"). -#}

{% macro ace_series_bucket_width() -%}
    {#- the width in whole seconds as a BIGINT (null without bucket; validated in checked) -#}
    cast(epoch(cast(bucket as interval)) as bigint)
{%- endmacro %}


{% macro ace_series_bucket_check(utc) -%}
    {#- a CASE branch list for `checked`: bucket must be null, or a positive whole number of
        seconds without months that some UTC grain of the ladder divides -#}
    {%- set iv = "cast(bucket as interval)" -%}
    when bucket is not null and not (
        datepart('year', {{ iv }}) = 0 and datepart('month', {{ iv }}) = 0
        and epoch({{ iv }}) > 0 and epoch({{ iv }}) = floor(epoch({{ iv }}))
    ) then error('series(): bucket must be a positive whole number of seconds (no months)')
    when bucket is not null and not (
        {%- for grain in utc %}
        {{ ace_series_bucket_width() }} % {{ grain.seconds }} = 0{{ ' or' if not loop.last }}
        {%- endfor %}
    ) then error('series(): no table of the aggregate ladder divides the bucket width '
        || cast(bucket as varchar) || ' (widths must be multiples of {{ utc[0].seconds }} s)')
{%- endmacro %}


{% macro ace_series_bucket_label() -%}
    {#- the resolution of a custom bucket: '15min', '2h', '1d', '90s', as the ladder names -#}
    {%- set w = ace_series_bucket_width() -%}
    case
        when {{ w }} % 86400 = 0 then cast({{ w }} // 86400 as varchar) || 'd'
        when {{ w }} % 3600 = 0 then cast({{ w }} // 3600 as varchar) || 'h'
        when {{ w }} % 60 = 0 then cast({{ w }} // 60 as varchar) || 'min'
        else cast({{ w }} as varchar) || 's'
    end
{%- endmacro %}


{% macro ace_series_bucket_start(ts) -%}
    {#- the custom bucket holding ts: multiples of the width since 1970-01-01 00:00 UTC
        (so UTC midnights for any width dividing a day) -#}
    {%- set wus = "(" ~ ace_series_bucket_width() ~ " * 1000000)" -%}
    timezone('UTC', make_timestamp(epoch_us({{ ts }}) // {{ wus }} * {{ wus }}))
{%- endmacro %}


{% macro ace_series_bucket_rows(s, utc, site, point, t0, t1) -%}
    {#- the custom buckets overlapping [start, end), from the finest UTC grain dividing the
        width: min of mins, max of maxes, sum of sums / sum of counts (exact) -#}
    {%- set w = ace_series_bucket_width() -%}
    {%- for grain in utc %}
    {%- if not loop.first %}

    union all
    {%- endif %}

    select
        {{ ace_series_bucket_start('b.bucket_start') }} as bucket_start,
        sum(b.sum) / nullif(sum(b.n), 0) as avg,
        min(b.min) as min,
        max(b.max) as max,
        cast(sum(b.n) as bigint) as n,
        {{ ace_series_bucket_label() }} as resolution
    from {{ s }}.{{ grain.name }} b
    join custom g on b.site = g.site and b.point = g.point
    where {{ w }} % {{ grain.seconds }} = 0
        {%- for finer in utc[:loop.index0] %}
      and {{ w }} % {{ finer.seconds }} <> 0
        {%- endfor %}
      and b.site = {{ site }} and b.point = {{ point }}
      and b.bucket_start >= {{ ace_series_bucket_start(t0) }}
      and b.bucket_start < {{ ace_series_bucket_start(t1 ~ " - interval 1 microsecond") }} + to_seconds({{ w }})
    group by all
    {%- endfor %}
{%- endmacro %}


{% macro ace_series_bucket_grid(t0, t1, fill_mode) -%}
    {#- fill: every custom bucket overlapping [start, end) -#}
    {%- set wus = "(" ~ ace_series_bucket_width() ~ " * 1000000)" -%}
    select timezone('UTC', make_timestamp(s.x)) as bucket_start, {{ ace_series_bucket_label() }} as resolution
    from custom g, unnest(generate_series(
        epoch_us({{ t0 }}) // {{ wus }} * {{ wus }},
        epoch_us({{ t1 }} - interval 1 microsecond) // {{ wus }} * {{ wus }},
        {{ wus }})) as s(x)
    where {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}
{%- endmacro %}
