{#-
    What differs between the engines the project runs on (docs/spark.md): DuckDB, the
    embedded default, and Spark through dbt-spark. Every model and macro names relations,
    types and catalog lookups through these, never in an engine's own spelling.
-#}

{% macro ace_relation(identifier) -%}
    {#- A relation of the target schema by name (Spark's relations have no database). -#}
    {{- return(adapter.dispatch('ace_relation', 'ace_warehouse')(identifier)) -}}
{%- endmacro %}

{% macro default__ace_relation(identifier) -%}
    {{- return(api.Relation.create(database=target.database, schema=target.schema, identifier=identifier, type='table')) -}}
{%- endmacro %}

{% macro spark__ace_relation(identifier) -%}
    {{- return(api.Relation.create(schema=target.schema, identifier=identifier, type='table')) -}}
{%- endmacro %}


{% macro ace_existing_tables(identifiers) -%}
    {#- Which of the named relations exist in the target schema, asked of the database (not
        of dbt's relation cache: some are made by hooks). -#}
    {{- return(adapter.dispatch('ace_existing_tables', 'ace_warehouse')(identifiers)) -}}
{%- endmacro %}

{% macro default__ace_existing_tables(identifiers) -%}
    {%- set sql -%}
        select table_name from information_schema.tables
        where table_schema = {{ ace_sql_string(target.schema) }}
            and table_name in ({% for name in identifiers %}{{ ace_sql_string(name) }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endset -%}
    {{- return(run_query(sql).columns[0].values() | list) -}}
{%- endmacro %}

{% macro spark__ace_existing_tables(identifiers) -%}
    {%- set found = [] -%}
    {%- set schemas = run_query('show schemas').columns[0].values() | list -%}
    {%- if target.schema in schemas -%}
        {%- for row in run_query('show tables in ' ~ target.schema).rows -%}
            {%- if row['tableName'] in identifiers and not row['isTemporary'] -%}
                {%- do found.append(row['tableName']) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found) -}}
{%- endmacro %}


{% macro ace_table_exists(identifier) -%}
    {{- return(identifier in ace_existing_tables([identifier])) -}}
{%- endmacro %}


{% macro ace_type(name) -%}
    {#- An engine's spelling of one of the project's column types, named as DuckDB spells
        them (the sources' data_type): varchar, timestamp with time zone (an instant),
        json, double, bigint, integer, boolean, date. -#}
    {{- return(adapter.dispatch('ace_type', 'ace_warehouse')(name)) -}}
{%- endmacro %}

{% macro default__ace_type(name) -%}
    {{- return(name) -}}
{%- endmacro %}

{% macro spark__ace_type(name) -%}
    {#- Spark's timestamp is an instant (shown in the session time zone, UTC here). -#}
    {%- set spelled = {'varchar': 'string', 'timestamp with time zone': 'timestamp', 'json': 'string'} -%}
    {{- return(spelled.get(name | lower, name)) -}}
{%- endmacro %}


{% macro ace_engine_config(duckdb, spark) -%}
    {#- A model config value that differs by engine (the incremental strategy, partitioning). -#}
    {{- return(spark if target.type == 'spark' else duckdb) -}}
{%- endmacro %}


{% macro ace_engine_owns(part) -%}
    {#- Whether this engine keeps a part of the product that only one engine has (the hooks
        in dbt_project.yml ask): 'cold_tier' (macros/tiers.sql, moved by the main job) and
        'analyst_macros' (series(), find_points()) are DuckDB's; analysts reach Spark's
        tables through a DuckDB file of views over them (docs/spark.md). -#}
    {{- return(adapter.dispatch('ace_engine_owns', 'ace_warehouse')(part)) -}}
{%- endmacro %}

{% macro duckdb__ace_engine_owns(part) -%}
    {{- return(part in ['cold_tier', 'analyst_macros']) -}}
{%- endmacro %}

{% macro default__ace_engine_owns(part) -%}
    {{- return(false) -}}
{%- endmacro %}


{% macro ace_memory_limit() -%}
    {#- on-run-start: DuckDB's memory limit from the environment variable DUCKDB_MEMORY_LIMIT
        (a size such as 6GB), when it is set; else DuckDB's own default, 80 % of the RAM.
        The setting is global to the database, so it holds for every thread of the run;
        past it, joins, sorts, windows and most aggregates spill to <warehouse>.tmp/. -#}
    {%- set limit = env_var('DUCKDB_MEMORY_LIMIT', '') | trim -%}
    {%- if limit and target.type == 'duckdb' -%}
        set memory_limit = {{ ace_sql_string(limit) }}
    {%- endif -%}
{%- endmacro %}
