{#-
    Hot and cold tiers (docs/warehouse.md, "Hot and cold tiers"). Raw samples older than the
    cold boundary are moved by extract/warehouse/tiers.py to Parquet under <lake>/cold/; these objects
    are its state, created empty (on-run-start) so that `timeseries` can always be built:
      cold_files     the registry of cold files (only active ones are read)
      cold_state     one row: cold_until, every cold row has ts < cold_until
      cold_pending   the files a move is about to write (committed before writing them), so
                     that a crash leaves orphans the next move can tell from other files
      cold_until()   a macro returning the same instant as a constant (so that a filter
                     `ts >= cold_until()` is folded and prunes the scan of `samples`)
      cold_samples   a view over the active cold files; extract/warehouse/tiers.py replaces it in the
                     transaction that switches the file list
-#}

{% macro ace_create_cold_tables() -%}
    create schema if not exists {{ target.schema }};
    create table if not exists {{ target.schema }}.cold_files (
        site varchar not null,
        month varchar not null,
        path varchar not null,
        generation bigint not null,
        n_rows bigint not null,
        active boolean not null,
        created_at timestamp with time zone not null,
        superseded_at timestamp with time zone
    );
    create table if not exists {{ target.schema }}.cold_state (
        cold_until timestamp with time zone not null
    );
    create table if not exists {{ target.schema }}.cold_pending (
        path varchar not null,
        planned_at timestamp with time zone not null
    );
    create view if not exists {{ target.schema }}.cold_samples as
        {{ ace_empty_cold_samples() }};
    create macro if not exists {{ target.schema }}.cold_until() as
        cast('-infinity' as timestamp with time zone)
{%- endmacro %}



{% macro ace_winner_order() -%}
    {#- The winner rule of a (site, point, ts) key held several times (docs/warehouse.md):
        an import beats realtime and backfill, then the later extracted_at, then the larger
        run_id, then the larger value_raw (so the result never depends on processing
        order). An ORDER BY list for row_number(): the first row wins. extract/warehouse/tiers.py
        applies the same order when it merges late rows into cold files. -#}
    case when source = 'import' then 1 else 0 end desc,
    extracted_at desc,
    run_id desc,
    value_raw desc nulls last
{%- endmacro %}


{% macro ace_check_cold_files() -%}
    {#- on-run-start, after ace_create_cold_tables: the active cold files must be on disk.
        A missing one (deleted by hand, a lost disk) stops an incremental build with one
        line naming the recovery; under --full-refresh, which reloads every landed raw file
        into `samples`, it is retired (the next move writes the month again from the hot
        rows) and cold_samples is re-created over the files that remain. A missing file is
        found with one directory listing per cold root, not one check per file. -#}
    {%- if not execute -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set registry = target.schema ~ '.cold_files' -%}
    {%- set active = run_query('select path from ' ~ registry ~ ' where active order by path').columns[0].values() | list -%}
    {%- if active | length == 0 -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set roots = [] -%}
    {%- for path in active -%}
        {%- set root = path.rsplit('/', 3)[0] -%}
        {%- if root not in roots -%}
            {%- do roots.append(root) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set present = [] -%}
    {%- for root in roots -%}
        {%- set listed = run_query('select file from glob(' ~ ace_sql_string(root ~ '/site=*/month=*/*.parquet') ~ ')').columns[0].values() -%}
        {%- for file in listed -%}
            {%- do present.append(file) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set missing = active | reject('in', present) | list -%}
    {%- if missing | length == 0 -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- if not flags.FULL_REFRESH -%}
        {{ exceptions.raise_compiler_error(missing | length ~ " active cold-tier file(s) missing, e.g. " ~ missing[0] ~ ": run `python -m extract run` (it rebuilds them from raw/) or `dbt build --full-refresh` (docs/operations.md)") }}
    {%- endif -%}
    {%- do log("cold tier: " ~ missing | length ~ " missing file(s) retired for the full refresh, e.g. " ~ missing[0], info=true) -%}
    {%- set kept = active | reject('in', missing) | list -%}
    {%- set literals = [] -%}
    {%- for path in missing -%}
        {%- do literals.append(ace_sql_string(path)) -%}
    {%- endfor -%}
    update {{ registry }} set active = false, superseded_at = now() where path in ({{ literals | join(', ') }});
    {%- if kept | length > 0 %}
    {%- set files = [] -%}
    {%- for path in kept -%}
        {%- do files.append(ace_sql_string(path)) -%}
    {%- endfor %}
    create or replace view {{ target.schema }}.cold_samples as
        select site, point, ts, value, value_raw, source, extracted_at, run_id
        from read_parquet([{{ files | join(', ') }}], hive_partitioning = true, hive_types_autocast = false)
    {%- else %}
    create or replace view {{ target.schema }}.cold_samples as
        {{ ace_empty_cold_samples() }}
    {%- endif -%}
{%- endmacro %}


{% macro ace_empty_cold_samples() -%}
    {#- The cold view while the cold tier holds no file: no rows, the raw columns. -#}
    select
        cast(null as varchar) as site,
        cast(null as varchar) as point,
        cast(null as timestamp with time zone) as ts,
        cast(null as double) as value,
        cast(null as varchar) as value_raw,
        cast(null as varchar) as source,
        cast(null as timestamp with time zone) as extracted_at,
        cast(null as varchar) as run_id
    where false
{%- endmacro %}
