"""HTTP client for the FlightDeck API: keep-alive, timeouts, retries, pagination.

One :class:`FlightDeckClient` per process. Every request goes through :meth:`_get`, which
applies the request-rate ceiling and retries what :mod:`extract.errors` calls retriable:
transport errors and timeouts, 429 (sleeping at least the server's ``Retry-After``) and
5xx, with exponential back-off and full jitter. 401/403 and other 4xx are fatal for the
site. The bearer token lives only in the client's default headers; what an answer says
(its status, ``Retry-After``, body and error detail, every number bounded and every text
redacted) is read by :mod:`extract.source.answers`.

Pagination is exposed as generators. The time-series cursor is treated as authoritative
(``has_more`` is known to contradict it); an empty page that still carries a cursor is
followed, a cursor that keeps coming back without data, or comes back after data, is a
contract error; a body that arrives truncated is fetched again with the next smaller
allowed page size.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from ..core.config import ALLOWED_PAGE_SIZES, Secret, Settings
from ..core.errors import (
    ContractError,
    RateLimited,
    RequestRejected,
    RetriableError,
    TransportError,
    TruncatedBody,
)
from ._httpx import httpx
from .answers import Body, error_body, json_answer, read_body, status_error
from .pages import PageShapeError, decode_page

log = logging.getLogger(__name__)

#: consecutive empty pages that still carry a cursor before the answer is called broken
MAX_EMPTY_PAGES = 5
#: the longest cursor sent back (the API's are a few dozen characters)
MAX_CURSOR_CHARS = 4096
#: pages of one site or point list before the answer is called endless
MAX_LIST_PAGES = 10_000
#: envelope keys under which list endpoints have been seen to put their items
LIST_KEYS = ("items", "configured_points", "points")


class RateLimiter:
    """At most ``rate`` acquisitions per second, spaced evenly (a leaky bucket)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self._sleep(wait)


@dataclass(frozen=True)
class Page:
    """One decoded time-series page: the sample texts as Arrow columns, the paging fields."""

    texts: pa.Table
    next_cursor: str | None
    has_more: bool | None
    page_size: int

    @property
    def rows(self) -> int:
        return int(self.texts.num_rows)


