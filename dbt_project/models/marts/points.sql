-- Every point: the latest metadata snapshot, plus points that have samples but no
-- metadata (has_metadata false, default collect_interval), with the site's time zone and
-- when the point first and last reported, and its observed and expected intervals
-- (int_point_intervals). Rebuilt every run from two small tables.
{{ config(materialized='table') }}

with

metadata as (

    select * from {{ ref('int_point_metadata') }}

),

activity as (

    select * from {{ ref('int_point_activity') }}

),

intervals as (

    select * from {{ ref('int_point_intervals') }}

),

joined as (

    select
        coalesce(metadata.site, activity.site) as site,
        coalesce(metadata.point, activity.point) as point,
        metadata.point_id,
        metadata.client,
        metadata.point_type,
        metadata.unit,
        coalesce(metadata.collect_interval, {{ ace_default_interval() }}) as collect_interval,
        metadata.collect_interval_configured,
        metadata.is_collect_enabled,
        metadata.site is not null as has_metadata,
        {{ ace_site_timezone('coalesce(metadata.site, activity.site)') }} as timezone,
        metadata.kv_tags,
        metadata.marker_tags,
        metadata.bacnet_data,
        metadata.collect_config,
        metadata.created_at,
        metadata.updated_at,
        activity.first_ts as first_sample_ts,
        activity.last_ts as last_sample_ts,
        activity.n_landed,
        metadata.extracted_at as metadata_extracted_at,
        metadata.run_id as metadata_run_id,
        intervals.observed_interval,
        coalesce(intervals.is_interval_mismatch, false) as is_interval_mismatch,
        coalesce(
            intervals.expected_interval,
            metadata.collect_interval,
            {{ ace_default_interval() }}
        ) as expected_interval

    from metadata
    full outer join activity
        on metadata.site = activity.site and metadata.point = activity.point
    left join intervals
        on
            coalesce(metadata.site, activity.site) = intervals.site
            and coalesce(metadata.point, activity.point) = intervals.point

)

select * from joined
order by site, point
