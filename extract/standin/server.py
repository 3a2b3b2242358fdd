"""The HTTP side of the stand-in: a real loopback server speaking the FlightDeck API.

Standard-library ``ThreadingHTTPServer`` with ``HTTP/1.1`` keep-alive. Raw time series are
generated in aligned per-site blocks (about 150,000 samples each, see
:meth:`World.block_span_us`); each block's visible rows are serialised once into one JSON blob
(``{"name":...,"value":...,"time":...},`` per row, built with pyarrow string kernels), and a
page is the envelope around zero-copy slices of one or more blobs. Blocks the next page will
need are generated ahead on a small thread pool. Generated blocks (in :class:`World`) and
serialised blobs (here) sit in byte-bounded LRUs.

The cursor encodes (block, row, snapshot instant): every page of one paging run is cut from
the world as it was when the first page was asked for.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import io
import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ._vec import I64, ByteLRU
from .clock import Clock, from_us, to_us
from .faults import PRE_KINDS, Fault, FaultSet
from .world import Rows, WindowTooLarge, World

ALLOWED_PAGE_SIZES = (3, 10, 50, 100, 500, 1000, 5000, 10000, 50000, 100000, 300000, 500000)
_LARGE = pa.large_string()
_NULL_JSON = pa.scalar("null", _LARGE)
_QUOTE = pa.scalar('"', _LARGE)
_EMPTY = pa.scalar("", _LARGE)
_TIME_OPEN = pa.scalar(',"time":"', _LARGE)
_ROW_CLOSE = pa.scalar('"},', _LARGE)
_SMALL_BODY = 64 * 1024


@dataclass(frozen=True)
class RequestLog:
    """One request the stand-in answered under ``/api`` (admin calls are not logged)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    page_size: int | None
    t_monotonic: float  # when the request arrived
    duration_s: float = 0.0
    bytes_sent: int = 0
    fault: str | None = None  # the fault that shaped the answer, if any


