{#- The analyst interface: DuckDB table macros stored in the warehouse file, so that a
    read-only session on a published snapshot can call them (docs/analysts.md, "Analyst
    interface"). Created by the on-run-end hook `ace_create_analyst_macros()`.

    Every argument is a macro parameter: DuckDB binds it as a value (an expression), so a
    site or point name is never spliced into SQL text. Inside the macro bodies, table columns
    are always qualified (b.site, r.point, ...): an unqualified name equal to a parameter name
    means the parameter. DuckDB applies that even inside the views a macro reads (the
    `timeseries` view selects `site`, `point`, ...), so no parameter may be named like a
    column: hence site_name, point_name, range_start, range_end. -#}

{% macro ace_create_analyst_macros() -%}
    {#- on-run-end: (re)create series() and find_points() (analyst_find_points.sql) when
        every relation they read
        exists (a partial `dbt build --select ...` on a new warehouse may not have them yet;
        then nothing is done and earlier macros, if any, stay). -#}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set needed = ['timeseries', 'points', 'point_gaps'] + (ace_ladder() | map(attribute='name') | list) -%}
    {%- set found_sql -%}
        select count(distinct table_name)
        from information_schema.tables
        where table_schema = {{ ace_sql_string(target.schema) }}
          and table_name in ({% for t in needed %}{{ ace_sql_string(t) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endset -%}
    {%- set found = run_query(found_sql).columns[0].values()[0] -%}
    {%- if found != needed | length -%}
        {{ log('analyst macros not (re)created: ' ~ (needed | join(', ')) ~ ' do not all exist yet', info=true) }}
        {{- return('select 1 as analyst_macros_skipped') -}}
    {%- endif -%}
    {{ ace_series_macro_sql() }};
    {{ ace_find_points_macro_sql() }}
{%- endmacro %}


{% macro ace_series_macro_sql() -%}
{#- The resolutions are the aggregate ladder's models (ace_ladder(), finest first): raw
    samples when they fit in max_points, else the finest grain whose buckets overlapping
    [start, end) fit, else the coarsest. The UTC-aligned grains come first; a local-day
    grain, if any, must be the coarsest. -#}
{%- set s = target.schema -%}
{%- set ladder = ace_ladder() -%}
{%- set utc = ladder | rejectattr('is_local_day') | list -%}
{%- if utc | length == 0 -%}
    {{ exceptions.raise_compiler_error("series(): the aggregate ladder has no UTC-aligned grain") }}
{%- endif -%}
{%- for grain in ladder if grain.is_local_day and grain.name != ladder[-1].name -%}
    {{ exceptions.raise_compiler_error("series(): the local-day grain " ~ grain.name ~ " must be the coarsest of the ladder") }}
{%- endfor -%}
{%- set fine = utc[0] -%}
{%- set coarse = utc[-1] -%}
{%- set eps = "interval 1 microsecond" -%}
{%- set site = "cast(site_name as varchar)" -%}
{%- set point = "cast(point_name as varchar)" -%}
{%- set t0 = "cast(range_start as timestamp with time zone)" -%}
{%- set t1 = "cast(range_end as timestamp with time zone)" -%}
{%- set max_n = "cast(max_points as bigint)" -%}
{%- set fill_mode = "lower(cast(fill as varchar))" -%}
{#- per UTC grain: its width, and the number of its buckets overlapping [start, end) (0 for
    an empty range) -#}
{%- set width = {} -%}
{%- set count = {} -%}
{%- for grain in utc -%}
    {%- set w = "interval " ~ grain.seconds ~ " second" -%}
    {%- do width.update({grain.name: w}) -%}
    {%- do count.update({grain.name: "(case when " ~ t1 ~ " > " ~ t0 ~ " then (epoch(time_bucket(" ~ w ~ ", " ~ t1 ~ " - " ~ eps ~ ", 'UTC')) - epoch(time_bucket(" ~ w ~ ", " ~ t0 ~ ", 'UTC'))) // " ~ grain.seconds ~ " + 1 else 0 end)"}) -%}
{%- endfor -%}
{#- per grain, the condition on the arguments alone (constant-folded when they are
    literals) that it is the resolution chosen, given that raw does not fit: the next finer
    grain's buckets do not fit and its own do (the coarsest: always when the finer do not) -#}
{%- set chosen = {} -%}
{%- for grain in ladder -%}
    {%- set parts = [] -%}
    {%- if not loop.first -%}
        {%- do parts.append(count[ladder[loop.index0 - 1].name] ~ " > " ~ max_n) -%}
    {%- endif -%}
    {%- if not loop.last -%}
        {%- do parts.append(count[grain.name] ~ " <= " ~ max_n) -%}
    {%- endif -%}
    {%- do chosen.update({grain.name: "(" ~ ((parts | join(" and ")) or "true") ~ ")"}) -%}
{%- endfor -%}
{%- set wf = width[fine.name] -%}
{%- set wc = width[coarse.name] -%}
{#- coarse buckets wholly inside [start, end) are [ceil_c(start), floor_c(end)) -#}
{%- set ceil_c_start = "(time_bucket(" ~ wc ~ ", " ~ t0 ~ " - " ~ eps ~ ", 'UTC') + " ~ wc ~ ")" -%}
{%- set floor_c_end = "time_bucket(" ~ wc ~ ", " ~ t1 ~ ", 'UTC')" -%}
create or replace macro {{ s }}.series(site_name, point_name, range_start, range_end, max_points := 1000, fill := 'none', bucket := null) as table
with

checked as not materialized (

    select case
        when {{ fill_mode }} not in ('none', 'null', 'previous', 'linear')
            then error('series(): fill must be ''none'', ''null'', ''previous'' or ''linear''')
        {{ ace_series_bucket_check(utc) }}
        else true
    end as ok

),

zone as not materialized (

    -- the point's zone (its site's), for local days; UTC for an unknown point; and its
    -- interval, for the gap threshold of fill 'linear'
    select
        {{ site }} as site,
        {{ point }} as point,
        coalesce(
            (select p.timezone from {{ s }}.points p
             where p.site = {{ site }} and p.point = {{ point }}),
            'UTC'
        ) as tz,
        coalesce(
            (select p.collect_interval from {{ s }}.points p
             where p.site = {{ site }} and p.point = {{ point }}),
            {{ ace_default_interval() }}
        ) as collect_interval

),

coarse as materialized (

    -- the point's buckets of the coarsest UTC grain ({{ coarse.name }}) overlapping
    -- [start, end), read once: the raw count and that grain's resolution both use them
    select c.site, c.point, c.bucket_start, c.avg, c.min, c.max, c.n, c.n_total
    from {{ s }}.{{ coarse.name }} c
    where c.site = {{ site }} and c.point = {{ point }}
      and c.bucket_start > {{ t0 }} - {{ wc }} and c.bucket_start < {{ t1 }}

),

raw_count as not materialized (

    -- the samples of the coarse buckets wholly inside [start, end) plus those of the finest
    -- buckets ({{ fine.name }}) overlapping the partial coarse buckets at either end: exact
    -- when start and end are on {{ fine.label }} boundaries, otherwise an upper bound (by
    -- the samples of at most two finest buckets), so that raw never returns more than
    -- max_points rows. Only aggregates are read (no raw sample).
    select
        case when {{ t1 }} > {{ t0 }} then
            coalesce((
                select sum(c.n_total) from coarse c
                where c.bucket_start >= {{ ceil_c_start }} and c.bucket_start < {{ floor_c_end }}
            ), 0)
            + coalesce((
                select sum(b.n_total) from {{ s }}.{{ fine.name }} b
                where b.site = {{ site }} and b.point = {{ point }}
                  and b.bucket_start > {{ t0 }} - {{ wf }}
                  and b.bucket_start < least({{ ceil_c_start }}, {{ t1 }})
            ), 0)
            + coalesce((
                select sum(b.n_total) from {{ s }}.{{ fine.name }} b
                where b.site = {{ site }} and b.point = {{ point }}
                  and b.bucket_start >= greatest({{ floor_c_end }}, {{ ceil_c_start }})
                  and b.bucket_start < {{ t1 }}
            ), 0)
        else 0 end as n

),

-- The gates: one row (the point's key, which the branches join on) when a bucket width
-- is given (custom), or else when raw does / does not fit. Not materialized, so that a branch whose gate is empty is a hash join with an
-- empty build side, which DuckDB ends without reading the branch's table; the conditions on
-- the arguments alone remove the other bucketed branches.

raw_fits as not materialized (

    select zone.site, zone.point from zone, raw_count, checked
    where raw_count.n <= {{ max_n }} and checked.ok and bucket is null

),

raw_too_many as not materialized (

    select zone.site, zone.point, zone.tz from zone, raw_count, checked
    where raw_count.n > {{ max_n }} and checked.ok and bucket is null

),

custom as not materialized (

    select zone.site, zone.point from zone, checked
    where bucket is not null and checked.ok

),

raw_rows as (

    select
        r.ts as bucket_start,
        r.value as avg, r.value as min, r.value as max,
        cast(case when r.value is null then 0 else 1 end as bigint) as n,
        'raw' as resolution
    from {{ s }}.timeseries r
    join raw_fits g on r.site = g.site and r.point = g.point
    where r.site = {{ site }} and r.point = {{ point }}
      and r.ts >= {{ t0 }} and r.ts < {{ t1 }}

),

bucket_rows as (
{%- for grain in ladder %}
    {%- if not loop.first %}

    union all
    {%- endif %}
    {%- if grain.is_local_day %}

    -- local days overlapping [start, end): from the local date of start to that of end
    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '{{ grain.label }}' as resolution
    from {{ s }}.{{ grain.name }} b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ chosen[grain.name] }}
      and b.site = {{ site }} and b.point = {{ point }}
      and b.bucket_start > {{ t0 }} - interval 2 day and b.bucket_start < {{ t1 }}
      and b.day >= cast(timezone(g.tz, {{ t0 }}) as date)
      and b.day <= cast(timezone(g.tz, {{ t1 }} - {{ eps }}) as date)
    {%- elif grain.name == coarse.name %}

    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '{{ grain.label }}' as resolution
    from coarse b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ chosen[grain.name] }}
    {%- else %}

    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '{{ grain.label }}' as resolution
    from {{ s }}.{{ grain.name }} b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ chosen[grain.name] }}
      and b.site = {{ site }} and b.point = {{ point }}
      and b.bucket_start > {{ t0 }} - {{ width[grain.name] }} and b.bucket_start < {{ t1 }}
    {%- endif %}
{%- endfor %}

    union all
    {{ ace_series_bucket_rows(s, utc, site, point, t0, t1) }}

),

grid as (

    -- fill: every bucket overlapping [start, end) at the chosen resolution: UTC-aligned
    -- buckets, and for local days the local midnights of the site's zone (as the model)
{%- for grain in ladder %}
    {%- if not loop.first %}

    union all
    {%- endif %}
    {%- if grain.is_local_day %}

    select timezone(g.tz, s.x) as bucket_start, '{{ grain.label }}' as resolution
    from raw_too_many g, unnest(generate_series(
        cast(cast(timezone(g.tz, {{ t0 }}) as date) as timestamp),
        cast(cast(timezone(g.tz, {{ t1 }} - {{ eps }}) as date) as timestamp),
        interval 1 day)) as s(x)
    where {{ chosen[grain.name] }} and {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}
    {%- else %}

    select timezone('UTC', s.x) as bucket_start, '{{ grain.label }}' as resolution
    from raw_too_many g, unnest(generate_series(
        timezone('UTC', time_bucket({{ width[grain.name] }}, {{ t0 }}, 'UTC')),
        timezone('UTC', time_bucket({{ width[grain.name] }}, {{ t1 }} - {{ eps }}, 'UTC')),
        {{ width[grain.name] }})) as s(x)
    where {{ chosen[grain.name] }} and {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}
    {%- endif %}
{%- endfor %}

    union all

    {{ ace_series_bucket_grid(t0, t1, fill_mode) }}

),

filled as (

    select grid.bucket_start, d.avg, d.min, d.max, d.n, grid.resolution
    from grid
    left join bucket_rows d on d.bucket_start = grid.bucket_start

    union all

    select * from bucket_rows where {{ fill_mode }} = 'none'

    union all

    select * from raw_rows

    union all

    -- no row (ok is true or an error), but read whatever the arguments, so that an invalid
    -- one is reported even where every branch is pruned (a bucket width no table divides)
    select null, null, null, null, null, null from checked where not checked.ok

),

ordered as (

    select
        filled.*,
        lead(filled.bucket_start) over (order by filled.bucket_start) as next_start
    from filled

),

neighbours as (

    -- per row, the last row with an avg up to it (its start, end, values) and the first
    -- from it on (fill 'previous' and 'linear')
    select
        o.*,
        last_value(case when o.avg is not null then o.bucket_start end ignore nulls) over wp as prev_start,
        last_value(case when o.avg is not null then o.next_start end ignore nulls) over wp as prev_end,
        last_value(o.avg ignore nulls) over wp as prev_avg,
        last_value(o.min ignore nulls) over wp as prev_min,
        last_value(o.max ignore nulls) over wp as prev_max,
        first_value(case when o.avg is not null then o.bucket_start end ignore nulls) over wn as next_at,
        first_value(o.avg ignore nulls) over wn as next_avg
    from ordered o
    window
        wp as (order by o.bucket_start rows between unbounded preceding and current row),
        wn as (order by o.bucket_start rows between current row and unbounded following)

)

select
    nb.bucket_start,
    {{ ace_series_linear_avg(s, site, point, fill_mode) }} as avg,
    case when {{ fill_mode }} = 'previous' then nb.prev_min else nb.min end as min,
    case when {{ fill_mode }} = 'previous' then nb.prev_max else nb.max end as max,
    nb.n,
    nb.resolution
from neighbours nb
order by nb.bucket_start
{%- endmacro %}
