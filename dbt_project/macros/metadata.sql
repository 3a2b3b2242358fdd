{#-
    The incremental merge of int_point_metadata (models/intermediate/int_point_metadata.sql):
    the CTEs previous, candidates, winners and merged, after the model's latest_landed (the
    latest snapshot row per point of the files landed in the pending range).
-#}

{% macro ace_point_metadata_columns() -%}
    {#- The columns of latest_landed, in the model's order (interval_changed_file_id follows). -#}
    {{- return([
        'site', 'point', 'point_id', 'client', 'is_collect_enabled', 'collect_interval_configured',
        'collect_interval', 'point_type', 'unit', 'kv_tags', 'marker_tags', 'bacnet_data',
        'collect_config', 'created_at', 'updated_at', 'extracted_at', 'run_id'
    ]) -}}
{%- endmacro %}


{% macro ace_merge_point_metadata(range) -%}
    {{- return(adapter.dispatch('ace_merge_point_metadata', 'ace_warehouse')(range)) -}}
{%- endmacro %}

{% macro default__ace_merge_point_metadata(range) -%}
    {#- the held rows of the landed points and the landed ones, merged by key (delete+insert) -#}
previous as (

    select current_rows.*
    from {{ this }} as current_rows
    semi join latest_landed
        on current_rows.site = latest_landed.site and current_rows.point = latest_landed.point

),

candidates as (

    select *, true as is_landed, cast(null as bigint) as interval_changed_file_id
    from latest_landed
    union all by name
    select *, false as is_landed
    from previous

),

winners as (

    -- a snapshot already merged (same extracted_at and run_id) keeps its row
    select *
    from candidates
    qualify row_number() over (
        partition by site, point order by extracted_at desc, run_id desc, is_landed
    ) = 1

),

merged as (

    select
        winners.* exclude (is_landed, interval_changed_file_id),
        case
            when winners.collect_interval
                is distinct from coalesce(previous.collect_interval, {{ ace_default_interval() }})
                then cast({{ range.hi }} as bigint)
            else previous.interval_changed_file_id
        end as interval_changed_file_id

    from winners
    left join previous
        on winners.site = previous.site and winners.point = previous.point

)
{%- endmacro %}

{% macro spark__ace_merge_point_metadata(range) -%}
    {#- Spark overwrites the table's site partitions the landed snapshots touch, so the merge
        returns every row of those sites: each held row of them is a candidate (it wins
        unless a later snapshot of its point landed), and a point keeps its
        interval_changed_file_id unless its winner's interval differs from the held one.
        Columns are named (Spark has no union by name or exclude, and its held table has
        the partition column `site` last). -#}
    {%- set columns = ace_point_metadata_columns() %}
previous as (

    select
        {%- for column in columns %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows.interval_changed_file_id
    from {{ this }} as current_rows
    left semi join (select distinct site from latest_landed) as landed_sites
        on current_rows.site = landed_sites.site

),

candidates as (

    select
        {%- for column in columns %}
        latest_landed.{{ column }},
        {%- endfor %}
        true as is_landed
    from latest_landed
    union all
    select
        {%- for column in columns %}
        previous.{{ column }},
        {%- endfor %}
        false as is_landed
    from previous

),

winners as (

    -- a snapshot already merged (same extracted_at and run_id) keeps its row
    select *
    {{ ace_first_per_key('candidates', 'site, point', 'extracted_at desc, run_id desc, is_landed') }}

),

merged as (

    select
        {%- for column in columns %}
        winners.{{ column }},
        {%- endfor %}
        case
            when winners.collect_interval
                is distinct from coalesce(previous.collect_interval, {{ ace_default_interval() }})
                then cast({{ range.hi }} as bigint)
            else previous.interval_changed_file_id
        end as interval_changed_file_id

    from winners
    left join previous
        on winners.site = previous.site and winners.point = previous.point

)
{%- endmacro %}
