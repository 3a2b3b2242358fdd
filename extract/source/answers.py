"""Reading what one HTTP answer says, with a bound on every number the API sends.

The API is trusted for its data, not for its numbers: a ``Retry-After`` of ``inf`` or
``100000000000`` seconds, a ``Content-Length`` of a petabyte, an error body of a gigabyte
or a ``detail`` that echoes the bearer token must each become one clear line, never a
traceback, an overflow or a leak. Everything here is a pure function of the answer (and,
for the clamps, of the settings), so it is tested without a server.
"""

from __future__ import annotations

import json
import logging
import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from ..core.errors import (
    AuthError,
    ContractError,
    RateLimited,
    RequestRejected,
    ServerError,
    redact,
)
from ._httpx import httpx

log = logging.getLogger(__name__)

#: the largest answer body read: a 500,000-sample page is about 85 MB of JSON
MAX_BODY_BYTES = 512 * 1024 * 1024
#: the part of an error answer's body read for its ``detail``
MAX_ERROR_BODY_BYTES = 64 * 1024
#: characters of an error's ``detail`` kept in its message (after redaction)
MAX_DETAIL_CHARS = 200
#: characters of a header value quoted in a log line
MAX_QUOTED_CHARS = 40

_SECONDS = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

#: the range of a whole number the lake can hold (int64)
INT_MIN, INT_MAX = -(2**63), 2**63 - 1

#: an answer's body: bytes, or the buffer it was read into
Body = bytes | bytearray


def quoted(text: str) -> str:
    """A header value fit for a log line: redacted, short, printable."""
    text = redact(text)
    short = text if len(text) <= MAX_QUOTED_CHARS else text[:MAX_QUOTED_CHARS] + "..."
    return repr(short)


def retry_after_seconds(text: str | None, cap: float, now: datetime | None = None
                        ) -> float | None:
    """A ``Retry-After`` header's wait in seconds, always within ``[0, cap]``.

    The header is a number of seconds or an HTTP date (RFC 9110). A date in the past
    means "now" (0). A number that is negative, not a number, infinite or longer than
    ``cap`` (``EXTRACT_BACKOFF_MAX``) is taken as ``cap``: the server asked for a pause
    that cannot be honoured as written, and the longest wait the settings allow is the
    nearest honest answer. A text that is neither form gives ``None`` (the client's own
    back-off applies). Each clamped or unreadable value is logged once, redacted.
    """
    if text is None:
        return None
    raw = text.strip()
    if not raw:
        return None
    seconds: float | None
    if _SECONDS.match(raw) or raw.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        try:
            seconds = float(raw)
        except (ValueError, OverflowError):  # pragma: no cover - the pattern admits floats
            seconds = math.nan
    else:
        seconds = _date_seconds(raw, now)
        if seconds is None:
            log.warning("Retry-After %s is neither seconds nor an HTTP date; "
                        "using the client's own back-off", quoted(raw))
            return None
        seconds = max(0.0, seconds)
    if not math.isfinite(seconds) or seconds < 0 or seconds > cap:
        log.warning("Retry-After %s is not a usable wait; waiting %gs "
                    "(EXTRACT_BACKOFF_MAX) instead", quoted(raw), cap)
        return cap
    return seconds


def _date_seconds(text: str, now: datetime | None) -> float | None:
    """Seconds from ``now`` to an HTTP date, or None when ``text`` is not one."""
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - older Pythons returned None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return (when - (now or datetime.now(UTC))).total_seconds()
    except OverflowError:  # pragma: no cover - dates are bounded to years 1..9999
        return math.inf


def content_length(resp: httpx.Response, where: str) -> int | None:
    """The announced body length; a contract error when it is larger than any page."""
    length = resp.headers.get("content-length")
    if length is None or not length.strip().isdigit() or resp.headers.get("content-encoding"):
        return None
    digits = length.strip()
    if len(digits) > 15 or int(digits) > MAX_BODY_BYTES:
        raise ContractError(f"{where}: the answer announces {quoted(digits)} bytes, more than "
                            f"the {MAX_BODY_BYTES // 2**20} MiB any page needs")
    return int(digits)


