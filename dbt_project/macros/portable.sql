{#-
    SQL constructs that DuckDB has and Spark spells differently (docs/spark.md, "How the
    engines differ"): JSON texts, keeping the first row per key (DuckDB's qualify), and the
    rows a Spark partition overwrite must carry over. Each default__ form is the DuckDB text
    the models had before the port, so DuckDB's compiled SQL is unchanged.
-#}

{% macro ace_try_json(text) -%}
    {#- A JSON text typed as JSON, or null when it is not valid JSON. -#}
    {{- return(adapter.dispatch('ace_try_json', 'ace_warehouse')(text)) -}}
{%- endmacro %}

{% macro default__ace_try_json(text) -%}
    try_cast({{ text }} as json)
{%- endmacro %}

{% macro spark__ace_try_json(text) -%}
    {#- Spark has no JSON type: the text itself (as DuckDB keeps it), when it is exactly one
        JSON value (wrapped in [ ], a valid document is an array of one element) -#}
    case when json_array_length(concat('[', {{ text }}, ']')) = 1 then {{ text }} end
{%- endmacro %}


{% macro ace_json_extract_string(json, path) -%}
    {#- The value at a JSONPath ('$.unit') as text (a string unquoted, anything else as
        JSON text); null when absent. -#}
    {{- return(adapter.dispatch('ace_json_extract_string', 'ace_warehouse')(json, path)) -}}
{%- endmacro %}

{% macro default__ace_json_extract_string(json, path) -%}
    json_extract_string({{ json }}, {{ ace_sql_string(path) }})
{%- endmacro %}

{% macro spark__ace_json_extract_string(json, path) -%}
    get_json_object({{ json }}, {{ ace_sql_string(path) }})
{%- endmacro %}


{% macro ace_first_per_key(relation, partition_by, order_by) -%}
    {#- FROM-clause text keeping the first row of each partition_by key by order_by (both SQL
        text); the caller selects named columns of `relation`. -#}
    {{- return(adapter.dispatch('ace_first_per_key', 'ace_warehouse')(relation, partition_by, order_by)) -}}
{%- endmacro %}

{% macro default__ace_first_per_key(relation, partition_by, order_by) -%}
    from {{ relation }}
    qualify row_number() over (
        partition by {{ partition_by }} order by {{ order_by }}
    ) = 1
{%- endmacro %}

{% macro spark__ace_first_per_key(relation, partition_by, order_by) -%}
    {#- Spark has no qualify: a window in a subquery, under the relation's own name -#}
    from (
        select
            ranked_rows.*,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as ace_key_rank
        from {{ relation }} as ranked_rows
    ) as {{ relation }}
    where {{ relation }}.ace_key_rank = 1
{%- endmacro %}


{% macro ace_carried_site_rows(held, changed, columns) -%}
    {#- Spark only (nothing on DuckDB): `union all` of the held rows (relation `held`) of the
        sites in CTE `changed` (site, point) whose (site, point) is not in it, so that the
        model's rows are every row of the sites it touches. A per-point table on Spark is
        partitioned by site and overwritten one site partition at a time (plain Parquet has
        no delete); DuckDB's delete+insert on the key keeps the other rows itself. -#}
    {{- return(adapter.dispatch('ace_carried_site_rows', 'ace_warehouse')(held, changed, columns)) -}}
{%- endmacro %}

{% macro default__ace_carried_site_rows(held, changed, columns) -%}
{%- endmacro %}

{% macro spark__ace_carried_site_rows(held, changed, columns) %}

    union all

    select
        {%- for column in columns %}
        carried.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ held }} as carried
    left semi join (select distinct site from {{ changed }}) as changed_sites
        on carried.site = changed_sites.site
    left anti join {{ changed }}
        on carried.site = {{ changed }}.site and carried.point = {{ changed }}.point
{%- endmacro %}


{% macro ace_unmerged_samples(range) -%}
    {#- The raw rows a per-point merge of landed counts (int_point_activity) adds: those of
        the pending range (ace_landed_samples), on Spark less the files a held site
        partition has merged already (its merged_file_id), so that a run repeated after a
        lost progress row (no transaction spans the table's write and that row) does not
        count a file twice. -#}
    {{- return(adapter.dispatch('ace_unmerged_samples', 'ace_warehouse')(range)) -}}
{%- endmacro %}

{% macro default__ace_unmerged_samples(range) -%}
    {{ ace_landed_samples(range) }}
{%- endmacro %}

{% macro spark__ace_unmerged_samples(range) -%}
    {%- if range.get('incremental', is_incremental()) -%}
    (
        select landed_rows.*
        from {{ ace_landed_samples(range) }} as landed_rows
        left semi join (
            select registry.file_path
            from {{ ref('int_landed_files') }} as registry
            left join (
                select site, max(merged_file_id) as merged_file_id
                from {{ this }}
                group by site
            ) as merged
                on registry.site = merged.site
            where registry.kind = 'raw'
                and registry.file_id > coalesce(merged.merged_file_id, 0)
        ) as unmerged
            on landed_rows.source_file = unmerged.file_path
    )
    {%- else -%}
    {{ ace_landed_samples(range) }}
    {%- endif -%}
{%- endmacro %}


{% macro ace_merged_file_id(range) -%}
    {#- Spark only (nothing on DuckDB): the column `merged_file_id` of a site-partitioned
        per-point table, the position up to which its site partition has merged the lake's
        files (every row of a rewritten partition gets the run's position; the views file
        leaves the column out). DuckDB needs none: its merge and progress row commit
        together. -#}
    {{- return(adapter.dispatch('ace_merged_file_id', 'ace_warehouse')(range)) -}}
{%- endmacro %}

{% macro default__ace_merged_file_id(range) -%}
{%- endmacro %}

{% macro spark__ace_merged_file_id(range) -%}
    , cast({{ range.hi }} as bigint) as merged_file_id
{%- endmacro %}
