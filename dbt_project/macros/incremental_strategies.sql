{#-
    Incremental strategy of point_gaps. The model's incremental output holds the new gap
    rows and, for every recomputed region, a marker row (gap_start null) with the region's
    [_region_start, _region_end). In one transaction: delete the held gaps that start inside
    a region, delete every open gap (they are all recomputed against the run's time), insert
    the new gap rows (the target's columns only).
-#}
{% macro get_incremental_ace_gap_regions_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}

    delete from {{ target }} as held
    using (
        select distinct site, point, _region_start, _region_end
        from {{ source }}
        where gap_start is null
    ) as regions
    where held.site = regions.site
        and held.point = regions.point
        and held.gap_start >= regions._region_start
        and held.gap_start < regions._region_end;

    delete from {{ target }} where is_open;

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
    where gap_start is not null
{%- endmacro %}
