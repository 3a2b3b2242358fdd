"""Unit tests of the HTTP client against httpx.MockTransport: each quirk and fault."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from extract.core.config import Secret
from extract.core.errors import (
    AuthError,
    ContractError,
    RequestRejected,
    ServerError,
    TransportError,
    TruncatedBody,
)
from extract.source.client import FlightDeckClient, RateLimiter

TOKEN = "s3cr3t-token-value"
START = datetime(2025, 10, 12, tzinfo=UTC)
END = datetime(2025, 10, 13, tzinfo=UTC)


def make(handler: Callable[[httpx.Request], httpx.Response], **kw: Any
         ) -> tuple[FlightDeckClient, list[float]]:
    sleeps: list[float] = []
    client = FlightDeckClient("http://api.test/api", Secret(TOKEN), max_rps=1e9,
                              transport=httpx.MockTransport(handler), sleep=sleeps.append,
                              **{"max_retries": 3, **kw})
    return client, sleeps


def page(samples: list[dict[str, Any]], cursor: str | None, has_more: bool | None = None
         ) -> httpx.Response:
    return httpx.Response(200, json={"point_samples": samples, "next_cursor": cursor,
                                     "has_more": bool(cursor) if has_more is None else has_more})


def s(i: int) -> dict[str, Any]:
    return {"name": f"p{i}", "value": str(i), "time": f"2025-10-12T00:00:{i % 60:02d}"}


def collect(client: FlightDeckClient, size: int = 100) -> list[dict[str, Any]]:
    pages = client.timeseries_pages("site_a", START, END, size)
    return [x for p in pages for x in p.texts.to_pylist()]


def test_follows_cursor_and_sends_auth_and_raw_data() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        c = req.url.params.get("cursor")
        return {None: page([s(1), s(2)], "c1"), "c1": page([s(3)], None)}[c]

    client, _ = make(handler)
    assert [x["name"] for x in collect(client)] == ["p1", "p2", "p3"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)
    assert seen[0].url.params["raw_data"] == "true"
    assert seen[0].url.params["start_time"] == "2025-10-12T00:00:00.000000Z"
    assert seen[0].url.params["end_time"] == "2025-10-13T00:00:00.000000Z"
    assert seen[0].url.path == "/api/sites/site_a/timeseries/paginated"


def test_cursor_is_authoritative_over_has_more() -> None:
    # has_more false while a cursor is set: keep going; has_more true without cursor: stop
    def handler(req: httpx.Request) -> httpx.Response:
        c = req.url.params.get("cursor")
        if c is None:
            return page([s(1)], "c1", has_more=False)
        return page([s(2)], None, has_more=True)

    client, _ = make(handler)
    assert [x["name"] for x in collect(client)] == ["p1", "p2"]


def test_empty_page_with_cursor_is_followed() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        c = req.url.params.get("cursor")
        return {None: page([], "c1"), "c1": page([], "c1b"), "c1b": page([s(5)], None)}[c]

    client, _ = make(handler)
    assert [x["name"] for x in collect(client)] == ["p5"]


def test_endless_empty_pages_are_a_contract_error() -> None:
    client, _ = make(lambda req: page([], "same"))
    with pytest.raises(ContractError, match="empty pages"):
        collect(client)


def test_404_means_no_data() -> None:
    client, _ = make(lambda req: httpx.Response(404, json={"detail": "No data"}))
    assert collect(client) == []


def test_401_is_fatal_without_retry_and_hides_the_token() -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(401, json={"detail": "bad token"})

    client, _ = make(handler)
    with pytest.raises(AuthError) as ei:
        collect(client)
    assert len(calls) == 1
    assert TOKEN not in str(ei.value) and TOKEN not in repr(ei.value)


def test_422_is_rejected() -> None:
    client, _ = make(lambda req: httpx.Response(422, json={"detail": "page_size"}))
    with pytest.raises(RequestRejected) as ei:
        collect(client)
    assert ei.value.status == 422 and "page_size" in str(ei.value)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_5xx_is_retried_with_backoff(code: int) -> None:
    answers = iter([httpx.Response(code), httpx.Response(code), page([s(1)], None)])
    client, sleeps = make(lambda req: next(answers))
    assert len(collect(client)) == 1
    assert len(sleeps) == 2


def test_backoff_grows_exponentially_with_jitter() -> None:
    client, sleeps = make(lambda req: httpx.Response(503), max_retries=6, backoff_base=1.0,
                          backoff_max=1000.0)
    with pytest.raises(ServerError):
        collect(client)
    assert len(sleeps) == 6
    assert all(0 <= d <= 2**i for i, d in enumerate(sleeps))
    assert len(set(sleeps)) > 1  # jittered, not a fixed schedule


def test_429_honours_retry_after() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), page([s(1)], None)])
    client, sleeps = make(lambda req: next(answers), backoff_base=0.01)
    assert len(collect(client)) == 1
    assert sleeps and sleeps[0] >= 7


def test_transport_errors_are_retried_then_reported() -> None:
    attempts = []

    def handler(req: httpx.Request) -> httpx.Response:
        attempts.append(1)
        raise httpx.ConnectError("connection refused", request=req)

    client, sleeps = make(handler)
    with pytest.raises(TransportError):
        collect(client)
    assert len(attempts) == 4 and len(sleeps) == 3


def test_timeout_is_retriable() -> None:
    state = {"n": 0}

    def handler(req: httpx.Request) -> httpx.Response:
        state["n"] += 1
        if state["n"] == 1:
            raise httpx.ReadTimeout("slow", request=req)
        return page([s(1)], None)

    client, _ = make(handler)
    assert len(collect(client)) == 1


class BrokenStream(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data[: len(self.data) // 2]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def test_truncated_body_retries_with_next_smaller_page_size() -> None:
    sizes: list[int] = []

    def handler(req: httpx.Request) -> httpx.Response:
        size = int(req.url.params["page_size"])
        sizes.append(size)
        if size >= 50000:
            body = orjson.dumps({"point_samples": [s(1)] * 10, "next_cursor": None})
            return httpx.Response(200, stream=BrokenStream(body))
        return page([s(1), s(2)], None)

    client, _ = make(handler)
    assert len(collect(client, size=100000)) == 2
    assert sizes == [100000, 50000, 10000]


def test_incomplete_json_counts_as_truncated() -> None:
    sizes: list[int] = []

    def handler(req: httpx.Request) -> httpx.Response:
        sizes.append(int(req.url.params["page_size"]))
        if len(sizes) == 1:
            return httpx.Response(200, content=b'{"point_samples": [{"name": "p1", "va')
        return page([s(1)], None)

    client, _ = make(handler)
    assert len(collect(client, size=1000)) == 1
    assert sizes == [1000, 500]


def test_truncated_at_smallest_size_gives_up() -> None:
    client, _ = make(lambda req: httpx.Response(200, content=b'{"point_samples": ['))
    with pytest.raises(TruncatedBody):
        collect(client, size=10)


@pytest.mark.parametrize("key", ["items", "configured_points", "points"])
def test_point_lists_under_any_key_stop_on_short_page(key: str) -> None:
    calls = []

    def handler(req: httpx.Request) -> httpx.Response:
        n = int(req.url.params["page"])
        calls.append(n)
        items = [{"name": f"p{n}-{i}"} for i in range(2 if n < 3 else 1)]
        return httpx.Response(200, json={"page": n, "pages": 1, "total": 1, key: items})

    client, _ = make(handler)
    pts = client.configured_points("site_a", per_page=2)
    assert len(pts) == 5 and calls == [1, 2, 3]  # `pages` said 1: it is not trusted


def test_point_list_stops_on_empty_page() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        n = int(req.url.params["page"])
        items = [{"name": "x"}, {"name": "y"}] if n == 1 else []
        return httpx.Response(200, json={"pages": 99, "items": items})

    client, _ = make(handler)
    assert len(client.configured_points("site_a", per_page=2)) == 2


def test_non_json_list_answer_is_a_contract_error() -> None:
    client, _ = make(lambda req: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(ContractError):
        client.sites()


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(d: float) -> None:
        slept.append(d)
        now[0] += d

    rl = RateLimiter(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        rl.acquire()
    assert now[0] == pytest.approx(0.4)
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_secret_never_prints() -> None:
    sec = Secret(TOKEN)
    assert TOKEN not in repr(sec) and TOKEN not in str(sec) and TOKEN not in f"{sec}"
    assert sec.reveal() == TOKEN
