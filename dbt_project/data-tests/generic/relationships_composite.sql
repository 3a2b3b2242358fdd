{#-
    Every distinct combination of `columns` in the model exists in `to` (matched on
    `to_columns`, default the same names): dbt's relationships test for a composite key.
    recent_column: as in unique_combination.
-#}
{% test relationships_composite(model, columns, to, to_columns=none, recent_column=none) %}

{%- set parent_columns = to_columns if to_columns is not none else columns %}
{%- set window_days = var('test_window_days', none) %}

with

child as (

    select distinct {{ columns | join(', ') }}
    from {{ model }}
    where {{ columns | join(' is not null and ') }} is not null
    {%- if recent_column is not none and window_days is not none %}
        and {{ recent_column }} >= {{ ace_as_of() }} - {{ ace_seconds(window_days * 86400) }}
    {%- endif %}

)

select child.*
from child
where not exists (
    select 1
    from {{ to }} as parent
    where
        {%- for column in columns %}
        parent.{{ parent_columns[loop.index0] }} = child.{{ column }}
        {%- if not loop.last %} and{% endif %}
        {%- endfor %}
)

{% endtest %}
