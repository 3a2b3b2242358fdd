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


{% macro ace_stats_with_rederived(computed, bucket_column, changed_points, touched) -%}
    {#- A select of an aggregate model's statistics: the rows of `computed` (the buckets it
        recomputed), and in an incremental run also the held buckets of the points listed in
        `changed_points` (their expected interval changed, int_point_intervals) that `touched` (the buckets
        recomputed) does not hold: same samples, so their statistics are kept and only
        n_expected and coverage are derived again downstream. The three arguments name
        relations (CTEs) with (site, point) and, for computed and touched, bucket_column:
        the bucket key besides (site, point). -#}
    select * from {{ computed }}
    {%- if is_incremental() %}

    union all by name

    select
        held.site, held.point, held.{{ bucket_column }},
        held.n, held.n_total, held.sum, held.min, held.max,
        held.first_value, held.last_value, held.first_ts, held.last_ts, held.m2

    from {{ this }} as held
    semi join {{ changed_points }}
        on held.site = {{ changed_points }}.site and held.point = {{ changed_points }}.point
    anti join {{ touched }}
        on held.site = {{ touched }}.site
        and held.point = {{ touched }}.point
        and held.{{ bucket_column }} = {{ touched }}.{{ bucket_column }}
    {%- endif %}
{%- endmacro %}
