-- Every site: its latest /sites snapshot (sites with points or samples but no snapshot are
-- kept, has_metadata false) and its configured time zone.
{{ config(materialized='table') }}

{%- set configured = [] %}
{%- for site in var('site_timezones', {}) or {} %}
    {%- do configured.append(ace_sql_string(site)) %}
{%- endfor %}

with

latest_snapshot as (

    select *
    from {{ ref('stg_ace__sites') }}
    qualify row_number() over (partition by site order by extracted_at desc, run_id desc) = 1

),

known_sites as (

    select site from latest_snapshot
    union
    select distinct site from {{ ref('points') }}

),

joined as (

    select
        known_sites.site,
        latest_snapshot.site_id,
        latest_snapshot.nice_name,
        latest_snapshot.client,
        latest_snapshot.address,
        latest_snapshot.latitude,
        latest_snapshot.longitude,
        latest_snapshot.is_archived,
        latest_snapshot.is_collect_enabled,
        latest_snapshot.site is not null as has_metadata,
        {{ ace_site_timezone('known_sites.site') }} as timezone,
        coalesce(
            known_sites.site in ({{ configured | join(', ') if configured else 'null' }}), false
        ) as is_timezone_configured,
        latest_snapshot.raw_json,
        latest_snapshot.extracted_at as metadata_extracted_at,
        latest_snapshot.run_id as metadata_run_id

    from known_sites
    left join latest_snapshot on known_sites.site = latest_snapshot.site

)

select * from joined
order by site
