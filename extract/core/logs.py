"""Logging: every line carries the run id; ``--log-format json`` gives JSON lines."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime
from types import TracebackType

from .errors import redact

RUN_ID: contextvars.ContextVar[str] = contextvars.ContextVar("run_id", default="-")


class _RunIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = RUN_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": getattr(record, "run_id", "-"),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc)


class RedactingFormatter(logging.Formatter):
    """Another formatter's lines, with :func:`extract.core.errors.redact` applied (the
    message, its arguments and any traceback: whatever the API sent may be in them)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def _redacting_excepthook(kind: type[BaseException], value: BaseException,
                          tb: TracebackType | None) -> None:
    """An uncaught exception's traceback, redacted like every log line."""
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))


def setup(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RunIdFilter())
    inner = JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)-7s [%(run_id)s] %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    handler.setFormatter(RedactingFormatter(inner))
    sys.excepthook = _redacting_excepthook
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every request at INFO; the URL has no secret, but it is noise
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
