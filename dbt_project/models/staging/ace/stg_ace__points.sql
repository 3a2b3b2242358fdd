-- Every snapshot of each site's configured points (one row per point per snapshot), with
-- the JSON texts typed as JSON and the unit parsed out of kv_tags.
with

source as (

    select * from {{ ace_lake_relation('ace', 'meta_points') }}

),

renamed as (

    select
        -- identity
        cast(site as {{ ace_type('varchar') }}) as site,
        cast(point as {{ ace_type('varchar') }}) as point,
        cast(point_id as bigint) as point_id,

        -- configuration
        cast(client as {{ ace_type('varchar') }}) as client,
        cast(collect_enabled as boolean) as is_collect_enabled,
        cast(collect_interval as bigint) as collect_interval,
        nullif(cast(point_type as {{ ace_type('varchar') }}), '') as point_type,

        -- tags
        {{ ace_json_extract_string(ace_try_json('kv_tags'), '$.unit') }} as unit,
        {{ ace_try_json('kv_tags') }} as kv_tags,
        {{ ace_try_json('marker_tags') }} as marker_tags,
        {{ ace_try_json('bacnet_data') }} as bacnet_data,
        {{ ace_try_json('collect_config') }} as collect_config,

        -- times as received, and parsed (a naive time is UTC)
        cast(created as {{ ace_type('varchar') }}) as created_raw,
        cast(updated as {{ ace_type('varchar') }}) as updated_raw,
        try_cast(created as {{ ace_type('timestamp with time zone') }}) as created_at,
        try_cast(updated as {{ ace_type('timestamp with time zone') }}) as updated_at,

        -- snapshot
        {{ ace_try_json('raw_json') }} as raw_json,
        cast(extracted_at as {{ ace_type('timestamp with time zone') }}) as extracted_at,
        cast(run_id as {{ ace_type('varchar') }}) as run_id,
        cast(filename as {{ ace_type('varchar') }}) as source_file

    from source

)

select * from renamed
