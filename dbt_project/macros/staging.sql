{#-
    The raw-sample staging columns (rename, cast), shared by the stg_ace__samples view and by
    the incremental models' direct read of just the files they are processing.
-#}
{% macro ace_raw_samples_columns() -%}
        -- identity
        cast(site as {{ ace_type('varchar') }}) as site,
        cast(point as {{ ace_type('varchar') }}) as point,
        cast(ts as {{ ace_type('timestamp with time zone') }}) as ts,

        -- value
        cast(value as {{ ace_type('double') }}) as value,
        cast(value_raw as {{ ace_type('varchar') }}) as value_raw,

        -- landing
        cast(source as {{ ace_type('varchar') }}) as source,
        cast(extracted_at as {{ ace_type('timestamp with time zone') }}) as extracted_at,
        cast(run_id as {{ ace_type('varchar') }}) as run_id,
        cast(filename as {{ ace_type('varchar') }}) as source_file,
        cast({{ adapter.quote('date') }} as {{ ace_type('date') }}) as partition_date
{%- endmacro %}


{% macro ace_landed_samples(range) -%}
    {#-
        The stg_ace__samples rows of the raw files in a pending range (a parenthesised
        relation). An incremental run names the files (range.raw_files, listed from
        int_landed_files when the range was computed) and reads just those: a semi-join
        with the view would expand the lake-wide glob, whose cost grows with the number of
        files landed so far. A rebuild, a very large range, and unit tests (whose
        ace_pending_range carries no file list) use the view semi-joined with the registry.
    -#}
    {%- if range.get('incremental', is_incremental()) and range.get('raw_files') is not none -%}
        {%- if range.raw_files | length == 0 -%}
        {#- no file: an empty relation of the same columns, without binding the view (which
            would list every file of the lake) -#}
        (
            select {{ ace_raw_samples_columns() }}
            from ({{ ace_empty_source_select('ace', 'raw_samples') }}) as no_files
        )
        {%- else -%}
        (
            select {{ ace_raw_samples_columns() }}
            from {{ ace_read_parquet_files(range.raw_files) }}
        )
        {%- endif -%}
    {%- else -%}
        (
            select raw_rows.*
            from {{ ref('stg_ace__samples') }} as raw_rows
            semi join ({{ ace_pending_files(range, 'raw') }}) as pending_files
                on raw_rows.source_file = pending_files.file_path
        )
    {%- endif -%}
{%- endmacro %}
