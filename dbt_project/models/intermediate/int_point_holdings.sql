-- Per point and bucket of the ladder's finest grain: what the point's numeric samples hold
-- in it (macros/holdings.sql; docs/warehouse.md, "Time-weighted figures and runtime"), the
-- sums every aggregate's tw_avg, known_seconds, on_seconds and starts are made of.
-- Incremental: the buckets within one gap threshold of a landed sample are computed again
-- from the raw samples around them; a point whose expected interval changed, in full.
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref('samples') }}, {{ ref('timeseries') }}
{{
    config(
        unique_key=['site', 'point', 'bucket_start'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(['samples', 'int_point_intervals']) }}",
        meta={'ace_settings': [
            'default_collect_interval', 'interval_source', 'gap_threshold_seconds', 'gap_k'
        ]},
    )
}}

{%- set seconds = ace_holdings_seconds() %}
{%- set w = seconds * 1000000 %}
{%- set range = ace_pending_range(['samples', 'int_point_intervals']) %}
{%- set raw = ace_raw_relation(range) %}
{%- set has_changed = range.get('has_changed', true) %}

with

params as (

    {{ ace_hold_params() }}

),

{%- if is_incremental() %}

changed as (

    {{ ace_changed_points(range) }}

),

spans as (

    {{ ace_landed_spans(ace_landed_samples(range), 'params') }}

),

touched as (

    select touched_buckets.*
    from ({{ ace_touched_buckets('spans', seconds) }}) as touched_buckets
    anti join changed
        on touched_buckets.site = changed.site and touched_buckets.point = changed.point

),

windows as (

    -- runs of touched buckets, each read with one gap threshold on either side
    {{ ace_read_windows('touched', 'params', w) }}

),

scoped as (

    select s.site, s.point, s.ts, s.value, windows.island
    from {{ raw }} as s
    inner join windows
        on s.site = windows.site
        and s.point = windows.point
        and s.ts >= windows.read_from
        and s.ts < windows.read_to
    {%- if has_changed %}

    union all

    select s.site, s.point, s.ts, s.value, -1 as island
    from {{ raw }} as s
    semi join changed on s.site = changed.site and s.point = changed.point
    {%- endif %}

),

{%- else %}

scoped as (

    select
        site,
        point,
        ts,
        value,
        0 as island
    from {{ raw }}

),

{%- endif %}

buckets as (

    {{ ace_holding_buckets('scoped', 'params', w) }}

),

final as (

    {%- if is_incremental() %}
    -- every touched bucket, with zeros where nothing is held now (a row held before is replaced)
    select
        touched.site,
        touched.point,
        touched.bucket_start,
        coalesce(buckets.tw_sum, 0) as tw_sum,
        coalesce(buckets.known_seconds, 0) as known_seconds,
        coalesce(buckets.on_seconds, 0) as on_seconds,
        coalesce(buckets.n_non_binary, 0) as n_non_binary,
        coalesce(buckets.starts, 0) as starts

    from touched
    left join buckets
        on touched.site = buckets.site and touched.point = buckets.point and touched.idx = buckets.idx
    {%- if has_changed %}

    union all

    select
        buckets.site, buckets.point, {{ ace_from_epoch_microseconds('buckets.idx * ' ~ w) }},
        buckets.tw_sum, buckets.known_seconds, buckets.on_seconds, buckets.n_non_binary, buckets.starts
    from buckets
    semi join changed on buckets.site = changed.site and buckets.point = changed.point

    union all

    -- a changed point's held buckets where nothing is held any more
    select held.site, held.point, held.bucket_start, 0, 0, 0, 0, 0
    from {{ this }} as held
    semi join changed on held.site = changed.site and held.point = changed.point
    anti join buckets
        on held.site = buckets.site and held.point = buckets.point
        and {{ ace_epoch_microseconds('held.bucket_start') }} // {{ w }} = buckets.idx
    {%- endif %}
    {%- else %}
    select
        site, point, {{ ace_from_epoch_microseconds('idx * ' ~ w) }} as bucket_start,
        tw_sum, known_seconds, on_seconds, n_non_binary, starts
    from buckets
    {%- endif %}

)

select * from final
