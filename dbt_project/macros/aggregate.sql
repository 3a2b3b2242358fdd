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
    {%- if unit != 'day' and 86400 % (count * sizes[unit]) != 0 -%}
        {{ exceptions.raise_compiler_error(
            "ace_aggregate: grain " ~ grain ~ " does not divide a day into whole buckets") }}
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
        at least one sample. Incremental: the buckets within one gap threshold of the samples
        landed since the model's position are computed again (the holdings of a landed
        sample reach that far: macros/holdings.sql), from the raw samples (`samples`, or
        `timeseries` when late data reaches the cold tier) or rolled up exactly from the
        parent's buckets (ace_rollup_stats); the time-weighted columns are summed from
        int_point_holdings. A point whose expected interval changed is computed again in
        full. -#}
    {%- set g = ace_grain_spec(grain) -%}
    {%- set from_raw = parent == 'samples' -%}
    {%- if from_raw and g.is_local_day -%}
        {{ exceptions.raise_compiler_error("ace_aggregate: local days roll up from a finer grain, not from samples") }}
    {%- endif -%}
    {%- set upstreams = (['samples', 'int_point_intervals'] if from_raw else [parent]) + ['int_point_holdings'] -%}
    {%- set settings = ['default_collect_interval', 'interval_source', 'gap_threshold_seconds', 'gap_k'] -%}
    {%- if g.is_local_day -%}
        {%- set settings = settings + ['site_timezones', 'default_timezone'] -%}
    {%- endif -%}
    {{ config(
        unique_key=['site', 'point', 'bucket_start'],
        incremental_strategy='delete+insert',
        post_hook="{{ ace_record_progress(" ~ (upstreams | tojson) ~ ") }}",
        meta={'ace_grain': grain, 'ace_parent': parent, 'ace_settings': settings, 'ace_columns_version': 2},
    ) }}
    {%- set key = 'day' if g.is_local_day else 'bucket_start' -%}
    {%- set width = 'interval ' ~ g.seconds ~ ' second' -%}
    {%- set range = ace_pending_range(upstreams) -%}
    {%- set has_changed = range.get('has_changed', true) -%}
    {%- set source = ace_raw_relation(range) if from_raw else ref(parent) %}
-- (refs used only by the incremental branch, declared for the DAG)
-- depends_on: {{ ref('stg_ace__samples') }}, {{ ref('int_landed_files') }}, {{ ref(parent) }}, {{ ref('int_point_intervals') }}
{%- if from_raw %}, {{ ref('timeseries') }}{% endif %}

with

{%- if is_incremental() %}

params as (

    {{ ace_hold_params() }}

),

changed as (

    {{ ace_changed_points(range) }}

),

spans as (

    {{ ace_landed_spans(ace_landed_samples(range), 'params') }}

),

touched as (

    {%- if g.is_local_day %}
    select
        days.site,
        days.point,
        days.day,
        {{ ace_local_midnight('days.day', ace_site_timezone('days.site')) }} as bucket_start,
        {{ ace_local_midnight('days.day + 1', ace_site_timezone('days.site')) }} as bucket_end
    from ({{ ace_touched_days('spans', ace_site_timezone('spans.site')) }}) as days
    {%- else %}
    select
        buckets.site,
        buckets.point,
        buckets.bucket_start,
        buckets.bucket_start + {{ width }} as bucket_end
    from ({{ ace_touched_buckets('spans', g.seconds) }}) as buckets
    {%- endif %}
    anti join changed
        on {{ 'days' if g.is_local_day else 'buckets' }}.site = changed.site
        and {{ 'days' if g.is_local_day else 'buckets' }}.point = changed.point

),

{%- endif %}

{{ ace_bucket_inputs('rows_in', source, 'source_rows', 'ts' if from_raw else 'bucket_start', g, has_changed) }},

{{ ace_bucket_inputs('holdings_in', ref('int_point_holdings'), 'holdings', 'bucket_start', g, has_changed) }},

{%- if from_raw %}

