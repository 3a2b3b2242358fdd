-- Raw landed samples, one row per landed row (duplicates across files kept): renamed,
-- typed, and tagged with the file they came from. Winners are picked in `samples`.
-- The column list is the macro ace_raw_samples_columns, which the incremental models also
-- apply to just the files they process (see ace_landed_samples).
with

source as (

    select * from {{ ace_lake_relation('ace', 'raw_samples') }}

),

renamed as (

    select
        {{ ace_raw_samples_columns() }},
        cast(file_row_number as bigint) as source_row

    from source

)

select * from renamed
