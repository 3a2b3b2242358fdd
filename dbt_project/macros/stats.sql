{#-
    Bucket statistics kept exactly re-aggregable. Every aggregate row stores n, n_total,
    sum, min, max, first/last value and time, and m2 = the sum of squared deviations from
    the bucket's mean (n * population variance). Coarser buckets combine finer ones with
    Chan et al.'s parallel formula:
        m2 = sum(m2_i) + sum(n_i * (mean_i - mean)^2),  mean = sum(sum_i) / sum(n_i)
    which is exact (no average of averages) and numerically stable. Sums use Kahan
    summation (fsum).
-#}

{% macro ace_sample_stats(value, ts) -%}
    {#- Aggregates over raw samples (one row per sample) for one bucket. -#}
    count({{ value }}) as n,
    count(*) as n_total,
    fsum({{ value }}) as sum,
    min({{ value }}) as min,
    max({{ value }}) as max,
    arg_min({{ value }}, {{ ts }}) filter (where {{ value }} is not null) as first_value,
    arg_max({{ value }}, {{ ts }}) filter (where {{ value }} is not null) as last_value,
    min({{ ts }}) as first_ts,
    max({{ ts }}) as last_ts,
    var_pop({{ value }}) * count({{ value }}) as m2
{%- endmacro %}


{% macro ace_rollup_stats(parts) -%}
    {#- Aggregates over finer bucket rows of `parts`, which must carry part_mean (sum / n,
        null when n = 0) and bucket_mean (the mean of the whole target bucket). -#}
    cast(sum({{ parts }}.n) as bigint) as n,
    cast(sum({{ parts }}.n_total) as bigint) as n_total,
    fsum({{ parts }}.sum) as sum,
    min({{ parts }}.min) as min,
    max({{ parts }}.max) as max,
    arg_min({{ parts }}.first_value, {{ parts }}.bucket_start) filter (where {{ parts }}.n > 0) as first_value,
    arg_max({{ parts }}.last_value, {{ parts }}.bucket_start) filter (where {{ parts }}.n > 0) as last_value,
    min({{ parts }}.first_ts) as first_ts,
    max({{ parts }}.last_ts) as last_ts,
    fsum({{ parts }}.m2) filter (where {{ parts }}.n > 0)
        + fsum({{ parts }}.n * ({{ parts }}.part_mean - {{ parts }}.bucket_mean) * ({{ parts }}.part_mean - {{ parts }}.bucket_mean))
            filter (where {{ parts }}.n > 0) as m2
{%- endmacro %}


{% macro ace_finish_stats(stats, bucket_seconds, interval_seconds) -%}
    {#- The contract columns of an aggregate row from its stored statistics. -#}
    {{ stats }}.n,
    {{ stats }}.n_total,
    {{ stats }}.sum,
    {{ stats }}.sum / nullif({{ stats }}.n, 0) as avg,
    {{ stats }}.min,
    {{ stats }}.max,
    {{ stats }}.first_value,
    {{ stats }}.last_value,
    {{ stats }}.first_ts,
    {{ stats }}.last_ts,
    case
        when {{ stats }}.n >= 2 then sqrt(greatest({{ stats }}.m2, 0) / ({{ stats }}.n - 1))
    end as stddev,
    cast({{ bucket_seconds }} as double) / {{ interval_seconds }} as n_expected,
    {{ stats }}.n / (cast({{ bucket_seconds }} as double) / {{ interval_seconds }}) as coverage,
    {{ stats }}.m2
{%- endmacro %}