computed as (

    select
        rows_in.site,
        rows_in.point,
        rows_in.target_key as {{ key }},
        {{ ace_sample_stats('rows_in.value', 'rows_in.ts') }}

    from rows_in
    group by rows_in.site, rows_in.point, rows_in.target_key

),

{%- else %}

parts_with_mean as (

    select
        rows_in.*,
        rows_in.sum / nullif(rows_in.n, 0) as part_mean,
        fsum(rows_in.sum) over (partition by rows_in.site, rows_in.point, rows_in.target_key)
            / nullif(sum(rows_in.n) over (partition by rows_in.site, rows_in.point, rows_in.target_key), 0)
            as bucket_mean

    from rows_in

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

held as (

    select
        holdings_in.site,
        holdings_in.point,
        holdings_in.target_key,
        {{ ace_holding_sums('holdings_in') }}

    from holdings_in
    group by holdings_in.site, holdings_in.point, holdings_in.target_key

),

stats as (

    select
        computed.*,
        held.tw_sum,
        held.known_seconds,
        held.on_seconds,
        held.n_non_binary,
        held.starts,
        {%- if g.is_local_day %}
        {{ ace_local_midnight('computed.day', ace_site_timezone('computed.site')) }} as bucket_start,
        {{ ace_local_midnight('computed.day + 1', ace_site_timezone('computed.site')) }} as bucket_end,
        {%- endif %}
        coalesce(intervals.expected_interval, {{ ace_default_interval() }}) as collect_interval

    from computed
    left join held
        on computed.site = held.site
        and computed.point = held.point
        and computed.{{ key }} = held.target_key
    left join {{ ref('int_point_intervals') }} as intervals
        on computed.site = intervals.site and computed.point = intervals.point

),

final as (

    select
        stats.site,
        stats.point,
        stats.bucket_start,
        {%- if g.is_local_day %}
        stats.day,
        {%- endif %}
        {{ ace_finish_stats('stats', ace_epoch_seconds('stats.bucket_end - stats.bucket_start') if g.is_local_day else g.seconds, 'stats.collect_interval') }},
        {{ ace_finish_holdings('stats') }}

    from stats

)

select * from final
{%- if not is_incremental() %}
{%- if g.is_local_day %}
order by day, site, point
{%- else %}
order by cast(bucket_start as date), site, point, bucket_start
{%- endif %}
{%- endif %}
{%- endmacro %}


{% macro ace_bucket_inputs(name, relation, alias, time_column, g, has_changed) -%}
    {#- A CTE `name`: the rows of `relation` (raw samples, a finer aggregate, or
        int_point_holdings) that this run's buckets are computed from, each with target_key,
        the bucket (or local day) of grain g it falls in. A rebuild reads every row; an
        incremental run the rows inside the touched buckets and every row of a changed point
        (when has_changed). -#}
    {%- set zone = ace_site_timezone(alias ~ '.site') -%}
    {%- set own_key = ace_local_date(alias ~ '.' ~ time_column, zone) if g.is_local_day
        else ace_bucket_start(alias ~ '.' ~ time_column, g.seconds) -%}
{{ name }} as (

    {%- if is_incremental() %}

    select
        {{ alias }}.*,
        touched.{{ 'day' if g.is_local_day else 'bucket_start' }} as target_key

    from {{ relation }} as {{ alias }}
    inner join touched
        on {{ alias }}.site = touched.site
        and {{ alias }}.point = touched.point
        and {{ alias }}.{{ time_column }} >= touched.bucket_start
        and {{ alias }}.{{ time_column }} < touched.bucket_end
    {%- if has_changed %}

    union all

    select
        {{ alias }}.*,
        {{ own_key }} as target_key

    from {{ relation }} as {{ alias }}
    semi join changed on {{ alias }}.site = changed.site and {{ alias }}.point = changed.point
    {%- endif %}

    {%- else %}

    select
        {{ alias }}.*,
        {{ own_key }} as target_key

    from {{ relation }} as {{ alias }}

    {%- endif %}

)
{%- endmacro %}
