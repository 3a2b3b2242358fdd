{#-
    Raw retention (docs/operations.md, "Raw retention"; extract/warehouse/retention.py). Raw
    files whose every sample the cold tier holds may be deleted; the warehouse keeps their
    record in the table raw_pruned (one row per file; deleted_at is set once the file is
    confirmed gone; created by the retention, not by dbt, and never rebuilt), which names
    for each file the Parquet file of the lake (state/retention/landings/) holding its
    landings per point and UTC 5-minute bucket: the landed-row count, first and last ts,
    latest extracted_at. The cold tier gives a rebuild every sample of such a file;
    these macros give it the rest: the landed copies the counting models count.
-#}

{% macro ace_pruned_landings(range) -%}
    {#- The landings of deleted raw files with file_id <= range.hi (site, point, bucket_start,
        first_ts, last_ts, last_extracted_at, n_landed), for a rebuild of a model that
        counts landed copies; an empty relation in an incremental run (it never reads a file
        the retention may delete: those are behind every model's position) and while
        nothing was deleted. A file recorded but not confirmed gone (a prune killed
        mid-way) counts only when it is not on disk, so a rebuild at any moment counts
        each landed copy once: from its file or from here. -#}
    {%- set empty -%}
        (
            select
                cast(null as {{ ace_type('varchar') }}) as site,
                cast(null as {{ ace_type('varchar') }}) as point,
                cast(null as {{ ace_type('timestamp with time zone') }}) as bucket_start,
                cast(null as {{ ace_type('timestamp with time zone') }}) as first_ts,
                cast(null as {{ ace_type('timestamp with time zone') }}) as last_ts,
                cast(null as {{ ace_type('timestamp with time zone') }}) as last_extracted_at,
                cast(null as bigint) as n_landed
            where false
        )
    {%- endset -%}
    {%- if not execute or range.get('incremental', is_incremental()) -%}
        {{- return(empty) -}}
    {%- endif -%}
    {%- if not ace_table_exists('raw_pruned') -%}
        {{- return(empty) -}}
    {%- endif -%}
    {%- set pruned = target.schema ~ '.raw_pruned' -%}
    {%- set pending = run_query('select file_path from ' ~ pruned ~ ' where deleted_at is null order by file_path').columns[0].values() | list -%}
    {%- set gone = [] -%}
    {%- for path in pending -%}
        {%- if run_query('select count(*) from glob(' ~ ace_sql_string(path) ~ ')').columns[0].values()[0] == 0 -%}
            {%- do gone.append(ace_sql_string(path)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set counted -%}
        files.file_id <= {{ range.hi }}
        and (
            files.deleted_at is not null
            {%- if gone | length > 0 %}
            or files.file_path in ({{ gone | join(', ') }})
            {%- endif %}
        )
    {%- endset -%}
    {%- set landings = run_query('select distinct landings from ' ~ pruned ~ ' as files where ' ~ counted ~ ' order by 1').columns[0].values() | list -%}
    {%- if landings | length == 0 -%}
        {{- return(empty) -}}
    {%- endif -%}
    {%- set literals = [] -%}
    {%- for path in landings -%}
        {%- do literals.append(ace_sql_string(path)) -%}
    {%- endfor -%}
    (
        select
            landed.site,
            landed.point,
            landed.bucket_start,
            landed.first_ts,
            landed.last_ts,
            landed.last_extracted_at,
            landed.n_landed
        from read_parquet([{{ literals | join(', ') }}], filename = true) as landed
        -- a file's landings are those of the record that counts it (a file judged again
        -- after an interrupted prune has a second, newer record)
        inner join {{ pruned }} as files
            on landed.file_path = files.file_path and landed.filename = files.landings
        where {{ counted }}
    )
{%- endmacro %}


{% macro ace_check_pruned_cold_files() -%}
    {#- on-run-start, before ace_check_cold_files: an active cold file that is missing is
        the only copy of the samples of raw files the retention deleted from its (site,
        month), so not even --full-refresh may retire it: the build stops with one line
        naming the recovery (restore the file, or the warehouse from a published snapshot). -#}
    {%- if not execute -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- if not ace_table_exists('raw_pruned') -%}
        {{- return('select 1') -}}
    {%- endif -%}
    {%- set sql -%}
        select cold.path
        from {{ target.schema }}.cold_files as cold
        semi join {{ target.schema }}.raw_pruned as pruned
            on cold.site = pruned.site and cold.month = strftime(pruned.partition_date, '%Y-%m')
        where cold.active
        order by cold.path
    {%- endset -%}
    {%- set missing = [] -%}
    {%- for path in run_query(sql).columns[0].values() -%}
        {%- if run_query('select count(*) from glob(' ~ ace_sql_string(path) ~ ')').columns[0].values()[0] == 0 -%}
            {%- do missing.append(path) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing | length > 0 -%}
        {{ exceptions.raise_compiler_error(missing | length ~ " active cold-tier file(s) missing whose raw files the retention deleted, e.g. " ~ missing[0] ~ ": their samples exist nowhere else; restore the file from a backup, or copy the newest published snapshot over the warehouse (docs/operations.md, \"Raw retention\")") }}
    {%- endif -%}
    select 1
{%- endmacro %}
