-- One row per (site, point, ts): the winning landed row. import beats realtime and
-- backfill; within a rank the later extracted_at wins, then the larger run_id.
-- Incremental: only the raw files landed since the last run are read; their best row per
-- key is compared with the row already held for that key (if any), and only keys whose
-- winner changed are rewritten (delete+insert on the key). On Spark (plain Parquet, no
-- delete) the (site, UTC date) partitions the new files touch are computed again from all
-- their raw files and overwritten (macros/samples.sql).
-- (refs used through macros, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}
{{
    config(
        unique_key=['site', 'point', 'ts'],
        incremental_strategy=ace_engine_config(duckdb='delete+insert', spark='insert_overwrite'),
        partition_by=ace_engine_config(duckdb=none, spark=['site', 'ts_date']),
        post_hook="{{ ace_record_progress(['int_landed_files']) }}",
    )
}}

{%- set range = ace_pending_range(['int_landed_files']) %}

{{ ace_samples_winners(range) }}
