{#-
    The winners of the `samples` model (models/marts/samples.sql): one row per
    (site, point, ts), the best landed row by ace_winner_order().
-#}

{% macro ace_samples_winners(range) -%}
    {{- return(adapter.dispatch('ace_samples_winners', 'ace_warehouse')(range)) -}}
{%- endmacro %}


{% macro ace_sample_columns(alias) -%}
    {#- The columns of `samples`, of a relation named alias. -#}
    {%- for column in ['site', 'point', 'ts', 'value', 'value_raw', 'source', 'extracted_at', 'run_id'] -%}
        {{ alias }}.{{ column }}{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{% macro duckdb__ace_samples_winners(range) -%}
with

landed as (

    select
        {{ ace_sample_columns('raw_rows') }}

    from {{ ace_landed_samples(range) }} as raw_rows

),

best_landed as (

    select *
    from landed
    qualify row_number() over (partition by site, point, ts order by {{ ace_winner_order() }}) = 1

),

{%- if is_incremental() %}

held as (

    select
        {{ ace_sample_columns('current_rows') }}

    from {{ this }} as current_rows
    semi join best_landed
        on current_rows.site = best_landed.site
        and current_rows.point = best_landed.point
        and current_rows.ts = best_landed.ts

),

candidates as (

    select *, true as is_landed from best_landed
    union all
    -- a held row wins a tie, so re-landing the same row rewrites nothing
    select *, false as is_landed from held

),

winners as (

    select *
    from candidates
    qualify row_number() over (
        partition by site, point, ts order by {{ ace_winner_order() }}, is_landed
    ) = 1

),

changed as (

    select * exclude (is_landed)
    from winners
    where is_landed

)

select * from changed

{%- else %}

ordered as (

    -- clustered by time: the recent-range lookups of incremental runs (and any time-range
    -- query) skip row groups by their min/max
    select *
    from best_landed
    order by ts

)

select * from ordered

{%- endif %}
{%- endmacro %}


{% macro spark__ace_samples_winners(range) -%}
    {#- A (site, point, ts) key lives in the raw files of its site and UTC date (the lake's
        site= and date= folders), so the partition (site, ts_date) of the table is computed
        again from every raw file of that folder up to the run's position, and overwritten
        (insert_overwrite, dynamic). A run that is repeated (a crash before its position was
        recorded) writes the same partitions again. -#}
    {%- set files = ace_partition_files(range) -%}
    with

    landed as (

        select
            {{ ace_sample_columns('raw_rows') }},
            raw_rows.partition_date as ts_date

        from {{ ace_landed_samples(files) }} as raw_rows

    ),

    ranked as (

        select
            landed.*,
            row_number() over (
                partition by site, point, ts order by {{ ace_winner_order() }}
            ) as winner_rank
        from landed

    )

    select site, point, ts, value, value_raw, source, extracted_at, run_id, ts_date
    from ranked
    where winner_rank = 1
{%- endmacro %}


{% macro ace_partition_files(range) -%}
    {#- The range of an incremental run widened to the (site, date) folders it touches: every
        raw file of those folders with file_id <= hi, named for ace_landed_samples. A rebuild
        keeps the range (all files up to hi). -#}
    {%- if not execute or not range.get('incremental', is_incremental()) -%}
        {{- return(range) -}}
    {%- endif -%}
    {%- set sql -%}
        select all_files.file_path
        from {{ ace_relation('int_landed_files') }} as all_files
        inner join (
            select distinct site, partition_date
            from {{ ace_relation('int_landed_files') }}
            where kind = 'raw' and file_id > {{ range.lo }} and file_id <= {{ range.hi }}
        ) as touched
            on all_files.site = touched.site and all_files.partition_date = touched.partition_date
        where all_files.kind = 'raw' and all_files.file_id <= {{ range.hi }}
        order by all_files.file_path
    {%- endset -%}
    {%- set widened = {} -%}
    {%- do widened.update(range) -%}
    {%- do widened.update({'raw_files': run_query(sql).columns[0].values() | list}) -%}
    {{- return(widened) -}}
{%- endmacro %}
