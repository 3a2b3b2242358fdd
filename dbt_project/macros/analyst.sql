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
    {#- on-run-end: (re)create series() and find_points() when every relation they read
        exists (a partial `dbt build --select ...` on a new warehouse may not have them yet;
        then nothing is done and earlier macros, if any, stay). -#}
    {%- if not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set needed = ['timeseries', 'samples_5min', 'samples_1h', 'samples_1d', 'points'] -%}
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
{%- set s = target.schema -%}
{%- set w5 = "interval 5 minute" -%}
{%- set w1h = "interval 1 hour" -%}
{%- set eps = "interval 1 microsecond" -%}
{%- set site = "cast(site_name as varchar)" -%}
{%- set point = "cast(point_name as varchar)" -%}
{%- set t0 = "cast(range_start as timestamp with time zone)" -%}
{%- set t1 = "cast(range_end as timestamp with time zone)" -%}
{%- set max_n = "cast(max_points as bigint)" -%}
{%- set fill_mode = "lower(cast(fill as varchar))" -%}
{#- UTC-aligned buckets overlapping [start, end) (0 for an empty range) -#}
{%- set n_5min = "(case when " ~ t1 ~ " > " ~ t0 ~ " then (epoch(time_bucket(" ~ w5 ~ ", " ~ t1 ~ " - " ~ eps ~ ", 'UTC')) - epoch(time_bucket(" ~ w5 ~ ", " ~ t0 ~ ", 'UTC'))) // 300 + 1 else 0 end)" -%}
{%- set n_1h = "(case when " ~ t1 ~ " > " ~ t0 ~ " then (epoch(time_bucket(" ~ w1h ~ ", " ~ t1 ~ " - " ~ eps ~ ", 'UTC')) - epoch(time_bucket(" ~ w1h ~ ", " ~ t0 ~ ", 'UTC'))) // 3600 + 1 else 0 end)" -%}
{#- the conditions on the arguments alone (constant-folded when they are literals) that a
    bucketed resolution is the one chosen, given that raw does not fit -#}
{%- set is_5min = "(" ~ n_5min ~ " <= " ~ max_n ~ ")" -%}
{%- set is_1h = "(" ~ n_5min ~ " > " ~ max_n ~ " and " ~ n_1h ~ " <= " ~ max_n ~ ")" -%}
{%- set is_1d = "(" ~ n_1h ~ " > " ~ max_n ~ ")" -%}
{#- hours wholly inside [start, end) are [ceil_h(start), floor_h(end)) -#}
{%- set ceil_h_start = "(time_bucket(" ~ w1h ~ ", " ~ t0 ~ " - " ~ eps ~ ", 'UTC') + " ~ w1h ~ ")" -%}
{%- set floor_h_end = "time_bucket(" ~ w1h ~ ", " ~ t1 ~ ", 'UTC')" -%}
create or replace macro {{ s }}.series(site_name, point_name, range_start, range_end, max_points := 1000, fill := 'none') as table
with

checked as not materialized (

    select case
        when {{ fill_mode }} in ('none', 'null', 'previous') then true
        else error('series(): fill must be ''none'', ''null'' or ''previous''')
    end as ok

),

zone as not materialized (

    -- the point's zone (its site's), for local days; UTC for an unknown point
    select
        {{ site }} as site,
        {{ point }} as point,
        coalesce(
            (select p.timezone from {{ s }}.points p
             where p.site = {{ site }} and p.point = {{ point }}),
            'UTC'
        ) as tz

),

hours as materialized (

    -- the point's hours overlapping [start, end), read once: the raw count and the 1 h
    -- resolution both use them
    select h.site, h.point, h.bucket_start, h.avg, h.min, h.max, h.n, h.n_total
    from {{ s }}.samples_1h h
    where h.site = {{ site }} and h.point = {{ point }}
      and h.bucket_start > {{ t0 }} - {{ w1h }} and h.bucket_start < {{ t1 }}

),

raw_count as not materialized (

    -- the samples of the hours wholly inside [start, end) (samples_1h) plus those of the
    -- 5-minute buckets overlapping the partial hours at either end (samples_5min, under an
    -- hour each): exact when start and end are on 5-minute boundaries, otherwise an upper
    -- bound (by the samples of at most two 5-minute buckets), so that raw never returns
    -- more than max_points rows. Only aggregates are read (no raw sample).
    select
        case when {{ t1 }} > {{ t0 }} then
            coalesce((
                select sum(h.n_total) from hours h
                where h.bucket_start >= {{ ceil_h_start }} and h.bucket_start < {{ floor_h_end }}
            ), 0)
            + coalesce((
                select sum(b.n_total) from {{ s }}.samples_5min b
                where b.site = {{ site }} and b.point = {{ point }}
                  and b.bucket_start > {{ t0 }} - {{ w5 }}
                  and b.bucket_start < least({{ ceil_h_start }}, {{ t1 }})
            ), 0)
            + coalesce((
                select sum(b.n_total) from {{ s }}.samples_5min b
                where b.site = {{ site }} and b.point = {{ point }}
                  and b.bucket_start >= greatest({{ floor_h_end }}, {{ ceil_h_start }})
                  and b.bucket_start < {{ t1 }}
            ), 0)
        else 0 end as n

),

-- The gates: one row (the point's key, which the branches join on) when raw does / does
-- not fit. Not materialized, so that a branch whose gate is empty is a hash join with an
-- empty build side, which DuckDB ends without reading the branch's table; the conditions on
-- the arguments alone remove the other bucketed branches.

raw_fits as not materialized (

    select zone.site, zone.point from zone, raw_count, checked
    where raw_count.n <= {{ max_n }} and checked.ok

),

raw_too_many as not materialized (

    select zone.site, zone.point, zone.tz from zone, raw_count, checked
    where raw_count.n > {{ max_n }} and checked.ok

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

    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '5min' as resolution
    from {{ s }}.samples_5min b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ is_5min }}
      and b.site = {{ site }} and b.point = {{ point }}
      and b.bucket_start > {{ t0 }} - {{ w5 }} and b.bucket_start < {{ t1 }}

    union all

    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '1h' as resolution
    from hours b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ is_1h }}

    union all

    -- local days overlapping [start, end): from the local date of start to that of end
    select b.bucket_start, b.avg, b.min, b.max, cast(b.n as bigint) as n, '1d' as resolution
    from {{ s }}.samples_1d b
    join raw_too_many g on b.site = g.site and b.point = g.point
    where {{ is_1d }}
      and b.site = {{ site }} and b.point = {{ point }}
      and b.bucket_start > {{ t0 }} - interval 2 day and b.bucket_start < {{ t1 }}
      and b.day >= cast(timezone(g.tz, {{ t0 }}) as date)
      and b.day <= cast(timezone(g.tz, {{ t1 }} - {{ eps }}) as date)

),

