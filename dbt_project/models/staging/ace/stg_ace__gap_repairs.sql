-- The extractor's gap-repair state (state/gap_repair/<site>.json, written by
-- extract/landing/repair.py): one row per gap it asks the API for again, typed. While no
-- state file exists it is an empty relation of the same columns (the glob is checked each
-- time the view is compiled, so it follows the files appearing and going).
{%- set path = ace_source_path('ace', 'gap_repair_state') %}

{%- if ace_path_has_files(path) %}

with

documents as (

    select
        site,
        filename,
        unnest(gaps) as gap
    from read_json(
        {{ ace_sql_string(path) }},
        format = 'auto',
        filename = true,
        columns = {
            site: 'varchar',
            gaps: 'struct(point varchar, gap_start varchar, gap_end varchar, first_seen varchar, attempts bigint, last_attempt varchar, next_attempt varchar, status varchar, final_at varchar)[]'
        }
    )

),

renamed as (

    select
        cast(site as varchar) as site,
        gap.point as point,
        cast(gap.gap_start as timestamp with time zone) as gap_start,
        cast(gap.gap_end as timestamp with time zone) as gap_end,
        gap.status as status,
        gap.attempts as attempts,
        cast(gap.first_seen as timestamp with time zone) as first_seen,
        cast(gap.last_attempt as timestamp with time zone) as last_attempt,
        cast(gap.next_attempt as timestamp with time zone) as next_attempt,
        cast(gap.final_at as timestamp with time zone) as final_at,
        cast(filename as varchar) as source_file

    from documents

)

select * from renamed

{%- else %}

select
    cast(null as varchar) as site,
    cast(null as varchar) as point,
    cast(null as timestamp with time zone) as gap_start,
    cast(null as timestamp with time zone) as gap_end,
    cast(null as varchar) as status,
    cast(null as bigint) as attempts,
    cast(null as timestamp with time zone) as first_seen,
    cast(null as timestamp with time zone) as last_attempt,
    cast(null as timestamp with time zone) as next_attempt,
    cast(null as timestamp with time zone) as final_at,
    cast(null as varchar) as source_file
where false

{%- endif %}
