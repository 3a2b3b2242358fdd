"""Configuration: environment variables first, command-line flags on top.

The API key is wrapped in :class:`Secret` as soon as it is read, so it cannot reach a log
line, an error message or a state file by accident: its ``str`` and ``repr`` are masked,
and its value is registered with :func:`extract.core.errors.register_secret`, so that an
API answer that echoes it is redacted too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import ConfigError, register_secret
from .paths import DBT_PROJECT

#: page sizes the FlightDeck API accepts; anything else is rejected with 422
ALLOWED_PAGE_SIZES: tuple[int, ...] = (
    3, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 300000, 500000,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class Secret:
    """A string that never shows itself when printed, logged or formatted, nor in any
    text :func:`extract.core.errors.redact` passes."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def parse_duration(text: str, what: str) -> timedelta:
    """``90``, ``90s``, ``5m``, ``2h``, ``1d`` -> timedelta; a clear error otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{what}: cannot read {text!r} as a duration (examples: 90s, 5m, 2h, 1d)")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_instant(text: str, what: str) -> datetime:
    """An ISO 8601 instant; naive means UTC, ``Z`` and offsets are honoured; ``now`` is now."""
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise ConfigError(
            f"{what}: cannot read {text!r} as a time (use ISO 8601, e.g. 2025-10-12T14:00:00Z)"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _int(env: Mapping[str, str], name: str, default: int, lo: int = 0) -> int:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < lo:
        raise ConfigError(f"{name}: must be at least {lo}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {raw!r}")
    return value


def _dur(env: Mapping[str, str], name: str, default: str) -> timedelta:
    return parse_duration(env.get(name, "") or default, name)


def _span(d: timedelta) -> str:
    """A duration as the settings write it: ``5m``, ``90s``, ``2h``."""
    secs = d.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size and secs % size == 0:
            return f"{int(secs // size)}{unit}"
    return f"{secs:g}s"


def _path(env: Mapping[str, str], name: str, default: str) -> Path:
    return Path(env.get(name, "").strip() or default)


def _dbt_vars(env: Mapping[str, str]) -> dict[str, Any]:
    """``DBT_VARS`` as a mapping (YAML or JSON text); empty when unset."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    text = env.get("DBT_VARS", "").strip()
    if not text:
        return {}
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        # one line: YAML's own message spans several
        raise ConfigError(f"DBT_VARS is not valid YAML/JSON: {' '.join(str(e).split())}"
                          ) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"DBT_VARS must be a mapping, got {text!r}")
    return doc


def project_var(name: str) -> Any:
    """The default of a dbt var in dbt_project.yml (None when it is not there)."""
    import yaml  # type: ignore[import-untyped,unused-ignore]

    try:
        doc = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text())
        return doc["vars"][name]
    except (OSError, KeyError, TypeError):
        return None


def valid_hot_days(value: object, what: str) -> int:
    """A whole number of days >= 1 (the cold boundary never moves back, so a wrong value
    would move recent data to the cold tier for good)."""
    try:
        days = int(str(value))
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not a whole number of days") from None
    if days < 1:
        raise ConfigError(f"{what}: must be at least 1 day, got {days}")
    return days


def _hot_days(env: Mapping[str, str], dbt_vars: Mapping[str, Any]) -> int:
    """``ACE_HOT_DAYS``, else ``hot_days`` in ``DBT_VARS``, else the dbt var ``hot_days`` in
    dbt_project.yml, else 20."""
    raw = env.get("ACE_HOT_DAYS", "").strip()
    if raw:
        return valid_hot_days(raw, "ACE_HOT_DAYS")
    if dbt_vars.get("hot_days") is not None:
        return valid_hot_days(dbt_vars["hot_days"], "hot_days in DBT_VARS")
    value = project_var("hot_days")
    if value is None:
        return DEFAULT_HOT_DAYS
    return valid_hot_days(value, "hot_days in dbt_project.yml")


def valid_retention_days(value: object, what: str) -> int:
    """A whole number of days >= 1: raw files whose dates are older than this (and whose
    every sample the cold tier holds) may be deleted (warehouse/retention.py)."""
    try:
        days = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not a whole number of days "
                          "(unset it to keep raw files for ever)") from None
    if days < 1:
        raise ConfigError(f"{what}: must be at least 1 day, got {days} "
                          "(unset it to keep raw files for ever)")
    return days


def _retention_days(env: Mapping[str, str]) -> int | None:
    raw = env.get("ACE_RAW_RETENTION_DAYS", "").strip()
    return valid_retention_days(raw, "ACE_RAW_RETENTION_DAYS") if raw else None


#: a DuckDB memory limit (DUCKDB_MEMORY_LIMIT, set by the dbt project's on-run-start hook)
_MEMORY = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _memory_limit(env: Mapping[str, str]) -> str | None:
    raw = env.get("DUCKDB_MEMORY_LIMIT", "").strip()
    if raw and not _MEMORY.fullmatch(raw):
        raise ConfigError(f"DUCKDB_MEMORY_LIMIT: {raw!r} is not a size such as 6GB or 12GiB")
    return raw or None


