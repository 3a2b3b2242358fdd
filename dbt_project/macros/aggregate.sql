{#-
    The aggregate ladder. Every aggregate model (samples_5min, samples_15min, samples_1h,
    samples_1d) is one call of ace_aggregate(grain, parent): the grain is its bucket width,
    the parent the relation it is computed from, either the deduplicated raw samples
    (`samples`) or a finer aggregate model whose buckets nest in this grain's. The call also
    sets the model's config, including meta {ace_grain, ace_parent, ace_settings}, so that
    the rest of the project (series(), the settings-change guard, the tests) finds the grains
    through dbt's graph (ace_ladder()) instead of a list of its own. docs/warehouse.md,
    "The aggregate ladder".
-#}

{% macro ace_grain_spec(grain) -%}
    {#- {'grain', 'seconds', 'is_local_day', 'label'} of a grain such as '5 minutes',
        '1 hour' or '1 day'. Minutes and hours are UTC-aligned buckets; '1 day' is the
        local calendar day of the site's zone (seconds: the nominal 86400). -#}
    {%- set parts = grain.split() -%}
    {%- set count = parts[0] | int if parts | length == 2 else 0 -%}
    {%- set unit = parts[1].rstrip('s') if parts | length == 2 else '' -%}
    {%- set sizes = {'minute': 60, 'hour': 3600, 'day': 86400} -%}
    {%- set labels = {'minute': 'min', 'hour': 'h', 'day': 'd'} -%}
    {%- if count <= 0 or unit not in sizes or (unit == 'day' and count != 1) -%}
        {{ exceptions.raise_compiler_error(
            "ace_aggregate: grain " ~ grain ~ " is not '<n> minutes', '<n> hours' or '1 day'") }}
    {%- endif -%}
    {{- return({
        'grain': grain,
        'seconds': count * sizes[unit],
        'is_local_day': unit == 'day',
        'label': count ~ labels[unit],
    }) -}}
{%- endmacro %}


{% macro ace_ladder() -%}
    {#- The aggregate models of the project, finest first: a list of
        {'name', 'parent', 'grain', 'seconds', 'is_local_day', 'label'}, read from the
        models' meta.ace_grain in dbt's graph (empty while parsing). -#}
    {%- set ladder = [] -%}
    {%- for node in graph.get('nodes', {}).values() | selectattr('resource_type', 'equalto', 'model') -%}
        {%- set meta = node.config.meta or {} -%}
        {%- if meta.get('ace_grain') -%}
            {%- set spec = ace_grain_spec(meta['ace_grain']) -%}
            {%- do spec.update({'name': node.name, 'parent': meta.get('ace_parent')}) -%}
            {%- do ladder.append(spec) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(ladder | sort(attribute='seconds')) -}}
{%- endmacro %}


{% macro ace_aggregate(grain, parent) -%}
    {#- The whole SQL of one aggregate model: one row per (site, point, bucket_start) with
        at least one sample. Incremental: the buckets touched by the files landed since the
        model's position are computed again, from the raw samples (`samples`, or
        `timeseries` when late data reaches the cold tier) or rolled up exactly from the
        parent's buckets (ace_rollup_stats); a point whose expected interval changed gets
        n_expected and coverage re-derived for all its held buckets. -#}
    {%- set g = ace_grain_spec(grain) -%}
    {%- set from_raw = parent == 'samples' -%}
    {%- set upstreams = ['samples', 'int_point_intervals'] if from_raw else [parent] -%}
    {%- set settings = ['default_collect_interval', 'interval_source'] -%}
    {%- if g.is_local_day -%}
        {%- set settings = settings + ['site_timezones', 'default_timezone'] -%}
    {%- endif -%}
    {{ config(
        unique_key=['site', 'point', 'bucket_start'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(" ~ (upstreams | tojson) ~ ") }}",
        meta={'ace_grain': grain, 'ace_parent': parent, 'ace_settings': settings},
    ) }}
    {%- set key = 'day' if g.is_local_day else 'bucket_start' -%}
    {%- set width = 'interval ' ~ g.seconds ~ ' second' -%}
    {%- set zone = ace_site_timezone('raw_rows.site') -%}
    {%- set range = ace_pending_range(upstreams) %}
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref(parent) }}
{%- if from_raw %}, {{ ref('timeseries') }}{% endif %}

with

intervals as (

    select site, point, expected_interval as collect_interval
    from {{ ref('int_point_intervals') }}

),

{%- if is_incremental() %}

{%- if g.is_local_day %}

touched_days as (

    select distinct
        raw_rows.site,
        raw_rows.point,
        {{ ace_local_date('raw_rows.ts', zone) }} as day

    from {{ ace_landed_samples(range) }} as raw_rows

),

