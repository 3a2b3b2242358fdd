-- Samples the extractor could not turn into raw rows, with the reason.
with

source as (

    select * from {{ ace_lake_relation('ace', 'quarantine') }}

),

renamed as (

    select
        -- as received
        cast(site as varchar) as site,
        cast(point as varchar) as point,
        cast(time_raw as varchar) as time_raw,
        cast(value_raw as varchar) as value_raw,
        cast(reason as varchar) as reason,
        cast(origin as varchar) as origin,

        -- landing
        cast(source as varchar) as source,
        cast(extracted_at as timestamp with time zone) as extracted_at,
        cast(run_id as varchar) as run_id,
        cast(filename as varchar) as source_file,
        cast(file_row_number as bigint) as source_row,
        cast(date as date) as extracted_date

    from source

)

select * from renamed
