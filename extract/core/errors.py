"""The extractor's error taxonomy.

Every failure the extractor reports is one of these, so callers decide by type whether
to retry, to stop one site, or to stop the run::

    ExtractError
    ├── RetriableError            worth another attempt, after a back-off
    │   ├── TransportError        connection refused/reset, timeouts
    │   ├── RateLimited           HTTP 429; carries the server's Retry-After, if any
    │   ├── ServerError           HTTP 5xx
    │   └── TruncatedBody         the body ended early or is not complete JSON
    └── FatalError                retrying will not help
        ├── AuthError             HTTP 401/403: the API key is wrong or lacks access
        ├── RequestRejected       any other 4xx (422 bad parameters, 404 unknown site)
        ├── ContractError         a 2xx answer whose shape breaks the API contract
        ├── ConfigError           missing or malformed configuration
        ├── LockHeld              another run holds the site's lock (or the whole lake)
        └── InputError            an import file that cannot be read at all

Messages never contain the API key. Requests carry it only in a header, and every text
that can hold what the API sent (error details, header values, a body) passes through
:func:`redact` on its way to a message, a log line or a state file: the key (registered
with :func:`register_secret` when ``Settings`` reads it) and any ``Bearer <token>`` form
become ``***``. Every :class:`ExtractError` redacts its message when it is made; the log
handler redacts each formatted line; ``landing.lake.atomic_write_json`` redacts every
string it writes.
"""

from __future__ import annotations

import re
import threading
from typing import Any

#: what a secret, or the token of a ``Bearer`` form, is replaced by
REDACTED = "***"
#: ``Bearer <token>`` (any case), as an authorization header or an echo of one shows it
_BEARER = re.compile(r"(?i)\b(bearer)(\s+|%20|\+)(?!\*\*\*)[^\s\"',;}\]]+")
#: shorter values are not worth redacting (they would blank out ordinary words)
_MIN_SECRET = 8
_secrets: list[str] = []
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Make :func:`redact` hide ``value`` from now on (the API key, when it is read).

    Values shorter than 8 characters are not registered: no real key is that short, and
    blanking a common word (``test``) everywhere would garble every message.
    """
    value = value.strip()
    if len(value) < _MIN_SECRET:
        return
    with _secrets_lock:
        if value not in _secrets:
            _secrets.append(value)
            _secrets.sort(key=len, reverse=True)


def redact_secrets(text: str) -> str:
    """``text`` without any registered secret (and nothing else changed: for data)."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def holds_secret(data: bytes | str) -> bool:
    """Whether ``data`` contains a registered secret."""
    if isinstance(data, str):
        return any(secret in data for secret in _secrets)
    return any(secret.encode() in data for secret in _secrets)


def redact(text: str) -> str:
    """``text`` without any registered secret and without the token of a ``Bearer`` form."""
    return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", redact_secrets(text))


def redact_obj(obj: Any) -> Any:
    """A JSON-like value with :func:`redact` applied to every string in it (keys too)."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact_obj(k): redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_obj(v) for v in obj]
    return obj


class ExtractError(Exception):
    """Base of every error the extractor raises on purpose; its message is redacted."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact(str(message)), *args)


class RetriableError(ExtractError):
    """A failure that may succeed when tried again."""


class TransportError(RetriableError):
    """The connection failed or timed out before a complete answer arrived."""


class RateLimited(RetriableError):
    """HTTP 429. ``retry_after`` is the server's hint in seconds, when it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(RetriableError):
    """HTTP 5xx."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TruncatedBody(RetriableError):
    """The answer's body ended early (a broken chunked or short body), or isn't whole JSON."""


class FatalError(ExtractError):
    """A failure that retrying cannot fix."""


class AuthError(FatalError):
    """HTTP 401/403."""


class RequestRejected(FatalError):
    """Any other HTTP 4xx."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ContractError(FatalError):
    """A successful answer whose shape is not what the API contract says."""


class ConfigError(FatalError):
    """Configuration that is missing or cannot be parsed."""


class LockHeld(FatalError):
    """Another extractor process holds a site's lock, or the whole lake's."""


class InputError(FatalError):
    """An import file that cannot be read at all (missing, wrong format, no usable columns)."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what
    a one-line report shows."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