grid as (

    -- fill: every bucket overlapping [start, end) at the chosen resolution: UTC-aligned
    -- 5 min / 1 h, and for 1 d the local midnights of the site's zone (as samples_1d)
    select timezone('UTC', s.x) as bucket_start, '5min' as resolution
    from raw_too_many g, unnest(generate_series(
        timezone('UTC', time_bucket({{ w5 }}, {{ t0 }}, 'UTC')),
        timezone('UTC', time_bucket({{ w5 }}, {{ t1 }} - {{ eps }}, 'UTC')),
        {{ w5 }})) as s(x)
    where {{ is_5min }} and {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}

    union all

    select timezone('UTC', s.x) as bucket_start, '1h' as resolution
    from raw_too_many g, unnest(generate_series(
        timezone('UTC', time_bucket({{ w1h }}, {{ t0 }}, 'UTC')),
        timezone('UTC', time_bucket({{ w1h }}, {{ t1 }} - {{ eps }}, 'UTC')),
        {{ w1h }})) as s(x)
    where {{ is_1h }} and {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}

    union all

    select timezone(g.tz, s.x) as bucket_start, '1d' as resolution
    from raw_too_many g, unnest(generate_series(
        cast(cast(timezone(g.tz, {{ t0 }}) as date) as timestamp),
        cast(cast(timezone(g.tz, {{ t1 }} - {{ eps }}) as date) as timestamp),
        interval 1 day)) as s(x)
    where {{ is_1d }} and {{ fill_mode }} <> 'none' and {{ t1 }} > {{ t0 }}

),