#: raw samples older than this many days move to the cold tier, unless configured
DEFAULT_HOT_DAYS = 20
#: an imported time before this is not a plausible sample (EXTRACT_IMPORT_EARLIEST)
DEFAULT_IMPORT_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: the furthest ahead of now an imported time may be (EXTRACT_IMPORT_AHEAD)
MAX_IMPORT_AHEAD = timedelta(days=3650)


def _instant(env: Mapping[str, str], name: str, default: datetime) -> datetime:
    raw = env.get(name, "").strip()
    return parse_instant(raw, name) if raw else default


def valid_zone(name: str, what: str) -> str:
    """An IANA time zone name (``America/New_York``) that zoneinfo knows."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{what}: {name!r} is not an IANA time zone "
                          "(examples: America/New_York, Europe/Berlin, UTC)") from None
    return name.strip()


@dataclass
class Settings:
    """Everything the extractor needs to know. Build with :meth:`from_env`."""

    api_url: str = ""
    api_key: Secret = field(default_factory=lambda: Secret(""))
    lake: Path = Path("lake")
    lookback: timedelta = timedelta(hours=2)
    initial_history: timedelta = timedelta(hours=24)
    settle: timedelta = timedelta(minutes=1)
    chunk: timedelta = timedelta(hours=6)
    page_size: int = 100000
    max_rps: float = 10.0
    timeout: float = 60.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    repair_horizon: timedelta = timedelta(days=7)
    repair_backoff: timedelta = timedelta(minutes=15)
    repair_backoff_max: timedelta = timedelta(hours=12)
    repair_max_span: timedelta = timedelta(days=2)
    # import: times outside [import_earliest, now + import_ahead) are quarantined
    import_earliest: datetime = DEFAULT_IMPORT_EARLIEST
    import_ahead: timedelta = timedelta(days=1)
    #: how far past the wall clock an --until/--end may reach (clocks of hosts differ a little)
    clock_skew: timedelta = timedelta(minutes=5)
    # where the warehouse stage reads and writes (relative paths: from the working directory)
    warehouse: Path = Path("warehouse.duckdb")
    published_dir: Path = Path("published")
    report_path: Path = Path("report/index.html")
    dbt_target_path: Path | None = None
    dbt_log_dir: Path | None = None
    dbt_vars: dict[str, Any] = field(default_factory=dict)
    hot_days: int = DEFAULT_HOT_DAYS
    #: raw files older than this many days whose samples are all in the cold tier are
    #: deleted by the main job (None, the default: raw is kept for ever)
    raw_retention_days: int | None = None
    #: where the dbt project's spark target keeps its tables and metastore (docs/spark.md)
    spark_warehouse: Path = Path("spark-warehouse")
    spark_metastore: Path = Path("metastore_db")
    #: DuckDB's memory limit in a dbt build (DUCKDB_MEMORY_LIMIT; None: DuckDB's 80 % of RAM)
    build_memory: str | None = None

    @classmethod
    def paths_from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Only where things are (the lake, the warehouse, the snapshots): for readers such
        as ``status``, which must work whatever else is misconfigured, and never need the
        API key."""
        env = os.environ if env is None else env
        # not validated, not kept: only so that nothing these readers print can show it
        register_secret(env.get("ACE_API_KEY", ""))
        return cls(lake=_path(env, "LAKE_DIR", "lake"),
                   warehouse=_path(env, "WAREHOUSE_PATH", "warehouse.duckdb"),
                   published_dir=_path(env, "PUBLISHED_DIR", "published"),
                   report_path=_path(env, "REPORT_PATH", "report/index.html"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting, validated: a wrong one is one ConfigError before any work."""
        env = os.environ if env is None else env
        dbt_vars = _dbt_vars(env)
        target = env.get("DBT_TARGET_PATH", "").strip()
        log_dir = env.get("DBT_LOG_PATH", "").strip()
        s = cls(
            api_url=env.get("ACE_API_URL", "").strip().rstrip("/"),
            api_key=Secret(env.get("ACE_API_KEY", "").strip()),
            lake=Path(env.get("LAKE_DIR", "").strip() or "lake"),
            lookback=_dur(env, "EXTRACT_LOOKBACK", "2h"),
            initial_history=_dur(env, "EXTRACT_INITIAL_HISTORY", "24h"),
            settle=_dur(env, "EXTRACT_SETTLE", "1m"),
            chunk=_dur(env, "EXTRACT_CHUNK", "6h"),
            page_size=_int(env, "EXTRACT_PAGE_SIZE", 100000, lo=1),
            max_rps=_float(env, "EXTRACT_MAX_RPS", 10.0),
            timeout=_float(env, "EXTRACT_TIMEOUT", 60.0),
            max_retries=_int(env, "EXTRACT_MAX_RETRIES", 6),
            backoff_base=_float(env, "EXTRACT_BACKOFF_BASE", 0.5),
            backoff_max=_float(env, "EXTRACT_BACKOFF_MAX", 60.0),
            repair_horizon=_dur(env, "EXTRACT_REPAIR_HORIZON", "7d"),
            repair_backoff=_dur(env, "EXTRACT_REPAIR_BACKOFF", "15m"),
            repair_backoff_max=_dur(env, "EXTRACT_REPAIR_BACKOFF_MAX", "12h"),
            repair_max_span=_dur(env, "EXTRACT_REPAIR_MAX_SPAN", "2d"),
            import_earliest=_instant(env, "EXTRACT_IMPORT_EARLIEST", DEFAULT_IMPORT_EARLIEST),
            import_ahead=_dur(env, "EXTRACT_IMPORT_AHEAD", "1d"),
            clock_skew=_dur(env, "EXTRACT_CLOCK_SKEW", "5m"),
            warehouse=_path(env, "WAREHOUSE_PATH", "warehouse.duckdb"),
            published_dir=_path(env, "PUBLISHED_DIR", "published"),
            report_path=_path(env, "REPORT_PATH", "report/index.html"),
            dbt_target_path=Path(target) if target else None,
            dbt_log_dir=Path(log_dir) if log_dir else None,
            dbt_vars=dbt_vars,
            hot_days=_hot_days(env, dbt_vars),
            raw_retention_days=_retention_days(env),
            spark_warehouse=_path(env, "SPARK_WAREHOUSE_DIR", "spark-warehouse"),
            spark_metastore=_path(env, "SPARK_METASTORE_DIR", "metastore_db"),
            build_memory=_memory_limit(env),
        )
        s.validate_tuning()
        return s

    def validate_tuning(self) -> None:
        if self.page_size not in ALLOWED_PAGE_SIZES:
            raise ConfigError(
                f"EXTRACT_PAGE_SIZE: {self.page_size} is not a size the API accepts "
                f"({', '.join(map(str, ALLOWED_PAGE_SIZES))})"
            )
        if self.chunk <= timedelta(0):
            raise ConfigError("EXTRACT_CHUNK: must be positive")
        valid_hot_days(self.hot_days, "ACE_HOT_DAYS")
        if self.raw_retention_days is not None:
            valid_retention_days(self.raw_retention_days, "ACE_RAW_RETENTION_DAYS")
        if not timedelta(0) <= self.import_ahead <= MAX_IMPORT_AHEAD:
            raise ConfigError(f"EXTRACT_IMPORT_AHEAD: must be between 0 and "
                              f"{MAX_IMPORT_AHEAD.days}d, got {self.import_ahead}")
        if self.import_earliest >= datetime.now(UTC):
            raise ConfigError("EXTRACT_IMPORT_EARLIEST: must be in the past, got "
                              f"{self.import_earliest.isoformat()}")

    def refuse_future(self, when: datetime | None, what: str,
                      now: datetime | None = None) -> None:
        """One ConfigError line when ``when`` (an --until or --end) is later than the wall
        clock plus ``clock_skew``: a checkpoint there would skip every later sample."""
        if when is None:
            return
        now = (now or datetime.now(UTC)).astimezone(UTC)
        if when.astimezone(UTC) > now + self.clock_skew:
            raise ConfigError(
                f"{what} {when.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ} is in the future (now is "
                f"{now:%Y-%m-%dT%H:%M:%SZ}, EXTRACT_CLOCK_SKEW allows "
                f"{_span(self.clock_skew)}): give a time up to now")

    @property
    def run_results(self) -> Path:
        """dbt's run_results.json of the last build (DBT_TARGET_PATH, default
        dbt_project/target; a relative target is inside the dbt project, as dbt has it)."""
        target = self.dbt_target_path or Path("target")
        return (target if target.is_absolute() else DBT_PROJECT / target) / "run_results.json"

    @property
    def dbt_log(self) -> Path:
        """Where the main job's ``dbt build`` writes its output (DBT_LOG_PATH, default
        dbt_project/logs; a relative directory is inside the dbt project, as dbt has it)."""
        logs = self.dbt_log_dir or Path("logs")
        return (logs if logs.is_absolute() else DBT_PROJECT / logs) / "dbt.log"

    def require_writable_lake(self) -> None:
        """One ConfigError line, before any work, when the lake cannot be written (a
        read-only mount, a missing permission, a file where the directory should be)."""
        try:
            self.lake.mkdir(parents=True, exist_ok=True)
            probe = self.lake / f".write-probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise ConfigError(f"LAKE_DIR {self.lake} cannot be written: "
                              f"{e.strerror or type(e).__name__}") from None

    def require_api(self) -> None:
        """Fail with one clear line when the API cannot be reached as configured."""
        if not self.api_url:
            raise ConfigError(
                "ACE_API_URL is not set (e.g. https://flightdeck.aceiot.cloud/api); "
                "`python -m extract demo` runs against the local stand-in instead"
            )
        if not re.match(r"^https?://", self.api_url):
            raise ConfigError(
                f"ACE_API_URL must start with http:// or https://, got {self.api_url!r}")
        if not self.api_key:
            raise ConfigError("ACE_API_KEY is not set: the FlightDeck API needs a bearer token")
