{#-
    Reading the landing lake. The glob of each landed file kind lives once, in
    models/staging/ace/_ace__sources.yml (external_location, rooted at env var LAKE_DIR);
    these macros turn it into a file listing or a Parquet scan, and into an empty relation
    of the declared columns while the lake holds no such file yet (DuckDB's read_parquet
    refuses an empty glob).
-#}

{% macro ace_source_path(source_name, table_name) -%}
    {#- The glob of a lake source, as written in its external_location (no quotes). -#}
    {{- return(adapter.dispatch('ace_source_path', 'ace_warehouse')(source_name, table_name)) -}}
{%- endmacro %}

{% macro duckdb__ace_source_path(source_name, table_name) -%}
    {#- dbt-duckdb's source relation carries it -#}
    {%- set relation = source(source_name, table_name) -%}
    {%- set location = relation.external if relation.external is not none else '' -%}
    {{- return(location.strip("'")) -}}
{%- endmacro %}

{% macro default__ace_source_path(source_name, table_name) -%}
    {#- other engines: the source's config in the graph (empty while parsing, when the
        graph is not there yet and the SQL is not run) -#}
    {%- do source(source_name, table_name) -%}
    {%- set node = graph.get('sources', {}).values() | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', table_name) | first -%}
    {%- set location = (node.config.get('external_location') if node else none) or '' -%}
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

{% macro spark__ace_list_files(path) -%}
    {#- Spark lists the folder above the glob's first wildcard (binaryFile, whose content is
        not read when only the path is asked for; dot-named temporary files are skipped) and
        keeps the paths the glob matches, without the file: scheme. -#}
    (
        select file_path
        from (
            select regexp_replace(path, '^file:', '') as file_path
            from binaryFile.`{{ ace_glob_root(path) }}`
        ) as listed
        where file_path like {{ ace_sql_string(path.replace('*', '%')) }}
    )
{%- endmacro %}

{% macro default__ace_list_files(path) -%}
    {{ exceptions.raise_compiler_error("ace_list_files: listing lake files is implemented for DuckDB and Spark") }}
{%- endmacro %}


{% macro ace_glob_root(path) -%}
    {#- The folder of a glob above its first wildcard: lake/raw of lake/raw/site=*/... -#}
    {%- set parts = path.split('/') -%}
    {%- set kept = [] -%}
    {%- for part in parts -%}
        {%- if '*' in part or '{' in part -%}
            {%- break -%}
        {%- endif -%}
        {%- do kept.append(part) -%}
    {%- endfor -%}
    {{- return(kept | join('/')) -}}
{%- endmacro %}


{% macro ace_glob_partitions(path) -%}
    {#- The hive partitions a lake glob names: ['site', 'date'] of .../site=*/date=*/*.parquet. -#}
    {%- set names = [] -%}
    {%- for part in path.split('/') -%}
        {%- if part.endswith('=*') -%}
            {%- do names.append(part[:-2]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(names) -}}
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
    {%- if not ace_table_exists('int_landed_files') -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set registry = ace_relation('int_landed_files') -%}
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

{% macro spark__ace_read_parquet_files(paths) -%}
    {#- One Hadoop glob of the files, <their common folder>/{a,b,...} (a glob must start
        with a folder); their hive partitions are those of the lake's folders (site=,
        date=), read from each file's path as text. -#}
    {%- set first = paths[0].split('/') -%}
    {%- set shared = namespace(n=first | length - 1) -%}
    {%- for path in paths -%}
        {%- set parts = path.split('/') -%}
        {%- for i in range(shared.n) -%}
            {%- if shared.n > i and (parts | length <= i + 1 or parts[i] != first[i]) -%}
                {%- set shared.n = i -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set rest = [] -%}
    {%- for path in paths -%}
        {%- do rest.append(path.split('/')[shared.n:] | join('/')) -%}
    {%- endfor -%}
    {%- set glob = (first[:shared.n] | join('/')) ~ '/{' ~ rest | join(',') ~ '}' -%}
    {{ spark__ace_parquet_scan(glob, ['site', 'date']) }}
{%- endmacro %}

{% macro spark__ace_read_parquet(path) -%}
    {#- A glob read names no partition columns (Spark infers them only below a base path):
        each hive partition the glob names is taken from the file's path, as text (never
        inferred as a number), as DuckDB's hive_types_autocast = false does. -#}
    {{ spark__ace_parquet_scan(path, ace_glob_partitions(path)) }}
{%- endmacro %}

{% macro spark__ace_parquet_scan(glob, partitions) -%}
    (
        select
            scanned.*,
            {%- for name in partitions if name != 'site' %}
            regexp_extract(_metadata.file_path, {{ ace_sql_string('/' ~ name ~ '=([^/]+)/') }}, 1) as {{ adapter.quote(name) }},
            {%- endfor %}
            regexp_replace(_metadata.file_path, '^file:', '') as filename,
            _metadata.row_index as file_row_number
        from parquet.`{{ glob }}` as scanned
    )
{%- endmacro %}

{% macro default__ace_read_parquet_files(paths) -%}
    {{ exceptions.raise_compiler_error("ace_read_parquet_files: reading Parquet is implemented for DuckDB and Spark") }}
{%- endmacro %}

{% macro default__ace_read_parquet(path) -%}
    {{ exceptions.raise_compiler_error("ace_read_parquet: reading Parquet is implemented for DuckDB and Spark") }}
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
        {%- do columns.append("cast(null as " ~ ace_type(column.data_type) ~ ") as " ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {%- for partition in node.meta.get('hive_partitions', []) -%}
        {%- do columns.append("cast(null as " ~ ace_type('varchar') ~ ") as " ~ adapter.quote(partition)) -%}
    {%- endfor -%}
    {%- do columns.append("cast(null as " ~ ace_type('varchar') ~ ") as filename") -%}
    {%- do columns.append("cast(null as bigint) as file_row_number") -%}
    select {{ columns | join(', ') }} where false
{%- endmacro %}