filled as (

    select grid.bucket_start, d.avg, d.min, d.max, d.n, grid.resolution
    from grid
    left join bucket_rows d on d.bucket_start = grid.bucket_start

    union all

    select * from bucket_rows where {{ fill_mode }} = 'none'

    union all

    select * from raw_rows

)

select
    filled.bucket_start,
    case when {{ fill_mode }} = 'previous'
        then last_value(filled.avg ignore nulls) over w else filled.avg end as avg,
    case when {{ fill_mode }} = 'previous'
        then last_value(filled.min ignore nulls) over w else filled.min end as min,
    case when {{ fill_mode }} = 'previous'
        then last_value(filled.max ignore nulls) over w else filled.max end as max,
    filled.n,
    filled.resolution
from filled
window w as (order by filled.bucket_start rows between unbounded preceding and current row)
order by filled.bucket_start
{%- endmacro %}


{% macro ace_find_points_macro_sql() -%}
{%- set s = target.schema -%}
create or replace macro {{ s }}.find_points(pattern := null, tag := null, equipment := null) as table
with

args as (

    select
        lower(cast(pattern as varchar)) as a_pattern,
        lower(cast(tag as varchar)) as a_tag,
        lower(cast(equipment as varchar)) as a_equipment

),

pts as (

    select
        p.site, p.point, p.unit, p.collect_interval, p.kv_tags, p.marker_tags,
        -- marker tags, lower case
        coalesce(
            list_transform(
                cast(json_extract_string(p.marker_tags, '$[*]') as varchar[]), x -> lower(x)
            ),
            []
        ) as markers,
        -- kv tags as lower-case 'key' and 'key=value' strings
        coalesce(
            list_transform(
                json_keys(p.kv_tags),
                k -> lower(k)
            ),
            []
        ) as kv_keys,
        coalesce(
            list_transform(
                json_keys(p.kv_tags),
                k -> lower(k || '=' || coalesce(json_extract_string(p.kv_tags, '$."' || replace(k, '"', '\"') || '"'), ''))
            ),
            []
        ) as kv_pairs,
        -- equipment: the point name's '/' and '.' segments, and the BACnet device name
        -- without its '-<network>:<mac>' suffix
        list_concat(
            string_split_regex(lower(p.point), '[/.]'),
            coalesce([lower(regexp_replace(
                json_extract_string(try_cast(p.bacnet_data as json), '$.device_name'),
                '-[^-]*$', ''))], [])
        ) as segments
    from {{ s }}.points p

),

matched as (

    select
        pts.*,
        args.a_tag
    from pts, args
    where (args.a_pattern is null or contains(lower(pts.point), args.a_pattern))
      and (args.a_tag is null
           or list_contains(pts.markers, args.a_tag)
           or list_contains(pts.kv_keys, args.a_tag)
           or list_contains(pts.kv_pairs, args.a_tag))
      and (args.a_equipment is null or list_contains(pts.segments, args.a_equipment))

)

select
    matched.site,
    matched.point,
    matched.unit,
    matched.collect_interval,
    case when matched.a_tag is null then []
        else list_filter(
            list_concat(matched.markers, matched.kv_pairs),
            x -> x = matched.a_tag or split_part(x, '=', 1) = matched.a_tag
        )
    end as matching_tags,
    matched.marker_tags,
    matched.kv_tags
from matched
order by matched.site, matched.point
{%- endmacro %}
