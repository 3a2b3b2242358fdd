-- The gaps the extractor is asking the API for again (stg_ace__gap_repairs, from the
-- state files of extract/landing/repair.py), one row per (site, point, gap_start), to read
-- next to point_gaps. A table rebuilt by every run from the small state files: the main
-- job repairs first and builds after, so it shows the state of this run's repair.
{{ config(materialized='table') }}

select
    site,
    point,
    gap_start,
    gap_end,
    status,
    attempts,
    first_seen,
    last_attempt,
    next_attempt,
    final_at

from {{ ref('stg_ace__gap_repairs') }}
