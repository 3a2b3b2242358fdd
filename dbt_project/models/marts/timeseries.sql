-- Every raw sample of both tiers, one row per (site, point, ts), the same columns as
-- `samples` (docs/warehouse.md, "Hot and cold tiers"). Hot rows are `samples`; cold rows are
-- the active cold Parquet files (view cold_samples). Every cold row has ts < cold_until, so
-- hot rows at or after it are passed through untouched; a hot row before it (late data for
-- a month already cold, not yet moved) is resolved against the cold row of its key with
-- the winner rule of `samples` (the cold row, held earlier, wins a tie).
-- The boundary is the macro cold_until(), a constant that extract/warehouse/tiers.py replaces in the
-- same transaction as cold_samples and the moved rows, so that `ts >= cold_until()` folds
-- to a literal and prunes the scan of `samples` (a subquery on cold_state would not).
-- Relations are named without the catalog, so the view also works in a published
-- snapshot (another file name). cold_files, cold_state, cold_samples and cold_until() are
-- made by on-run-start (macros/tiers.sql).
{{ config(materialized='view') }}

{%- set winner_order = ace_winner_order() %}

with

hot_recent as not materialized (

    select
        site,
        point,
        ts,
        value,
        value_raw,
        source,
        extracted_at,
        run_id
    from {{ ref('samples').include(database=False) }}
    where ts >= {{ target.schema }}.cold_until()

),

hot_late as not materialized (

    select
        site,
        point,
        ts,
        value,
        value_raw,
        source,
        extracted_at,
        run_id
    from {{ ref('samples').include(database=False) }}
    where ts < {{ target.schema }}.cold_until()

),

cold as not materialized (

    select
        site,
        point,
        ts,
        value,
        value_raw,
        source,
        extracted_at,
        run_id
    from {{ target.schema }}.cold_samples

),

contested as not materialized (

    -- the keys held in both tiers: the better of the two rows
    select * exclude (tier)
    from (
        select
            *,
            1 as tier
        from hot_late
        union all
        select
            cold.*,
            0 as tier
        from cold semi join hot_late
            on cold.site = hot_late.site and cold.point = hot_late.point and cold.ts = hot_late.ts
    ) as both_tiers
    qualify
        row_number() over (partition by site, point, ts order by {{ winner_order }}, tier asc) = 1

),

cold_only as not materialized (

    select cold.*
    from cold anti join hot_late
        on cold.site = hot_late.site and cold.point = hot_late.point and cold.ts = hot_late.ts

),

final as not materialized (

    select * from hot_recent
    union all
    select * from contested
    union all
    select * from cold_only

)

select * from final
