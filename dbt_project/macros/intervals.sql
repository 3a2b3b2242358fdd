{#-
    Observed intervals (docs/warehouse.md, "Observed intervals"): the interval a point
    actually reports at, and the one n_expected, coverage and the gap rule use.
-#}

{% macro ace_interval_levels() -%}
    {#- The intervals (seconds) an observed spacing is rounded to. -#}
    {{- return([30, 60, 120, 300, 600, 900, 1800, 3600]) -}}
{%- endmacro %}


{% macro ace_interval_source() -%}
    {#- var interval_source, checked: configured, observed or auto (the default). -#}
    {%- set source = var('interval_source', 'auto') -%}
    {%- if source not in ('configured', 'observed', 'auto') -%}
        {{ exceptions.raise_compiler_error(
            "var interval_source is " ~ source ~ ": it must be configured, observed or auto") }}
    {%- endif -%}
    {{- return(source) -}}
{%- endmacro %}


{% macro ace_interval_mismatch(observed, configured) -%}
    {#- Whether the observed interval is at least twice the configured one, or at most half. -#}
    coalesce(
        {{ observed }} >= 2 * {{ configured }} or {{ observed }} * 2 <= {{ configured }},
        false
    )
{%- endmacro %}


{% macro ace_expected_interval(observed, configured, is_mismatch) -%}
    {#- The interval n_expected, coverage and the gap rule use, by var interval_source. -#}
    {%- set source = ace_interval_source() -%}
    {%- if source == 'configured' -%}
        cast({{ configured }} as double)
    {%- elif source == 'observed' -%}
        cast(coalesce({{ observed }}, {{ configured }}) as double)
    {%- else -%}
        cast(case when {{ is_mismatch }} then {{ observed }} else {{ configured }} end as double)
    {%- endif -%}
{%- endmacro %}