def iso_z(t: datetime) -> str:
    """An aware instant as the API's ISO text with microseconds and ``Z``."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def smaller_page_size(size: int) -> int | None:
    smaller = [s for s in ALLOWED_PAGE_SIZES if s < size]
    return smaller[-1] if smaller else None


class FlightDeckClient:
    """A thin client for the endpoints the extractor uses."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        timeout: float = 60.0,
        max_rps: float = 10.0,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._limiter = RateLimiter(max_rps, sleep=sleep)
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"authorization": f"Bearer {token.reveal()}", "accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_keepalive_connections=4, keepalive_expiry=30.0),
            transport=transport,
            follow_redirects=False,
            # a plain-http base (the local stand-in) never uses TLS: building the default
            # context, which loads the CA bundle, costs ~30 ms of a run's start-up
            verify=self.base_url.startswith("https:"),
        )

    @classmethod
    def from_settings(cls, s: Settings, **kw: Any) -> FlightDeckClient:
        return cls(s.api_url, s.api_key, timeout=s.timeout, max_rps=s.max_rps,
                   max_retries=s.max_retries, backoff_base=s.backoff_base,
                   backoff_max=s.backoff_max, **kw)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> FlightDeckClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request -------------------------------------------------------------------

    def _once(self, path: str, params: dict[str, Any]) -> Body:
        """One attempt: the body of a 2xx answer, or a typed error."""
        self._limiter.acquire()
        where = f"GET {path}"
        try:
            with self._http.stream("GET", path, params=params) as resp:
                status = resp.status_code
                if status >= 400:
                    raise status_error(where, resp, error_body(resp), self.backoff_max)
                try:
                    return read_body(resp, where)
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.DecodingError) as e:
                    raise TruncatedBody(f"{where}: body ended early ({type(e).__name__})") from None
        except httpx.TimeoutException as e:
            raise TransportError(f"{where}: timed out ({type(e).__name__})") from None
        except httpx.TransportError as e:
            raise TransportError(f"{where}: {type(e).__name__}: {e}") from None

    def _backoff(self, attempt: int, err: RetriableError) -> float:
        """Full jitter up to ``backoff_max``, at least a 429's ``Retry-After`` (which is
        already clamped to ``backoff_max``): never more than ``backoff_max``."""
        ceiling = self.backoff_max if attempt >= 64 else min(
            self.backoff_max, self.backoff_base * 2.0**attempt)
        delay = random.uniform(0.0, ceiling)
        if isinstance(err, RateLimited) and err.retry_after is not None:
            delay = max(delay, min(err.retry_after, self.backoff_max))
        return delay

    def _get(self, path: str, params: dict[str, Any], *,
             retry_truncated: bool = True) -> Body:
        """GET with retries for retriable errors; fatal ones propagate at once."""
        attempt = 0
        while True:
            try:
                return self._once(path, params)
            except RetriableError as e:
                if attempt >= self.max_retries or (
                        isinstance(e, TruncatedBody) and not retry_truncated):
                    raise
                delay = self._backoff(attempt, e)
                log.warning("retrying %s in %.2fs after: %s", path, delay, e)
            self._sleep(delay)
            attempt += 1

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return json_answer(self._get(path, params or {}), f"GET {path}")

    # -- sites and points --------------------------------------------------------------

    def _paged_list(self, path: str, params: dict[str, Any],
                    per_page: int) -> Iterator[dict[str, Any]]:
        """Items of a page/per_page envelope. Stops on a short or empty page, not on `pages`.

        A server that caps ``per_page`` below what was asked says so in the envelope's
        ``per_page``: pages of that length are full, and paging goes on. A page equal to
        the one before (a server ignoring ``page``) is a contract error, not a loop.
        """
        page = 1
        full = per_page
        previous: list[Any] | None = None
        while True:
            doc = self.get_json(path, {**params, "page": page, "per_page": per_page})
            if isinstance(doc, list):  # a bare list: the whole answer
                yield from doc
                return
            if not isinstance(doc, dict):
                raise ContractError(f"GET {path}: expected an object, got {type(doc).__name__}")
            items = next((doc[k] for k in LIST_KEYS if isinstance(doc.get(k), list)), None)
            if items is None:
                raise ContractError(f"GET {path}: no item list under {', '.join(LIST_KEYS)}")
            if items and items == previous:
                raise ContractError(f"GET {path}: page {page} repeats page {page - 1}; "
                                    "the API ignores `page`, paging would never end")
            if page >= MAX_LIST_PAGES:
                raise ContractError(f"GET {path}: more than {MAX_LIST_PAGES} pages")
            yield from items
            if page == 1:
                full = _capped_per_page(doc.get("per_page"), per_page, len(items), path)
            if not items or len(items) < full:
                return
            previous = items
            page += 1

    def sites(self, *, per_page: int = 100) -> list[dict[str, Any]]:
        return list(self._paged_list("/sites", {"show_archived": "true"}, per_page))

    def configured_points(self, site: str, *, per_page: int = 1000) -> list[dict[str, Any]]:
        return list(self._paged_list(f"/sites/{site}/configured_points", {}, per_page))

    # -- time series -------------------------------------------------------------------

    def timeseries_pages(self, site: str, start: datetime, end: datetime,
                         page_size: int) -> Iterator[Page]:
        """Raw-sample pages for ``[start, end)``; nothing at all when the API answers 404."""
        path = f"/sites/{site}/timeseries/paginated"
        base = {"start_time": iso_z(start), "end_time": iso_z(end), "raw_data": "true"}
        cursor: str | None = None
        sent: set[str] = set()  # every cursor sent in this paging run
        size = page_size
        empty_streak = 0
        while True:
            params = {**base, "page_size": size}
            if cursor:
                params["cursor"] = cursor
            try:
                body = self._get(path, params, retry_truncated=False)
                decoded = decode_page(body)
            except PageShapeError as e:
                raise ContractError(f"GET {path}: {e}") from None
            except (TruncatedBody, orjson.JSONDecodeError):
                smaller = smaller_page_size(size)
                if smaller is None:
                    raise TruncatedBody(f"GET {path}: truncated even at page_size {size}") from None
                log.warning("%s: truncated answer at page_size %d; retrying with %d",
                            site, size, smaller)
                size = smaller
                continue
            except RequestRejected as e:
                if e.status == 404:
                    return  # the API's way of saying: no data in this window
                raise
            del body
            page = Page(decoded.texts, decoded.next_cursor, decoded.has_more, size)
            del decoded
            yield page
            if not page.rows:
                empty_streak += 1
                if page.next_cursor and empty_streak > MAX_EMPTY_PAGES:
                    raise ContractError(f"GET {path}: {empty_streak} empty pages in a row "
                                        "that still carry a cursor")
            else:
                empty_streak = 0
            if not page.next_cursor:
                if page.has_more:
                    log.warning("%s: has_more is true but there is no next_cursor; "
                                "the cursor is authoritative, so the window ends here", site)
                return
            cursor = _checked_cursor(page, sent, path)
            sent.add(cursor)


def _capped_per_page(value: Any, asked: int, got: int, path: str) -> int:
    """The length of a full page: ``asked``, or less when the server says it caps it.

    Only a whole number between 1 and ``asked`` that the first page's length matches is
    believed (``per_page`` has been seen to echo the request, or to be nonsense).
    """
    if isinstance(value, bool) or not isinstance(value, int):
        return asked
    cap = int(value)
    if not 1 <= cap < asked or got != cap:
        return asked
    log.info("GET %s: the API caps per_page at %d (asked %d); paging on", path, cap, asked)
    return cap


def _checked_cursor(page: Page, sent: set[str], path: str) -> str:
    """The page's next cursor, refused when following it could only loop or fail."""
    cursor = page.next_cursor
    assert cursor is not None
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ContractError(f"GET {path}: a next_cursor of {len(cursor)} characters "
                            f"(more than {MAX_CURSOR_CHARS}); refusing to send it back")
    if page.rows and cursor in sent:
        raise ContractError(f"GET {path}: next_cursor repeats one already followed after a "
                            f"page of {page.rows} samples; paging would loop")
    return cursor
