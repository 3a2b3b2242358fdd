"""Configuration: environment variables first, command-line flags on top.

The API key is wrapped in :class:`Secret` as soon as it is read, so it cannot reach a log
line, an error message or a state file by accident: its ``str`` and ``repr`` are masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .errors import ConfigError

#: page sizes the FlightDeck API accepts; anything else is rejected with 422
ALLOWED_PAGE_SIZES: tuple[int, ...] = (
    3, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 300000, 500000,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


class Secret:
    """A string that never shows itself when printed, logged or formatted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
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
