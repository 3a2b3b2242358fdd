"""The environment variables :class:`~extract.core.config.Settings` reads, and the exit
statuses, as ``python -m extract --help`` shows them."""

EPILOG = """\
environment:
  ACE_API_URL              API base, e.g. https://flightdeck.aceiot.cloud/api
  ACE_API_KEY              bearer token (never printed or stored)
  LAKE_DIR                 the lake root (default: lake)
  WAREHOUSE_PATH           the DuckDB warehouse file dbt builds (default: warehouse.duckdb)
  PUBLISHED_DIR            read-only snapshots for analysts (default: published)
  DBT_VARS                 dbt --vars for the main job's build, as YAML/JSON, e.g.
                           '{"site_timezones": {"ses_falls_city": "America/Chicago"}}'
  EXTRACT_LOOKBACK         re-read window before the checkpoint (default 2h)
  EXTRACT_INITIAL_HISTORY  history fetched on a site's first sync (default 24h)
  EXTRACT_SETTLE           stay this far behind now (default 1m)
  EXTRACT_CHUNK            checkpointed window size (default 6h)
  EXTRACT_CLOCK_SKEW       --until/--end may be at most this far past the wall clock
                           (default 5m); later ones are refused
  EXTRACT_PAGE_SIZE        API page size (default 100000)
  EXTRACT_MAX_RPS          request-rate ceiling per process (default 10)
  EXTRACT_TIMEOUT          seconds per request (default 60)
  EXTRACT_MAX_RETRIES      retries of a retriable failure (default 6)
  EXTRACT_BACKOFF_BASE     first back-off in seconds, doubled per retry (default 0.5)
  EXTRACT_BACKOFF_MAX      longest back-off in seconds (default 60); also the longest
                           wait a 429's Retry-After gets (inf, NaN, negative or huge
                           values are taken as this)
  EXTRACT_REPAIR_HORIZON   gaps younger than this are asked for again (default 7d)
  EXTRACT_REPAIR_BACKOFF   first wait before a gap is asked again, doubled after each
                           attempt (default 15m) ...
  EXTRACT_REPAIR_BACKOFF_MAX  ... up to this (default 12h)
  EXTRACT_REPAIR_MAX_SPAN  most gap windows re-read per site and run (default 2d)
  EXTRACT_IMPORT_EARLIEST  import: earlier times are quarantined (default 2000-01-01)
  EXTRACT_IMPORT_AHEAD     import: times later than now plus this are quarantined
                           (default 1d)
  ACE_HOT_DAYS             raw samples older than this many days move to the cold tier
                           (default: the dbt var hot_days, 20)
  ACE_RAW_RETENTION_DAYS   delete raw files older than this many days whose every sample
                           is in the cold tier (default: unset, kept for ever; prune-raw)
  REPORT_PATH              the data-quality report the main job writes
                           (default: report/index.html)
  DUCKDB_MEMORY_LIMIT      DuckDB's memory limit in a dbt build, e.g. 6GB (default:
                           DuckDB's, 80% of RAM); past it the build spills to disk
  SPARK_WAREHOUSE_DIR      build-spark: Spark's tables (default: spark-warehouse)
  SPARK_METASTORE_DIR      build-spark: Spark's metastore (default: metastore_db)

exit status: 0 ok, 1 some site or step failed (the run's summary says what needs a
person), 2 bad configuration or input (also: --until/--end in the future, a --site not
in the API's /sites list, checkpoint --set past now minus the settle time),
3 another run holds the lock of a site this run needs (or the whole lake's).
"""