def read_body(resp: httpx.Response, where: str) -> Body:
    """The whole body, read once into one buffer, at most :data:`MAX_BODY_BYTES`.

    Not ``resp.read()``, which keeps the body on the response object (responses sit in
    reference cycles, so a page of 16 MB would stay alive until the cyclic GC ran). With a
    ``Content-Length`` the chunks are copied into a buffer of that size as they arrive, so
    a page is never held twice (its chunks and their join); a body of another length is
    an error the caller treats as truncated.
    """
    size = content_length(resp, where)
    if size is None:
        parts: list[bytes] = []
        total = 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                raise ContractError(f"{where}: the answer is longer than "
                                    f"{MAX_BODY_BYTES // 2**20} MiB; no page is that large")
            parts.append(chunk)
        return b"".join(parts)
    buf = bytearray(size)
    view = memoryview(buf)
    at = 0
    for chunk in resp.iter_bytes():
        end = at + len(chunk)
        if end > size:
            raise httpx.RemoteProtocolError("body longer than its Content-Length")
        view[at:end] = chunk
        at = end
    view.release()
    if at != size:
        raise httpx.RemoteProtocolError("body shorter than its Content-Length")
    return buf


def error_body(resp: httpx.Response) -> bytes:
    """The first :data:`MAX_ERROR_BODY_BYTES` of an error answer's body (the rest unread)."""
    parts: list[bytes] = []
    total = 0
    try:
        for chunk in resp.iter_bytes():
            parts.append(chunk)
            total += len(chunk)
            if total >= MAX_ERROR_BODY_BYTES:
                break
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError):
        pass  # the status is the answer; a broken error body only loses its detail
    return b"".join(parts)[:MAX_ERROR_BODY_BYTES]


def detail(body: bytes) -> str:
    """``": <detail>"`` of a JSON error body, redacted then shortened; empty otherwise."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    d = doc.get("detail") if isinstance(doc, dict) else None
    if not d:
        return ""
    text = " ".join(redact(str(d)).split())  # redacted before it is cut: no token half
    return f": {text[:MAX_DETAIL_CHARS]}"


def status_error(where: str, resp: httpx.Response, body: bytes, backoff_max: float
                 ) -> Exception:
    """The typed error of a 4xx/5xx answer."""
    status = resp.status_code
    why = detail(body)
    if status in (401, 403):
        return AuthError(f"{where}: HTTP {status} (check ACE_API_KEY){why}")
    if status == 429:
        wait = retry_after_seconds(resp.headers.get("retry-after"), backoff_max)
        return RateLimited(f"{where}: HTTP 429 too many requests", wait)
    if status >= 500:
        return ServerError(f"{where}: HTTP {status}{why}", status)
    return RequestRejected(f"{where}: HTTP {status}{why}", status)


def json_answer(body: Body, where: str) -> Any:
    """A JSON answer's document; numbers no column can hold become null.

    orjson refuses a number beyond a double (``1e400``) or ``NaN``; the standard library
    reads them (as ``inf``, ``nan`` or a big whole number), and those are replaced by
    ``None`` with one warning, so that one bad number in a point's metadata does not
    lose the whole list. A body that is not JSON at all is a contract error.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        doc = json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise ContractError(f"{where}: answer is not JSON") from None
    fixed = [0]
    doc = _nulled(doc, fixed)
    if fixed[0]:
        log.warning("%s: %d numbers in the answer are beyond 64 bits or not finite; "
                    "kept as null", where, fixed[0])
    return doc


def _nulled(v: Any, fixed: list[int]) -> Any:
    """``v`` with every non-finite float and every int outside int64 replaced by None."""
    if isinstance(v, dict):
        return {k: _nulled(x, fixed) for k, x in v.items()}
    if isinstance(v, list):
        return [_nulled(x, fixed) for x in v]
    if (isinstance(v, float) and not math.isfinite(v)) or (
            isinstance(v, int) and not isinstance(v, bool) and not INT_MIN <= v <= INT_MAX):
        fixed[0] += 1
        return None
    return v
