{#-
    Hot and cold tiers (docs/warehouse.md, "Hot and cold tiers"). Raw samples older than the
    cold boundary are moved by extract/tiers.py to Parquet under <lake>/cold/; these objects
    are its state, created empty (on-run-start) so that `timeseries` can always be built:
      cold_files     the registry of cold files (only active ones are read)
      cold_state     one row: cold_until, every cold row has ts < cold_until
      cold_pending   the files a move is about to write (committed before writing them), so
                     that a crash leaves orphans the next move can tell from other files
      cold_until()   a macro returning the same instant as a constant (so that a filter
                     `ts >= cold_until()` is folded and prunes the scan of `samples`)
      cold_samples   a view over the active cold files; extract/tiers.py replaces it in the
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
        select
            cast(null as varchar) as site,
            cast(null as varchar) as point,
            cast(null as timestamp with time zone) as ts,
            cast(null as double) as value,
            cast(null as varchar) as value_raw,
            cast(null as varchar) as source,
            cast(null as timestamp with time zone) as extracted_at,
            cast(null as varchar) as run_id
        where false;
    create macro if not exists {{ target.schema }}.cold_until() as
        cast('-infinity' as timestamp with time zone)
{%- endmacro %}



{% macro ace_winner_order() -%}
    {#- The winner rule of a (site, point, ts) key held several times (docs/warehouse.md):
        an import beats realtime and backfill, then the later extracted_at, then the larger
        run_id, then the larger value_raw (so the result never depends on processing
        order). An ORDER BY list for row_number(): the first row wins. extract/tiers.py
        applies the same order when it merges late rows into cold files. -#}
    case when source = 'import' then 1 else 0 end desc,
    extracted_at desc,
    run_id desc,
    value_raw desc nulls last
{%- endmacro %}
