-- Every snapshot of each site's configured points (one row per point per snapshot), with
-- the JSON texts typed as JSON and the unit parsed out of kv_tags.
with

source as (

    select * from {{ ace_lake_relation('ace', 'meta_points') }}

),

renamed as (

    select
        -- identity
        cast(site as varchar) as site,
        cast(point as varchar) as point,
        cast(point_id as bigint) as point_id,

        -- configuration
        cast(client as varchar) as client,
        cast(collect_enabled as boolean) as is_collect_enabled,
        cast(collect_interval as bigint) as collect_interval,
        nullif(cast(point_type as varchar), '') as point_type,

        -- tags
        json_extract_string(try_cast(kv_tags as json), '$.unit') as unit,
        try_cast(kv_tags as json) as kv_tags,
        try_cast(marker_tags as json) as marker_tags,
        try_cast(bacnet_data as json) as bacnet_data,
        try_cast(collect_config as json) as collect_config,

        -- times as received, and parsed (a naive time is UTC)
        cast(created as varchar) as created_raw,
        cast(updated as varchar) as updated_raw,
        try_cast(created as timestamp with time zone) as created_at,
        try_cast(updated as timestamp with time zone) as updated_at,

        -- snapshot
        try_cast(raw_json as json) as raw_json,
        cast(extracted_at as timestamp with time zone) as extracted_at,
        cast(run_id as varchar) as run_id,
        cast(filename as varchar) as source_file

    from source

)

select * from renamed