touched as (

    select
        site,
        point,
        day,
        {{ ace_local_midnight('day', ace_site_timezone('site')) }} as bucket_start,
        {{ ace_local_midnight('day + 1', ace_site_timezone('site')) }} as bucket_end

    from touched_days

),

{%- else %}

touched as (

    select distinct
        raw_rows.site,
        raw_rows.point,
        {{ ace_bucket_start('raw_rows.ts', g.seconds) }} as bucket_start

    from {{ ace_landed_samples(range) }} as raw_rows

),

{%- endif %}

interval_changed as (

    select site, point
    from {{ ref('int_point_intervals') }}
    where interval_changed_file_id > {{ range.lo }}
        and interval_changed_file_id <= {{ range.hi }}

),

{%- endif %}

{%- if from_raw %}

computed as (

    select
        s.site,
        s.point,
        {{ ace_bucket_start('s.ts', g.seconds) }} as bucket_start,
        {{ ace_sample_stats('s.value', 's.ts') }}

    from {{ ace_raw_relation(range) }} as s
    {%- if is_incremental() %}
    inner join touched
        on s.site = touched.site
        and s.point = touched.point
        and s.ts >= touched.bucket_start
        and s.ts < touched.bucket_start + {{ width }}
    {%- endif %}
    group by s.site, s.point, {{ ace_bucket_start('s.ts', g.seconds) }}

),

{%- else %}

parts as (

    select
        finer.site,
        finer.point,
        {%- if not g.is_local_day %}
        {{ ace_bucket_start('finer.bucket_start', g.seconds) }} as target_key,
        {%- elif is_incremental() %}
        touched.day as target_key,
        {%- else %}
        {{ ace_local_date('finer.bucket_start', ace_site_timezone('finer.site')) }} as target_key,
        {%- endif %}
        finer.bucket_start,
        finer.n,
        finer.n_total,
        finer.sum,
        finer.min,
        finer.max,
        finer.first_value,
        finer.last_value,
        finer.first_ts,
        finer.last_ts,
        finer.m2,
        finer.sum / nullif(finer.n, 0) as part_mean

    from {{ ref(parent) }} as finer
    {%- if is_incremental() %}
    inner join touched
        on finer.site = touched.site
        and finer.point = touched.point
        and finer.bucket_start >= touched.bucket_start
        {%- if g.is_local_day %}
        and finer.bucket_start < touched.bucket_end
        {%- else %}
        and finer.bucket_start < touched.bucket_start + {{ width }}
        {%- endif %}
    {%- endif %}

),

parts_with_mean as (

    select
        parts.*,
        fsum(parts.sum) over (partition by parts.site, parts.point, parts.target_key)
            / nullif(sum(parts.n) over (partition by parts.site, parts.point, parts.target_key), 0)
            as bucket_mean

    from parts

),

computed as (

    select
        parts_with_mean.site,
        parts_with_mean.point,
        parts_with_mean.target_key as {{ key }},
        {{ ace_rollup_stats('parts_with_mean') }}

    from parts_with_mean
    group by parts_with_mean.site, parts_with_mean.point, parts_with_mean.target_key

),

{%- endif %}

stats as (

    {{ ace_stats_with_rederived('computed', key, 'interval_changed', 'touched') }}

),

{%- if g.is_local_day %}

bounded as (

    select
        stats.*,
        {{ ace_local_midnight('stats.day', ace_site_timezone('stats.site')) }} as bucket_start,
        {{ ace_local_midnight('stats.day + 1', ace_site_timezone('stats.site')) }} as bucket_end

    from stats

),

final as (

    select
        bounded.site,
        bounded.point,
        bounded.bucket_start,
        bounded.day,
        {{ ace_finish_stats('bounded', ace_epoch_seconds('bounded.bucket_end - bounded.bucket_start'), 'coalesce(intervals.collect_interval, ' ~ ace_default_interval() ~ ')') }}

    from bounded
    left join intervals
        on bounded.site = intervals.site and bounded.point = intervals.point

)

select * from final
{%- if not is_incremental() %}
order by day, site, point
{%- endif %}

{%- else %}

final as (

    select
        stats.site,
        stats.point,
        stats.bucket_start,
        {{ ace_finish_stats('stats', g.seconds, 'coalesce(intervals.collect_interval, ' ~ ace_default_interval() ~ ')') }}

    from stats
    left join intervals
        on stats.site = intervals.site and stats.point = intervals.point

)

select * from final
{%- if not is_incremental() %}
order by cast(bucket_start as date), site, point, bucket_start
{%- endif %}

{%- endif %}
{%- endmacro %}
