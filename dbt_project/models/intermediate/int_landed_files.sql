-- The registry of landed files: every raw-sample and point-metadata file gets the next
-- file_id the first time a run sees it. Incremental models record the highest file_id they
-- have incorporated (model_progress), so "what was landed since my last run" is a range of
-- file_ids, never a time window. Never rebuilt by --full-refresh: the ids must stay stable.
{{
    config(
        incremental_strategy='append',
        full_refresh=false,
    )
}}

with

listed as (

    select * from {{ ref('stg_ace__lake_files') }}

),

new_files as (

    select listed.*
    from listed
    {%- if is_incremental() %}
    where not exists (
        select 1 from {{ this }} as known where known.file_path = listed.file_path
    )
    {%- endif %}

),

numbered as (

    select
        {%- if is_incremental() %}
        (select coalesce(max(file_id), 0) from {{ this }})
            + row_number() over (order by new_files.kind, new_files.file_path) as file_id,
        {%- else %}
        row_number() over (order by new_files.kind, new_files.file_path) as file_id,
        {%- endif %}
        new_files.file_path,
        new_files.kind,
        new_files.site,
        new_files.partition_date,
        new_files.run_id,
        {{ ace_run_started_at() }} as registered_at

    from new_files

)

select * from numbered
