{#- series()'s fill 'linear': the avg expression of the macro body that
    ace_series_macro_sql() (analyst.sql) assembles (docs/analysts.md, "series()"). -#}

{% macro ace_series_linear_avg(s, site, point, fill_mode) -%}
    {#- fill 'linear': the avg of an empty bucket (avg null) between two buckets with an avg,
        interpolated by time at its bucket_start, unless a gap of point_gaps overlaps the
        empty run between them (from the end of the bucket before to the start of the bucket
        after) or that run is longer than the point's gap threshold; raw rows are samples,
        never interpolated. Reads the CTE `neighbours` and the zone's interval. -#}
    case
        when {{ fill_mode }} = 'previous' then nb.prev_avg
        when {{ fill_mode }} = 'linear' and nb.avg is null and nb.resolution <> 'raw'
            and nb.prev_start is not null and nb.next_at is not null
            and epoch(nb.next_at - nb.prev_end) <= (select {{ ace_gap_threshold('z.collect_interval') }} from zone z)
            and not exists (
                select 1 from {{ s }}.point_gaps pg
                where {{ fill_mode }} = 'linear' and pg.site = {{ site }} and pg.point = {{ point }}
                  and pg.gap_start < nb.next_at
                  and coalesce(pg.gap_end, cast('infinity' as timestamp with time zone)) > nb.prev_end
            )
        then nb.prev_avg + (nb.next_avg - nb.prev_avg)
            * (epoch(nb.bucket_start) - epoch(nb.prev_start)) / (epoch(nb.next_at) - epoch(nb.prev_start))
        else nb.avg
    end
{%- endmacro %}
