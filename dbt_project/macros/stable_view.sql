{#-
    Materialization `stable_view`: a view that is only (re)created when its compiled SQL
    changed. The staging views read the lake through globs, and DuckDB binds a view when it
    is created, which lists every file the glob matches: with a month of 5-minute syncs
    (tens of thousands of files) each re-creation costs 0.1-0.3 s, on every scheduled run,
    for a view whose text did not change. A view is re-bound whenever it is queried, so an
    unchanged view still sees every file landed since.

    The compiled SQL's MD5 is kept as the view's comment (COMMENT ON VIEW); when the view
    exists with the same fingerprint, nothing is done. --full-refresh always re-creates.
-#}

{% materialization stable_view, adapter='duckdb' %}

    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set fingerprint = 'ace-sql-md5:' ~ local_md5(sql) -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set unchanged = false -%}
    {%- if existing is not none and existing.is_view and not should_full_refresh() -%}
        {%- set check -%}
            select count(*) from duckdb_views()
            where database_name = {{ ace_sql_string(this.database) }}
              and schema_name = {{ ace_sql_string(this.schema) }}
              and view_name = {{ ace_sql_string(this.identifier) }}
              and comment = {{ ace_sql_string(fingerprint) }}
        {%- endset -%}
        {%- set unchanged = run_query(check).columns[0].values()[0] > 0 -%}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if unchanged %}
        {% call statement('main') -%}
            select 'unchanged: ' || {{ ace_sql_string(this.identifier) }} as ace_stable_view
        {%- endcall %}
    {%- else %}
        {%- if existing is not none and not existing.is_view -%}
            {{ adapter.drop_relation(existing) }}
        {%- endif -%}
        {% call statement('main') -%}
            create or replace view {{ target_relation }} as (
                {{ sql }}
            );
            comment on view {{ target_relation }} is {{ ace_sql_string(fingerprint) }}
        {%- endcall %}
    {%- endif %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
