{#-
    Incremental strategy of point_gaps. int_gap_regions holds the regions this run
    recomputes, each with the point_gaps position it was prepared from (from_file_id): a
    region [coalesce(before_ts, min_ts), coalesce(after_ts, infinity)), or the whole history
    for a point whose collect_interval changed (is_whole). In one transaction: delete the
    held gaps that start inside a region prepared from the model's current position (the
    post-hook has not moved it yet), delete every open gap (they are all recomputed against
    the run's time), insert the model's new rows.
-#}
{% macro get_incremental_ace_gap_regions_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}

    delete from {{ target }} as held
    using (
        select
            site,
            point,
            case when is_whole then cast('-infinity' as timestamp with time zone)
                else coalesce(before_ts, min_ts) end as region_start,
            case when is_whole then cast('infinity' as timestamp with time zone)
                else coalesce(after_ts, cast('infinity' as timestamp with time zone)) end as region_end
        from {{ ref('int_gap_regions') }}
        where from_file_id = (
            select coalesce(max(file_id), 0) from {{ ace_progress_relation() }}
            where model = {{ ace_sql_string(target.identifier) }}
        )
    ) as regions
    where held.site = regions.site
        and held.point = regions.point
        and held.gap_start >= regions.region_start
        and held.gap_start < regions.region_end;

    delete from {{ target }} where is_open;

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}
{%- endmacro %}
