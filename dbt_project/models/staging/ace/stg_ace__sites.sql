-- Every snapshot of /sites (one row per site per snapshot); the latest wins in `sites`.
with

source as (

    select * from {{ ace_lake_relation('ace', 'meta_sites') }}

),

renamed as (

    select
        -- identity
        cast(site as {{ ace_type('varchar') }}) as site,
        cast(site_id as bigint) as site_id,

        -- description
        cast(nice_name as {{ ace_type('varchar') }}) as nice_name,
        cast(client as {{ ace_type('varchar') }}) as client,
        cast(address as {{ ace_type('varchar') }}) as address,
        cast(latitude as double) as latitude,
        cast(longitude as double) as longitude,

        -- flags
        cast(archived as boolean) as is_archived,
        cast(collect_enabled as boolean) as is_collect_enabled,

        -- snapshot
        cast(raw_json as {{ ace_type('json') }}) as raw_json,
        cast(extracted_at as {{ ace_type('timestamp with time zone') }}) as extracted_at,
        cast(run_id as {{ ace_type('varchar') }}) as run_id,
        cast(filename as {{ ace_type('varchar') }}) as source_file

    from source

)

select * from renamed
