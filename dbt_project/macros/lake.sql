{#-
    Reading the landing lake. The glob of each landed file kind lives once, in
    models/staging/ace/_ace__sources.yml (external_location, rooted at env var LAKE_DIR);
    these macros turn it into a file listing or a Parquet scan, and into an empty relation
    of the declared columns while the lake holds no such file yet (DuckDB's read_parquet
    refuses an empty glob).
-#}

{% macro ace_source_path(source_name, table_name) -%}
    {#- The glob of a lake source, as written in its external_location (no quotes). -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- set location = relation.external if relation.external is not none else '' -%}
    {{- return(location.strip("'")) -}}
{%- endmacro %}


{% macro ace_sql_string(text) -%}
    {#- A SQL string literal of a Jinja string. -#}
    {{- return("'" ~ (text | string).replace("'", "''") ~ "'") -}}
{%- endmacro %}


{% macro ace_list_files(path) -%}
    {{- return(adapter.dispatch('ace_list_files', 'ace_warehouse')(path)) -}}
{%- endmacro %}

{% macro duckdb__ace_list_files(path) -%}
    (select file as file_path from glob({{ ace_sql_string(path) }}))
{%- endmacro %}

{% macro default__ace_list_files(path) -%}
    {{ exceptions.raise_compiler_error("ace_list_files: listing lake files is only implemented for DuckDB") }}
{%- endmacro %}


{% macro ace_path_has_files(path) -%}
    {#- True when the glob matches at least one file (checked when the model runs). -#}
    {%- if not execute -%}
        {{- return(true) -}}
    {%- endif -%}
    {#- files are never removed: once a file is registered the glob cannot be empty, and the
        registry answers without listing the lake -#}
    {%- if ace_registry_has_file(path) -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- set result = run_query("select count(*) from " ~ ace_list_files(path) ~ " as listed") -%}
    {{- return(result.columns[0].values()[0] > 0) -}}
{%- endmacro %}


{% macro ace_registry_has_file(path) -%}
    {#- Whether int_landed_files already holds a file the glob matches. -#}
    {%- set exists_sql -%}
        select count(*) from information_schema.tables
        where table_schema = {{ ace_sql_string(target.schema) }} and table_name = 'int_landed_files'
    {%- endset -%}
    {%- if run_query(exists_sql).columns[0].values()[0] == 0 -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set registry = api.Relation.create(database=target.database, schema=target.schema, identifier='int_landed_files') -%}
    {#- the glob as a LIKE pattern ('_' and '%' in a path only widen it, harmlessly: the
        registry holds nothing but lake files of the known kinds) -#}
    {%- set sql = "select count(*) from (select 1 from " ~ registry ~ " where file_path like "
        ~ ace_sql_string(path.replace('*', '%')) ~ " limit 1)" -%}
    {{- return(run_query(sql).columns[0].values()[0] > 0) -}}
{%- endmacro %}


{% macro ace_read_parquet(path) -%}
    {{- return(adapter.dispatch('ace_read_parquet', 'ace_warehouse')(path)) -}}
{%- endmacro %}

{% macro duckdb__ace_read_parquet(path) -%}
    {#- Hive partitions stay text (a site named like a number must not become an integer);
        filename = true gives each row the file it came from, file_row_number its position
        there (the staging views' grain). -#}
    read_parquet(
        {{ ace_sql_string(path) }},
        hive_partitioning = true,
        hive_types_autocast = false,
        filename = true,
        file_row_number = true
    )
{%- endmacro %}

{% macro ace_read_parquet_files(paths) -%}
    {#- A Parquet scan of a list of files (as ace_read_parquet, which reads a glob). -#}
    {{- return(adapter.dispatch('ace_read_parquet_files', 'ace_warehouse')(paths)) -}}
{%- endmacro %}

{% macro duckdb__ace_read_parquet_files(paths) -%}
    {%- set literals = [] -%}
    {%- for path in paths -%}
        {%- do literals.append(ace_sql_string(path)) -%}
    {%- endfor -%}
    read_parquet(
        [{{ literals | join(', ') }}],
        hive_partitioning = true,
        hive_types_autocast = false,
        filename = true,
        file_row_number = true
    )
{%- endmacro %}

{% macro default__ace_read_parquet_files(paths) -%}
    {{ exceptions.raise_compiler_error("ace_read_parquet_files: reading Parquet is only implemented for DuckDB") }}
{%- endmacro %}

{% macro default__ace_read_parquet(path) -%}
    {{ exceptions.raise_compiler_error("ace_read_parquet: reading Parquet is only implemented for DuckDB") }}
{%- endmacro %}


{% macro ace_lake_relation(source_name, table_name) -%}
    {#- FROM-clause text for a lake source: the Parquet scan, or an empty relation with the
        source's declared columns (plus filename and its hive partitions) when no file
        matches yet. -#}
    {%- set path = ace_source_path(source_name, table_name) -%}
    {%- if ace_path_has_files(path) -%}
        {{ ace_read_parquet(path) }}
    {%- else -%}
        ({{ ace_empty_source_select(source_name, table_name) }})
    {%- endif -%}
{%- endmacro %}


{% macro ace_empty_source_select(source_name, table_name) -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name) | first -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " column " ~ column.name ~ " needs a data_type") }}
        {%- endif -%}
        {%- do columns.append("cast(null as " ~ column.data_type ~ ") as " ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- for partition in node.meta.get('hive_partitions', []) -%}
        {%- do columns.append("cast(null as varchar) as " ~ adapter.quote(partition)) -%}
    {%- endfor -%}
    {%- do columns.append("cast(null as varchar) as filename") -%}
    {%- do columns.append("cast(null as bigint) as file_row_number") -%}
    select {{ columns | join(', ') }} where false
{%- endmacro %}
