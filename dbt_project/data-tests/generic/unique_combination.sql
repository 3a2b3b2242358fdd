{#-
    Grain test: no two rows share the values of `combination_of_columns`.
    recent_column: when set and var test_window_days is not null, only rows whose
    recent_column is within test_window_days before as_of are checked (for the large
    tables a scheduled build re-tests the recent past, not the whole history).
    window_days: a narrower window than test_window_days for this test (e.g. the landing
    views, whose recent rows are re-tested by every run).
-#}
{% test unique_combination(model, combination_of_columns, recent_column=none, window_days=none) %}

{%- set columns = combination_of_columns | join(', ') %}
{%- set window_days = var('test_window_days', none) if window_days is none or var('test_window_days', none) is none else [window_days, var('test_window_days')] | min %}

select {{ columns }}, count(*) as n_rows
from {{ model }}
{%- if recent_column is not none and window_days is not none %}
where {{ recent_column }} >= {{ ace_as_of() }} - {{ ace_seconds(window_days * 86400) }}
{%- endif %}
group by {{ columns }}
having count(*) > 1

{% endtest %}
