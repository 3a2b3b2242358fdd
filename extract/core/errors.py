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
        ├── LockHeld              another sync/backfill/import holds the lake
        └── InputError            an import file that cannot be read at all

Messages never contain the API key: requests carry it only in a header, and no error
formats headers.
"""

from __future__ import annotations


class ExtractError(Exception):
    """Base of every error the extractor raises on purpose."""


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
    """Another extractor process holds the lake's lock."""


class InputError(FatalError):
    """An import file that cannot be read at all (missing, wrong format, no usable columns)."""
