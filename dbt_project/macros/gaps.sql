{#-
    point_gaps' incremental read (docs/warehouse.md, "point_gaps"): the samples of the
    regions int_gap_regions prepared for the run's range.
-#}

{% macro ace_gap_region_samples(regions, samples) -%}
    {#- A select of (site, point, ts): the samples the gaps of `regions` (a CTE of
        int_gap_regions rows) are computed from. Those of `samples` (a relation) inside each
        region's span, the sample just before and just after the span (before_ts, after_ts),
        and every sample of a point recomputed over its whole history (is_whole: usually
        none, an empty build side, so that semi join ends without scanning the samples). -#}
    select s.site, s.point, s.ts
    from {{ samples }} as s
    inner join {{ regions }} as b
        on s.site = b.site and s.point = b.point
        and s.ts >= b.min_ts and s.ts <= b.max_ts

    union all
    select site, point, before_ts from {{ regions }} where before_ts is not null

    union all
    select site, point, after_ts from {{ regions }} where after_ts is not null

    union all
    select s.site, s.point, s.ts
    from {{ samples }} as s
    semi join (select site, point from {{ regions }} where is_whole) as whole_points
        on s.site = whole_points.site and s.point = whole_points.point
{%- endmacro %}
