-- The files currently in the lake (a directory listing, no Parquet is read), with what
-- their paths say: kind, site partition, date partition and run id.
with

raw_files as (

    select
        file_path,
        'raw' as kind
    from {{ ace_list_files(ace_source_path('ace', 'raw_samples')) }} as listed

),

point_files as (

    select
        file_path,
        'points' as kind
    from {{ ace_list_files(ace_source_path('ace', 'meta_points')) }} as listed

),

listed as (

    select * from raw_files
    union all
    select * from point_files

),

parsed as (

    select
        file_path,
        kind,
        nullif(regexp_extract(file_path, '/site=([^/]+)/', 1), '') as site,
        try_cast(nullif(regexp_extract(file_path, '/date=([^/]+)/', 1), '') as date)
            as partition_date,
        -- raw files are <run_id>-<n>.parquet, snapshots <run_id>.parquet
        case kind
            when 'raw' then regexp_extract(file_path, '([^/]+)-[0-9]+\.parquet$', 1)
            else regexp_extract(file_path, '([^/]+)\.parquet$', 1)
        end as run_id

    from listed

)

select * from parsed
