{#- find_points(), the analyst interface's point search (docs/analysts.md, "Analyst interface"),
    created with series() by ace_create_analyst_macros() (analyst.sql). -#}

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
