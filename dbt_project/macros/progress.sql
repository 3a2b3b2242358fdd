{#-
    Incremental progress. Every landed file gets an increasing file_id in int_landed_files
    when a run first sees it. Each incremental model records in model_progress the highest
    file_id whose content it has incorporated; a run processes the files in
    (its own file_id, the least file_id its upstream models have reached], and records the
    new position in the same transaction as its data (a post-hook: dbt-duckdb commits the
    model's statements and its post-hooks together). A run killed inside a model therefore
    leaves that model exactly where it was, and the next run resumes it.
-#}

{% macro ace_progress_relation() -%}
    {{- return(ace_relation('model_progress')) -}}
{%- endmacro %}


{% macro ace_create_state_tables() -%}
    {{- return(adapter.dispatch('ace_create_state_tables', 'ace_warehouse')()) -}}
{%- endmacro %}

{% macro default__ace_create_state_tables() -%}
    create schema if not exists {{ target.schema }};
    create table if not exists {{ ace_progress_relation() }} (
        model varchar not null,
        file_id bigint not null,
        settings varchar,
        updated_at timestamp with time zone not null
    )
{%- endmacro %}

{% macro spark__ace_create_state_tables() -%}
    {#- Spark: plain Parquet, so model_progress is append-only (a position is a new row; the
        latest row of a model is its position, see ace_progress_state); Spark runs one
        statement at a time -#}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ target.schema) -%}
    {%- endif %}
    create table if not exists {{ ace_progress_relation() }} (
        model string,
        file_id bigint,
        settings string,
        updated_at timestamp
    ) using parquet
{%- endmacro %}


{% macro ace_settings(model_name) -%}
    {#- The variables a model's stored rows depend on (as_of excluded: open gaps are
        recomputed every run), as the model declares them in its config's
        meta.ace_settings (the aggregate ladder's models through ace_aggregate), and the
        model's meta.ace_columns_version if it declares one. If they change, the rows
        already held are stale, so the next incremental run stops and asks for a
        --full-refresh of the model. -#}
    {%- set node = graph.get('nodes', {}).get('model.' ~ project_name ~ '.' ~ model_name) -%}
    {%- set keys = ((node.config.meta or {}).get('ace_settings') if node else none) or [] -%}
    {%- set values = {} -%}
    {%- for key in keys -%}
        {%- do values.update({key: var(key, none)}) -%}
    {%- endfor -%}
    {#- meta.ace_columns_version: raised when a model gains a column, so that a warehouse
        built before stops with the same message instead of dbt's on_schema_change failure -#}
    {%- set columns_version = (node.config.meta or {}).get('ace_columns_version') if node else none -%}
    {%- if columns_version is not none -%}
        {%- do values.update({'columns_version': columns_version}) -%}
    {%- endif -%}
    {{- return(tojson(values, sort_keys=true)) -}}
{%- endmacro %}


{% macro ace_progress_state() -%}
    {#- {model: {'file_id': n, 'settings': text}} for every model with a recorded position,
        plus int_landed_files: the highest file_id known. Asked of the database (two
        queries), not of dbt's relation cache: model_progress is made by a hook. -#}
    {%- set state = {} -%}
    {%- if not execute -%}
        {{- return(state) -}}
    {%- endif -%}
    {%- set existing = ace_existing_tables(['int_landed_files', 'model_progress']) -%}
    {%- set parts = [] -%}
    {%- if 'int_landed_files' in existing -%}
        {%- do parts.append("select 'int_landed_files' as model, coalesce(max(file_id), 0) as file_id, cast(null as "
            ~ ace_type('varchar') ~ ") as settings from " ~ ace_relation('int_landed_files')) -%}
    {%- endif -%}
    {%- if 'model_progress' in existing -%}
        {#- a model's latest row (DuckDB keeps one per model, Spark appends) -#}
        {%- do parts.append("select model, file_id, settings from (select model, file_id, settings,"
            ~ " row_number() over (partition by model order by updated_at desc, file_id desc) as position_rank"
            ~ " from " ~ ace_progress_relation() ~ ") as positions where position_rank = 1") -%}
    {%- endif -%}
    {%- if parts | length > 0 -%}
        {%- for row in run_query(parts | join(' union all ')).rows -%}
            {%- do state.update({row[0]: {'file_id': row[1] | int, 'settings': row[2]}}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(state) -}}
{%- endmacro %}


{% macro ace_pending_range(upstreams, for_model=none) -%}
    {#- {'lo': ..., 'hi': ...}: this run incorporates the files with lo < file_id <= hi
        (a full refresh: file_id <= hi). hi is the least position of the upstream models,
        never below lo; 'incremental' says whether the run is incremental. for_model: a model
        that prepares the input of another one (int_gap_regions for point_gaps) takes that
        model's range: its position, and whether it will run incrementally (it exists and
        this is no --full-refresh). -#}
    {%- if not execute -%}
        {{- return({'lo': 0, 'hi': 0}) -}}
    {%- endif -%}
    {%- set state = ace_progress_state() -%}
    {%- set owner = for_model or this.identifier -%}
    {%- if for_model is none -%}
        {%- set incremental = is_incremental() -%}
    {%- else -%}
        {%- set incremental = not flags.FULL_REFRESH
            and adapter.get_relation(database=target.database, schema=target.schema, identifier=for_model) is not none -%}
    {%- endif -%}
    {%- set lo = 0 -%}
    {#- only a run that writes checks its state (compile and docs generate just render) -#}
    {%- set writing = flags.WHICH in ('run', 'build') -%}
    {%- if incremental -%}
        {%- set held = state.get(owner, {'file_id': 0, 'settings': none} if not writing else none) -%}
        {%- if held is none -%}
            {{ exceptions.raise_compiler_error(
                owner ~ " exists but model_progress has no position for it, so the files it"
                ~ " already holds are unknown: rebuild it with --full-refresh --select " ~ owner) }}
        {%- endif -%}
        {%- set lo = held.file_id -%}
        {%- if writing and held.settings is not none and held.settings != ace_settings(owner) -%}
            {{ exceptions.raise_compiler_error(
                owner ~ " was built with " ~ held.settings ~ " but this run has "
                ~ ace_settings(owner) ~ ": its rows are stale; rebuild it and what"
                ~ " depends on it: dbt build --full-refresh --select " ~ owner ~ "+") }}
        {%- endif -%}
    {%- endif -%}
    {%- set positions = [] -%}
    {%- for upstream in upstreams -%}
        {%- do positions.append(state.get(upstream, {'file_id': 0}).file_id) -%}
    {%- endfor -%}
    {%- set hi = [positions | min, lo] | max -%}
    {%- set range = {'lo': lo, 'hi': hi, 'raw_files': none, 'incremental': incremental} -%}
    {%- if incremental and 'int_landed_files' in state -%}
        {#- name the raw files of the range (ace_landed_samples reads just those), unless
            there are so many that reading through the lake-wide view is as cheap -#}
        {%- set registry = ace_relation('int_landed_files') -%}
        {%- set sql -%}
            select file_path
            from {{ registry }}
            where kind = 'raw' and file_id > {{ lo }} and file_id <= {{ hi }}
            order by file_id
            limit 5001
        {%- endset -%}
        {%- set files = run_query(sql).columns[0].values() | list -%}
        {%- if files | length <= 5000 -%}
            {%- do range.update({'raw_files': files}) -%}
        {%- endif -%}
        {%- do range.update(ace_range_reaches_cold(lo, hi)) -%}
    {%- endif -%}
    {{- return(range) -}}
{%- endmacro %}


{% macro ace_record_progress(upstreams) -%}
    {#- Post-hook: the model now holds every file up to this run's hi (the upstream
        positions cannot have moved since the model was compiled: they are written only by
        the upstream models, which finished before it started). -#}
    {%- set state = ace_progress_state() -%}
    {%- set positions = [] -%}
    {%- for upstream in upstreams -%}
        {%- do positions.append(state.get(upstream, {'file_id': 0}).file_id) -%}
    {%- endfor -%}
    {%- set held = state.get(this.identifier, {'file_id': 0}).file_id -%}
    {%- set range = {'hi': [positions | min, held] | max} -%}
    {{ ace_clear_progress(this.identifier) }}
    insert into {{ ace_progress_relation() }} (model, file_id, settings, updated_at)
    values (
        {{ ace_sql_string(this.identifier) }},
        {{ range.hi }},
        {{ ace_sql_string(ace_settings(this.identifier)) }},
        {{ ace_run_started_at() }}
    )
{%- endmacro %}


{% macro ace_clear_progress(model_name) -%}
    {{- return(adapter.dispatch('ace_clear_progress', 'ace_warehouse')(model_name)) -}}
{%- endmacro %}

{% macro default__ace_clear_progress(model_name) -%}
    {#- DuckDB: one row per model, replaced in the model's transaction -#}
    delete from {{ ace_progress_relation() }} where model = {{ ace_sql_string(model_name) }};
{%- endmacro %}

{% macro spark__ace_clear_progress(model_name) -%}
    {#- Spark: append-only (no transaction spans the model's write and this row: a crash
        between them repeats the model's work on the next run, which rewrites the same
        partitions) -#}
{%- endmacro %}


{% macro ace_pending_files(range, kind) -%}
    {#- The landed files of one kind this run incorporates, from int_landed_files. -#}
    select file_path
    from {{ ref('int_landed_files') }}
    where kind = {{ ace_sql_string(kind) }}
        and file_id <= {{ range.hi }}
        {%- if range.get('incremental', is_incremental()) %}
        and file_id > {{ range.lo }}
        {%- endif %}
{%- endmacro %}


{% macro ace_range_reaches_cold(lo, hi) -%}
    {#- {'reaches_cold', 'has_changed'} of the files of (lo, hi]. reaches_cold: whether they
        may need raw samples of the cold tier (docs/warehouse.md, "Hot and cold tiers"): some
        raw file is dated before the cold boundary, or within the largest gap threshold after
        it (cold_until is a UTC midnight, a raw file's partition_date the UTC date of its
        samples; the holdings of a landed sample reach back one gap threshold), or a point's
        expected interval changed (int_point_intervals; its history is then computed again).
        If not, the raw samples an incremental model rereads are all in the hot table
        `samples`, which is much cheaper to join than the two-tier view `timeseries`.
        has_changed: whether some point's expected interval changed in the range (the models
        that compute such a point's history again can leave that branch out otherwise). -#}
    {%- set registry = ace_relation('int_landed_files') -%}
    {%- set metadata = ace_relation('int_point_intervals') -%}
    {%- set existing = ace_existing_tables(['int_point_intervals', 'cold_state']) -%}
    {%- set has_metadata = 'int_point_intervals' in existing -%}
    {%- if 'cold_state' not in existing -%}
        {#- no cold tier (Spark's tables hold the whole history) -#}
        {%- set has_changed = false -%}
        {%- if has_metadata -%}
            {%- set has_changed = run_query("select count(*) from " ~ metadata ~ " where interval_changed_file_id > "
                ~ lo ~ " and interval_changed_file_id <= " ~ hi).columns[0].values()[0] > 0 -%}
        {%- endif -%}
        {{- return({'reaches_cold': false, 'has_changed': has_changed}) -}}
    {%- endif -%}
    {%- set sql -%}
        with boundary as (
            select cast(max(cold_until) as date) as cold_date
            from {{ ace_relation('cold_state') }}
        ),
        changed as (
            {%- if has_metadata %}
            select
                exists (
                    select 1 from {{ metadata }}
                    where interval_changed_file_id > {{ lo }} and interval_changed_file_id <= {{ hi }}
                ) as has_changed,
                cast(1 + floor(coalesce(max({{ ace_gap_threshold('expected_interval') }}), 0) / 86400) as integer)
                    as reach_days
            from {{ metadata }}
            {%- else %}
            select false as has_changed, 1 as reach_days
            {%- endif %}
        )
        select
            (select cold_date from boundary) is not null
            and (
                coalesce((
                    select min(partition_date) from {{ registry }}
                    where kind = 'raw' and file_id > {{ lo }} and file_id <= {{ hi }}
                ) < (select cold_date + reach_days from boundary, changed), false)
                or (select has_changed from changed)
            ) as reaches_cold,
            (select has_changed from changed) as has_changed
    {%- endset -%}
    {%- set row = run_query(sql).rows[0] -%}
    {{- return({'reaches_cold': row[0], 'has_changed': row[1]}) -}}
{%- endmacro %}


{% macro ace_raw_relation(range) -%}
    {#- The raw samples an incremental model rereads: `samples` (hot tier) when the pending
        range cannot reach the cold tier, else `timeseries` (both tiers). A rebuild, and a
        range computed without the check (unit tests), read `timeseries`. -#}
    {%- if range.get('incremental', is_incremental()) and range.get('reaches_cold', true) is false -%}
        {{- return(ref('samples')) -}}
    {%- endif -%}
    {{- return(ref('timeseries')) -}}
{%- endmacro %}