class _Reject(Exception):
    """An error answer (status + JSON detail)."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class _Response:
    status: int
    parts: list[bytes | memoryview]
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    truncate_fraction: float | None = None  # send only this share of the body, then close
    fault: str | None = None

    @property
    def length(self) -> int:
        return sum(len(p) for p in self.parts)


def _phrase(status: int, default: str) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return default


def _json(status: int, obj: Any, **kw: Any) -> _Response:
    return _Response(status, [orjson.dumps(obj)], **kw)


def _unprocessable(field_name: str, msg: str, where: str = "query") -> _Reject:
    return _Reject(422, [{"loc": [where, field_name], "msg": msg, "type": "value_error"}])


_PLUS_LOST = re.compile(r" (\d\d(?::?\d\d)?)$")


def parse_api_time(text: str, field_name: str) -> int:
    """ISO 8601 text (naive = UTC, ``Z`` and offsets accepted) to epoch microseconds."""
    raw = text.strip()
    # a '+' sent unescaped in a query string arrives as a space
    raw = _PLUS_LOST.sub(r"+\1", raw) if "T" in raw or raw.count(" ") > 1 else raw
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        raise _unprocessable(field_name, f"invalid datetime {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    if not 1971 <= dt.astimezone(UTC).year <= 9000:
        raise _unprocessable(field_name, "datetime out of range")
    return to_us(dt)


def _parse_bool(query: dict[str, str], name: str, default: bool) -> bool:
    text = query.get(name)
    if text is None or text == "":
        return default
    low = text.strip().lower()
    if low in {"true", "1", "yes", "on"}:
        return True
    if low in {"false", "0", "no", "off"}:
        return False
    raise _unprocessable(name, f"value is not a valid boolean: {text!r}")


def _parse_int(query: dict[str, str], name: str, default: int, minimum: int = 1) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _unprocessable(name, f"value is not a valid integer: {text!r}") from None
    if value < minimum:
        raise _unprocessable(name, f"must be >= {minimum}")
    return value


def encode_cursor(block_us: int, index: int, as_of_us: int) -> str:
    """An opaque cursor: urlsafe base64 of a position (block, row) and the snapshot instant."""
    text = f"b{block_us}.i{index}.a{as_of_us}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        block, index, snap = text.split(".")
        if not (block[:1] == "b" and index[:1] == "i" and snap[:1] == "a"):
            raise ValueError(text)
        out = int(block[1:]), int(index[1:]), int(snap[1:])
        if out[1] < -1:
            raise ValueError(text)
        return out
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise _unprocessable("cursor", "invalid cursor") from None


@dataclass(frozen=True)
class _Blob:
    """Rows serialised as JSON objects, each followed by a comma, back to back."""

    data: pa.Buffer
    offsets: I64  # n + 1 byte offsets into data
    ts: I64  # each row's generated instant (to cut a block down to a window)

    @property
    def n(self) -> int:
        return len(self.ts)

    @property
    def nbytes(self) -> int:
        return int(self.data.size + self.offsets.nbytes + self.ts.nbytes)

    def rows(self, start: int, stop: int) -> memoryview:
        """The JSON of rows ``[start, stop)``, each with its trailing comma."""
        return memoryview(self.data)[int(self.offsets[start]) : int(self.offsets[stop])]

    def cut(self, start_us: int, end_us: int) -> tuple[int, int]:
        """The row range with ``start_us <= ts <= end_us``."""
        lo = int(np.searchsorted(self.ts, start_us, side="left"))
        hi = int(np.searchsorted(self.ts, end_us, side="right"))
        return lo, hi


_EMPTY_BLOB = _Blob(pa.py_buffer(b""), np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _serialise(rows: Rows, name_json: pa.Array) -> _Blob:
    n = rows.n
    if n == 0:
        return _EMPTY_BLOB
    name_index = np.where(rows.bad_name, len(name_json) - 1, rows.pidx)
    head = name_json.take(pa.array(name_index))
    value = rows.value.cast(_LARGE)
    quoted = pc.binary_join_element_wise(_QUOTE, value, _QUOTE, _EMPTY)
    value_json = pc.fill_null(quoted, _NULL_JSON)
    out = pc.binary_join_element_wise(
        head, value_json, _TIME_OPEN, rows.time.cast(_LARGE), _ROW_CLOSE, _EMPTY
    )
    buffers = out.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64, count=n + 1, offset=out.offset * 8).copy()
    data = buffers[2]
    if offsets[0] != 0:
        data = pa.py_buffer(memoryview(data)[int(offsets[0]) : int(offsets[-1])].tobytes())
        offsets = offsets - offsets[0]
    return _Blob(data, offsets, rows.ts)


@dataclass
class _Page:
    parts: list[memoryview]
    rows: int
    next_pos: tuple[int, int] | None  # (block, row index) of the next page, None at the end


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], standin: StandIn) -> None:
        self.standin = standin
        self.connections: set[socket.socket] = set()
        self.conn_lock = threading.Lock()
        super().__init__(addr, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FlightDeckStandIn/1.0"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.conn_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.conn_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: the request log is StandIn.requests

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.server.standin._dispatch(self, "GET")

    def do_POST(self) -> None:  # noqa: N802
        self.server.standin._dispatch(self, "POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self.server.standin._dispatch(self, "DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self.server.standin._dispatch(self, "PUT")


class StandIn:
    """The FlightDeck API on loopback, backed by a :class:`World`.

    ``StandIn(world, token="test-token", clock=Clock(), page_size_default=100).start()``;
    ``url`` is what ``ACE_API_URL`` should be set to.
    """

    def __init__(
        self,
        world: World,
        token: str = "test-token",
        clock: Clock | None = None,
        page_size_default: int = 100,
        *,
        host: str = "127.0.0.1",
        cache_bytes: int = 768 * 1024 * 1024,
    ) -> None:
        if page_size_default not in ALLOWED_PAGE_SIZES:
            raise ValueError(f"page_size_default must be one of {ALLOWED_PAGE_SIZES}")
        self.world = world
        self._token = token
        self.clock = clock if clock is not None else Clock()
        self.page_size_default = page_size_default
        self.host = host
        self.faults = FaultSet()
        self.requests: list[RequestLog] = []
        self._blobs: ByteLRU[tuple[Any, ...], _Blob] = ByteLRU(cache_bytes, lambda b: b.nbytes)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, port: int = 0) -> StandIn:
        """Bind ``host:port`` (0 = any free port) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.host, port), self)
        self._pool = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2),
                                        thread_name_prefix="standin-gen")
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"standin-{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop every open connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with httpd.conn_lock:
            conns = list(httpd.connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the stand-in is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (admin endpoints live under ``/_standin``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/api``: the API base URL."""
        return f"{self.base_url}/api"

    def warm(self, site: str, start: datetime, end: datetime, raw: bool = True) -> int:
        """Generate and serialise the answer for ``[start, end]`` as of now (in parallel), so a
        timed run starts warm; returns the number of rows it will serve."""
        start_us, end_us, as_of = to_us(start, "start"), to_us(end, "end"), self.clock.now_us()
        if not raw:
            return self._bucket_blob(site, start_us, end_us, as_of).n
        span = self.world.block_span_us(site)
        blocks = range((start_us // span) * span, (end_us // span) * span + 1, span)
        if self._pool is None:
            blobs = [self._segment(site, b, as_of) for b in blocks]
        else:
            futures = [self._pool.submit(self._segment, site, b, as_of) for b in blocks]
            blobs = [f.result() for f in futures]
        return sum(hi - lo for hi, lo in ((b.cut(start_us, end_us)[::-1]) for b in blobs))

    def stats(self) -> dict[str, Any]:
        return {**self.world.stats(), "blobs": len(self._blobs), "blob_bytes": self._blobs.bytes,
                "blob_hits": self._blobs.hits, "blob_misses": self._blobs.misses}

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, h: _Handler, method: str) -> None:
        t0 = time.monotonic()
        body = b""
        length = h.headers.get("content-length")
        if length:
            try:
                body = h.rfile.read(int(length))
            except (ValueError, OSError):
                h.close_connection = True
                return
        split = urlsplit(h.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        admin = path.startswith("/_standin") or path.startswith("/api/_standin")
        page_size: int | None = None
        try:
            if admin:
                resp = self._admin(method, path.split("_standin", 1)[1], query, body)
            elif path == "/api" or path.startswith("/api/"):
                ps = query.get("page_size")
                page_size = int(ps) if ps is not None and ps.isdigit() else None
                resp = self._api(method, path, query, h.headers.get("authorization"))
            else:
                resp = _json(404, {"detail": "Not Found"})
        except _Reject as rej:
            resp = _json(rej.status, {"detail": rej.detail}, headers=rej.headers)
        except WindowTooLarge as exc:
            resp = _json(422, {"detail": str(exc)})
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must still answer
            resp = _json(500, {"detail": f"stand-in error: {type(exc).__name__}: {exc}"})
        head, sent = self._head(h, resp)
        if not admin:
            # logged before the body goes out, so a client that has its answer sees the entry
            self.requests.append(
                RequestLog(method, path, query, resp.status, page_size, t0,
                           time.monotonic() - t0, sent, resp.fault)
            )
        self._send(h, resp, head)

    def _head(self, h: _Handler, resp: _Response) -> tuple[bytes, int]:
        """The status line and headers, and how many bytes the answer will put on the wire."""
        length = resp.length
        reason = _phrase(resp.status, "")
        lines = [
            f"HTTP/1.1 {resp.status} {reason}",
            f"Server: {h.server_version}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Type: {resp.content_type}",
            f"Content-Length: {length}",
        ]
        lines += [f"{k}: {v}" for k, v in resp.headers.items()]
        if h.close_connection or resp.truncate_fraction is not None:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = length if resp.truncate_fraction is None else int(length * resp.truncate_fraction)
        return head, len(head) + body

    def _send(self, h: _Handler, resp: _Response, head: bytes) -> None:
        length = resp.length
        try:
            if resp.truncate_fraction is not None:
                h.close_connection = True
                remaining = int(length * resp.truncate_fraction)
                h.wfile.write(head)
                for part in resp.parts:
                    if remaining <= 0:
                        break
                    piece = part[:remaining]
                    h.wfile.write(piece)
                    remaining -= len(piece)
                h.wfile.flush()
                h.connection.shutdown(socket.SHUT_RDWR)
            elif length <= _SMALL_BODY:
                h.wfile.write(head + b"".join(resp.parts))
            else:
                h.wfile.write(head)
                for part in resp.parts:
                    h.wfile.write(part)
        except OSError:
            h.close_connection = True

    # ------------------------------------------------------------------ API
    def _api(self, method: str, path: str, query: dict[str, str], auth: str | None) -> _Response:
        if not auth:
            raise _Reject(401, "Not authenticated", {"WWW-Authenticate": "Bearer"})
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self._token.encode()
        ):
            raise _Reject(401, "Could not validate credentials", {"WWW-Authenticate": "Bearer"})
        fired = self._pre_faults(path, token.strip())
        if fired is not None:
            return fired
        if method != "GET":
            raise _Reject(405, "Method Not Allowed")
        parts = [p for p in path[len("/api"):].split("/") if p]
        if parts == ["sites"]:
            return self._sites(query)
        if len(parts) >= 2 and parts[0] == "sites":
            site = parts[1]
            if not self.world.has_site(site):
                raise _Reject(404, "Site not found")
            rest = parts[2:]
            if not rest:
                return _json(200, self.world.site_item(site))
            if rest in (["configured_points"], ["points"]):
                return self._points(site, query)
            if rest == ["timeseries", "paginated"]:
                return self._timeseries(site, path, query)
        raise _Reject(404, "Not Found")

    def _pre_faults(self, path: str, token: str) -> _Response | None:
        while True:
            fault = self.faults.take(path, PRE_KINDS)
            if fault is None:
                return None
            kind = fault.kind
            if kind == "slow":
                time.sleep(float(fault.param("delay")))
                continue
            if kind == "status":
                code = int(fault.param("code"))
                detail = _phrase(code, "Error")
                return _json(code, {"detail": detail}, fault=kind)
            if kind == "rate_limit":
                retry = fault.param("retry_after")
                text = retry if isinstance(retry, str) else str(int(retry))
                return _json(429, {"detail": "Too Many Requests"},
                             headers={"Retry-After": text}, fault=kind)
            if kind == "echo_token":
                code = int(fault.param("code"))
                headers = {"X-Echo-Authorization": f"Bearer {token}"}
                if code == 429:
                    headers["Retry-After"] = token
                return _json(code, {"detail": f"token {token} refused "
                                              f"(authorization: Bearer {token})"},
                             headers=headers, fault=kind)
            if kind == "not_found":
                return _json(404, {"detail": "No data"}, fault=kind)
            return _json(401, {"detail": "Could not validate credentials"},
                         headers={"WWW-Authenticate": "Bearer"}, fault=kind)

    def _sites(self, query: dict[str, str]) -> _Response:
        page = _parse_int(query, "page", 1)
        per_page = _parse_int(query, "per_page", 100)
        only_enabled = _parse_bool(query, "collect_enabled", False)
        show_archived = _parse_bool(query, "show_archived", False)
        items = [
            s.item() for s in self.world.all_sites
            if (show_archived or not s.archived) and (not only_enabled or s.collect_enabled)
        ]
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-total // per_page))
        return _json(200, {"page": page, "pages": pages, "per_page": per_page, "total": total,
                           "items": chunk})

    def _points(self, site: str, query: dict[str, str]) -> _Response:
        page = _parse_int(query, "page", 1)
        per_page = _parse_int(query, "per_page", 100)
        info = self.world.site_info(site)
        items = self.world.point_items(site)
        total = len(items)
        chunk = items[(page - 1) * per_page : page * per_page]
        pages = max(1, -(-total // per_page))
        if info.meta_mode == "inflated":
            total, pages = total + per_page, pages + 2
        elif info.meta_mode == "understated":
            total, pages = min(total, per_page), 1
        return _json(200, {"page": page, "pages": pages, "per_page": per_page, "total": total,
                           info.list_key: chunk})

    def _segment(self, site: str, block_us: int, as_of_us: int) -> _Blob:
        """The serialised visible rows of one aligned block (cached by visible count)."""
        world = self.world
        version = world.version
        win = world.block(site, block_us)
        key = ("raw", site, block_us, version, win.visible_count(as_of_us))
        return self._blobs.get_or_compute(
            key, lambda: _serialise(win.rows(as_of_us), world.name_json(site))
        )

    def _prefetch(self, site: str, block_us: int, as_of_us: int) -> None:
        pool = self._pool
        if pool is None:
            return

        def run() -> None:
            with contextlib.suppress(Exception):
                self._segment(site, block_us, as_of_us)

        with contextlib.suppress(RuntimeError):  # pool shut down meanwhile
            pool.submit(run)

    def _raw_page(self, site: str, start_us: int, end_us: int, as_of_us: int,
                  pos: tuple[int, int] | None, page_size: int) -> _Page:
        span = self.world.block_span_us(site)
        last = (end_us // span) * span
        block, index = pos if pos is not None else ((start_us // span) * span, -1)
        parts: list[memoryview] = []
        need = page_size
        while block <= last:
            if block + span <= last:
                self._prefetch(site, block + span, as_of_us)
            blob = self._segment(site, block, as_of_us)
            lo, hi = blob.cut(start_us, end_us)
            at = max(index, lo)
            if at < hi and need > 0:
                take = min(hi - at, need)
                parts.append(blob.rows(at, at + take))
                need -= take
                at += take
            if at < hi:  # the page is full and this block has more: the next page starts here
                return _Page(parts, page_size, (block, at))
            block += span
            index = -1
        return _Page(parts, page_size - need, None)

    def _bucket_blob(self, site: str, start_us: int, end_us: int, as_of_us: int) -> _Blob:
        world = self.world
        version = world.version
        first, last = world.bucket_bounds(start_us, end_us)
        if first > last:
            return _EMPTY_BLOB
        win = world.window(site, first, last + 299_999_999)
        key = ("buckets", site, start_us, end_us, version, win.visible_count(as_of_us))
        return self._blobs.get_or_compute(
            key,
            lambda: _serialise(world.bucket_rows(site, start_us, end_us, as_of_us),
                               world.name_json(site)),
        )

    def _bucket_page(self, site: str, start_us: int, end_us: int, as_of_us: int,
                     pos: tuple[int, int] | None, page_size: int) -> _Page:
        blob = self._bucket_blob(site, start_us, end_us, as_of_us)
        at = 0 if pos is None else max(pos[1], 0)
        stop = min(at + page_size, blob.n)
        if stop <= at:
            return _Page([], 0, None)
        return _Page([blob.rows(at, stop)], stop - at, (0, stop) if stop < blob.n else None)

    def _timeseries(self, site: str, path: str, query: dict[str, str]) -> _Response:
        if "start_time" not in query:
            raise _unprocessable("start_time", "field required")
        if "end_time" not in query:
            raise _unprocessable("end_time", "field required")
        start_us = parse_api_time(query["start_time"], "start_time")
        end_us = parse_api_time(query["end_time"], "end_time")
        if end_us < start_us:
            raise _unprocessable("end_time", "end_time must not be before start_time")
        ps_text = query.get("page_size")
        if ps_text is None or ps_text == "":
            page_size = self.page_size_default
        else:
            try:
                page_size = int(ps_text)
            except ValueError:
                raise _unprocessable("page_size", "value is not a valid integer") from None
            if page_size not in ALLOWED_PAGE_SIZES:
                raise _unprocessable(
                    "page_size", f"page_size must be one of {list(ALLOWED_PAGE_SIZES)}"
                )
        raw = _parse_bool(query, "raw_data", False)
        cursor = query.get("cursor")
        pos: tuple[int, int] | None = None
        if cursor:
            block, index, as_of_us = decode_cursor(cursor)
            if raw:
                span = self.world.block_span_us(site)
                ok = (start_us // span) * span <= block <= end_us and block % span == 0
            else:
                ok = block == 0
            if not ok:
                raise _unprocessable("cursor", "cursor does not belong to this window")
            pos = (block, index)
        else:
            as_of_us = self.clock.now_us()
        pager = self._raw_page if raw else self._bucket_page
        page = pager(site, start_us, end_us, as_of_us, pos, page_size)
        if cursor is None and page.rows == 0:
            raise _Reject(404, "No data")
        fault_name: str | None = None
        parts = page.parts
        next_pos = page.next_pos
        has_more = next_pos is not None
        if page.rows and self.faults.take(path, {"empty_page_with_cursor"}) is not None:
            fault_name = "empty_page_with_cursor"
            parts = []
            if pos is not None:
                next_pos = pos
            elif raw:
                span = self.world.block_span_us(site)
                next_pos = ((start_us // span) * span, -1)
            else:
                next_pos = (0, 0)
            has_more = True
        else:

            def mismatch_applies(f: Fault) -> bool:
                if f.param("mode") == "false_with_cursor":
                    return next_pos is not None
                return next_pos is None

            if self.faults.take(path, {"has_more_mismatch"}, mismatch_applies) is not None:
                fault_name = "has_more_mismatch"
                has_more = not has_more
        stray_fault = self.faults.take(path, {"stray_samples"}) if parts else None
        if stray_fault is not None:
            fault_name = "stray_samples" if fault_name is None else f"{fault_name}+stray_samples"
            head = self.world.name_json(site)[0].as_py()
            stray = "".join(f'{head}"1.0","time":{orjson.dumps(t).decode()}}},'
                            for t in stray_fault.param("times"))
            parts = [memoryview(stray.encode()), *parts]
        truncate: float | None = None
        tr = self.faults.take(
            path, {"truncate"}, lambda f: page_size >= int(f.param("min_page_size"))
        )
        if tr is not None:
            truncate = float(tr.param("fraction"))
            fault_name = "truncate" if fault_name is None else f"{fault_name}+truncate"
        next_cursor = None if next_pos is None else encode_cursor(*next_pos, as_of_us)
        if cursor and parts and self.faults.take(path, {"loop_cursor"}) is not None:
            fault_name = "loop_cursor" if fault_name is None else f"{fault_name}+loop_cursor"
            next_cursor, has_more = cursor, True
        if parts:  # drop the comma after the last row
            parts = [*parts[:-1], parts[-1][:-1]]
        tail = (
            b'],"next_cursor":' + orjson.dumps(next_cursor)
            + b',"has_more":' + (b"true" if has_more else b"false") + b"}"
        )
        return _Response(200, [memoryview(b'{"point_samples":['), *parts, memoryview(tail)],
                         truncate_fraction=truncate, fault=fault_name)

    # ------------------------------------------------------------------ admin
    def _admin(self, method: str, sub: str, query: dict[str, str], body: bytes) -> _Response:
        sub = sub.rstrip("/") or "/"
        if sub == "/clock":
            if method == "POST":
                payload = _load(body)
                if "now" in payload:
                    self.clock.set(_admin_time(payload["now"], "now"))
                if "advance_s" in payload:
                    self.clock.advance(timedelta(seconds=float(payload["advance_s"])))
            return _json(200, {"now": self.clock.now().isoformat(), "real": self.clock.is_real})
        if sub == "/faults":
            if method == "POST":
                payload = _load(body, allow_list=True)
                items = payload if isinstance(payload, list) else [payload]
                try:
                    faults = [Fault.from_json(f) for f in items]
                except (ValueError, TypeError) as exc:
                    raise _Reject(422, str(exc)) from None
                for f in faults:
                    self.faults.add(f)
            elif method == "DELETE":
                self.faults.clear()
            return _json(200, [f.to_json() for f in self.faults.pending()])
        if sub in ("/late_upload", "/outage") and method == "POST":
            payload = _load(body)
            try:
                site = str(payload["site"])
                start = _admin_time(payload["start"], "start")
                end = _admin_time(payload["end"], "end")
                points = payload.get("points")
                if sub == "/outage":
                    self.world.add_outage(site, start, end, points)
                else:
                    delay = timedelta(seconds=float(payload.get("delay_s", 0)))
                    self.world.add_late_upload(site, start, end, delay, points)
            except KeyError as exc:
                raise _Reject(422, f"missing or unknown: {exc}") from None
            return _json(200, {"ok": True, "version": self.world.version})
        if sub in ("/truth", "/truth_bad", "/samples", "/buckets"):
            try:
                site = query["site"]
                start = from_us(parse_api_time(query["start"], "start"))
                end = from_us(parse_api_time(query["end"], "end"))
            except KeyError as exc:
                raise _unprocessable(str(exc), "field required") from None
            if not self.world.has_site(site):
                raise _Reject(404, "Site not found")
            as_of = (from_us(parse_api_time(query["as_of"], "as_of")) if query.get("as_of")
                     else self.clock.now())
            fn = {"/truth": self.world.truth, "/truth_bad": self.world.truth_bad,
                  "/samples": self.world.samples, "/buckets": self.world.buckets}[sub]
            sink = io.BytesIO()
            pq.write_table(fn(site, start, end, as_of), sink)
            return _Response(200, [sink.getvalue()], content_type="application/vnd.apache.parquet")
        if sub == "/warm" and method == "POST":
            payload = _load(body)
            try:
                site = str(payload["site"])
                start = _admin_time(payload["start"], "start")
                end = _admin_time(payload["end"], "end")
            except KeyError as exc:
                raise _Reject(422, f"missing: {exc}") from None
            if not self.world.has_site(site):
                raise _Reject(404, "Site not found")
            t0 = time.perf_counter()
            rows = self.warm(site, start, end, bool(payload.get("raw", True)))
            return _json(200, {"rows": rows, "seconds": round(time.perf_counter() - t0, 3)})
        if sub == "/requests":
            return _json(200, [asdict(r) for r in self.requests])
        if sub == "/points":
            site = query.get("site", "")
            if not self.world.has_site(site):
                raise _Reject(404, "Site not found")
            return _json(200, [asdict(p) for p in self.world.points(site)])
        if sub in ("/", "/health"):
            return _json(200, {"ok": True, "url": self.url, "sites": self.world.site_names,
                               "now": self.clock.now().isoformat(), "stats": self.stats()})
        raise _Reject(404, "Not Found")


def _load(body: bytes, allow_list: bool = False) -> Any:
    try:
        payload = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise _Reject(422, "body is not JSON") from None
    if not isinstance(payload, dict) and not (allow_list and isinstance(payload, list)):
        raise _Reject(422, "body must be a JSON object")
    return payload


def _admin_time(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise _Reject(422, f"{name} must be an ISO 8601 string")
    return from_us(parse_api_time(value, name))
