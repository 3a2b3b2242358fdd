{#- Time zones, buckets and the run's time. -#}

{% macro ace_run_started_at() -%}
    {#- When this dbt invocation started, as a timestamptz literal. -#}
    cast({{ ace_sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f+00:00')) }} as {{ ace_type('timestamp with time zone') }})
{%- endmacro %}


{% macro ace_as_of() -%}
    {#- "The run's time" for open gaps and recent-window tests: var as_of, else the
        environment's DBT_ACE_AS_OF, else the start of the dbt invocation. The environment
        is read only when executing (not while dbt parses), so a new value each run keeps
        partial parsing, where a changed --vars makes dbt parse the whole project again. -#}
    {%- set as_of = var('as_of', none) -%}
    {%- if (as_of is none or as_of == '') and execute -%}
        {%- set as_of = env_var('DBT_ACE_AS_OF', '') -%}
    {%- endif -%}
    {%- if as_of is none or as_of == '' -%}
        {{ ace_run_started_at() }}
    {%- else -%}
        cast({{ ace_sql_string(as_of) }} as {{ ace_type('timestamp with time zone') }})
    {%- endif -%}
{%- endmacro %}


{% macro ace_site_timezone(site_column) -%}
    {#- The IANA zone of a site: var site_timezones, else var default_timezone. -#}
    {%- set zones = var('site_timezones', {}) or {} -%}
    {%- set default = var('default_timezone', 'UTC') or 'UTC' -%}
    {%- if zones | length == 0 -%}
        {{ ace_sql_string(default) }}
    {%- else -%}
        case {{ site_column }}
            {%- for site, zone in zones.items() | sort %}
            when {{ ace_sql_string(site) }} then {{ ace_sql_string(zone) }}
            {%- endfor %}
            else {{ ace_sql_string(default) }}
        end
    {%- endif -%}
{%- endmacro %}


{% macro ace_seconds(seconds) -%}
    {{- return(adapter.dispatch('ace_seconds', 'ace_warehouse')(seconds)) -}}
{%- endmacro %}

{% macro duckdb__ace_seconds(seconds) -%}
    to_seconds(cast({{ seconds }} as double))
{%- endmacro %}

{% macro default__ace_seconds(seconds) -%}
    ({{ seconds }}) * interval '1 second'
{%- endmacro %}


{% macro ace_epoch_seconds(interval_expression) -%}
    {{- return(adapter.dispatch('ace_epoch_seconds', 'ace_warehouse')(interval_expression)) -}}
{%- endmacro %}

{% macro duckdb__ace_epoch_seconds(interval_expression) -%}
    epoch({{ interval_expression }})
{%- endmacro %}

{% macro default__ace_epoch_seconds(interval_expression) -%}
    extract(epoch from {{ interval_expression }})
{%- endmacro %}


{% macro ace_epoch_microseconds(ts) -%}
    {#- Microseconds since 1970-01-01 UTC of a timestamp, as a bigint. -#}
    {{- return(adapter.dispatch('ace_epoch_microseconds', 'ace_warehouse')(ts)) -}}
{%- endmacro %}

{% macro duckdb__ace_epoch_microseconds(ts) -%}
    epoch_us({{ ts }})
{%- endmacro %}

{% macro default__ace_epoch_microseconds(ts) -%}
    cast(extract(epoch from {{ ts }}) * 1000000 as bigint)
{%- endmacro %}


{% macro ace_from_epoch_microseconds(us) -%}
    {#- The timestamp with time zone of a count of microseconds since 1970-01-01 UTC. -#}
    {{- return(adapter.dispatch('ace_from_epoch_microseconds', 'ace_warehouse')(us)) -}}
{%- endmacro %}

{% macro duckdb__ace_from_epoch_microseconds(us) -%}
    make_timestamptz(cast({{ us }} as bigint))
{%- endmacro %}

{% macro spark__ace_from_epoch_microseconds(us) -%}
    timestamp_micros(cast({{ us }} as bigint))
{%- endmacro %}

{% macro default__ace_from_epoch_microseconds(us) -%}
    {{ exceptions.raise_compiler_error("ace_from_epoch_microseconds is implemented for DuckDB and Spark") }}
{%- endmacro %}


{% macro ace_bucket_start(ts, seconds) -%}
    {#- Start of the UTC-aligned bucket of `seconds` (5 min, 1 h) holding ts. -#}
    {{- return(adapter.dispatch('ace_bucket_start', 'ace_warehouse')(ts, seconds)) -}}
{%- endmacro %}

{% macro duckdb__ace_bucket_start(ts, seconds) -%}
    time_bucket(to_seconds({{ seconds }}), {{ ts }}, 'UTC')
{%- endmacro %}

{% macro spark__ace_bucket_start(ts, seconds) -%}
    {#- whole microseconds since the epoch, floored to the bucket -#}
    timestamp_micros(unix_micros({{ ts }}) - pmod(unix_micros({{ ts }}), cast(({{ seconds }}) * 1000000 as bigint)))
{%- endmacro %}

{% macro default__ace_bucket_start(ts, seconds) -%}
    {{ exceptions.raise_compiler_error("ace_bucket_start is implemented for DuckDB and Spark") }}
{%- endmacro %}


{% macro ace_local_date(ts, zone) -%}
    {#- The calendar date of ts in the IANA zone `zone` (a SQL expression). -#}
    {{- return(adapter.dispatch('ace_local_date', 'ace_warehouse')(ts, zone)) -}}
{%- endmacro %}

{% macro duckdb__ace_local_date(ts, zone) -%}
    cast(timezone({{ zone }}, {{ ts }}) as date)
{%- endmacro %}

{% macro spark__ace_local_date(ts, zone) -%}
    to_date(from_utc_timestamp({{ ts }}, {{ zone }}))
{%- endmacro %}

{% macro default__ace_local_date(ts, zone) -%}
    {{ exceptions.raise_compiler_error("ace_local_date is implemented for DuckDB and Spark") }}
{%- endmacro %}


{% macro ace_local_midnight(day, zone) -%}
    {#- The instant a local calendar day starts in zone (23 h and 25 h days come out right;
        a midnight skipped by DST resolves to the transition). -#}
    {{- return(adapter.dispatch('ace_local_midnight', 'ace_warehouse')(day, zone)) -}}
{%- endmacro %}

{% macro duckdb__ace_local_midnight(day, zone) -%}
    timezone({{ zone }}, cast({{ day }} as timestamp))
{%- endmacro %}

{% macro spark__ace_local_midnight(day, zone) -%}
    to_utc_timestamp(cast({{ day }} as timestamp), {{ zone }})
{%- endmacro %}

{% macro default__ace_local_midnight(day, zone) -%}
    {{ exceptions.raise_compiler_error("ace_local_midnight is implemented for DuckDB and Spark") }}
{%- endmacro %}


{% macro ace_gap_threshold(interval_seconds) -%}
    {#- The spacing (seconds) a gap must strictly exceed for a point of this interval. -#}
    greatest(
        cast({{ var('gap_threshold_seconds', 300) }} as double),
        {{ var('gap_k', 3) }} * cast({{ interval_seconds }} as double)
    )
{%- endmacro %}


{% macro ace_default_interval() -%}
    cast({{ var('default_collect_interval', 60) }} as double)
{%- endmacro %}
