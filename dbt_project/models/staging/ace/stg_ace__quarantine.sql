-- Samples the extractor could not turn into raw rows, with the reason.
with

source as (

    select * from {{ ace_lake_relation('ace', 'quarantine') }}

),

renamed as (

    select
        -- as received
        cast(site as {{ ace_type('varchar') }}) as site,
        cast(point as {{ ace_type('varchar') }}) as point,
        cast(time_raw as {{ ace_type('varchar') }}) as time_raw,
        cast(value_raw as {{ ace_type('varchar') }}) as value_raw,
        cast(reason as {{ ace_type('varchar') }}) as reason,
        cast(origin as {{ ace_type('varchar') }}) as origin,

        -- landing
        cast(source as {{ ace_type('varchar') }}) as source,
        cast(extracted_at as {{ ace_type('timestamp with time zone') }}) as extracted_at,
        cast(run_id as {{ ace_type('varchar') }}) as run_id,
        cast(filename as {{ ace_type('varchar') }}) as source_file,
        cast(file_row_number as bigint) as source_row,
        cast({{ adapter.quote('date') }} as date) as extracted_date

    from source

)

select * from renamed
