"""Every number the API sends is bounded: Retry-After, body lengths, cursors, list pages,
point metadata. Unit tests against httpx.MockTransport (no server)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.core.config import Secret
from extract.core.errors import ContractError, RateLimited
from extract.source.answers import retry_after_seconds
from extract.source.client import FlightDeckClient

TOKEN = "bounds-token-value"
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 2, tzinfo=UTC)
CAP = 60.0


def make(handler: Callable[[httpx.Request], httpx.Response], **kw: Any
         ) -> tuple[FlightDeckClient, list[float]]:
    sleeps: list[float] = []
    client = FlightDeckClient("http://api.test/api", Secret(TOKEN), max_rps=1e9,
                              transport=httpx.MockTransport(handler), sleep=sleeps.append,
                              **{"max_retries": 3, "backoff_max": CAP, **kw})
    return client, sleeps


def page(samples: list[dict[str, Any]], cursor: str | None) -> httpx.Response:
    return httpx.Response(200, json={"point_samples": samples, "next_cursor": cursor,
                                     "has_more": cursor is not None})


def s(i: int) -> dict[str, Any]:
    return {"name": f"p{i}", "value": str(i), "time": f"2026-03-01T00:00:{i % 60:02d}"}


def pages(client: FlightDeckClient) -> list[dict[str, Any]]:
    return [x for p in client.timeseries_pages("site_a", START, END, 100)
            for x in p.texts.to_pylist()]


# -- Retry-After ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["inf", "-inf", "Infinity", "nan", "NaN", "-5", "-0.5",
                                  "100000000000", "1e400", "99999999999999999999999999",
                                  "61"])
def test_unusable_retry_after_is_clamped_to_backoff_max(text: str) -> None:
    assert retry_after_seconds(text, CAP) == CAP


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("7", 7.0), (" 2.5 ", 2.5),
                                               ("60", 60.0)])
def test_retry_after_in_seconds(text: str, seconds: float) -> None:
    assert retry_after_seconds(text, CAP) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(later, CAP, now=now) == 30.0
    past = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(past, CAP, now=now) == 0.0
    far = format_datetime(now + timedelta(days=400), usegmt=True)
    assert retry_after_seconds(far, CAP, now=now) == CAP


@pytest.mark.parametrize("text", ["soon", "", "  ", "Mon, 99 Foo 2026", "0x10"])
def test_unreadable_retry_after_falls_back_to_own_backoff(text: str) -> None:
    assert retry_after_seconds(text, CAP) is None


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    st.text(max_size=60),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.datetimes(timezones=st.just(UTC)).map(lambda d: format_datetime(d, usegmt=True)),
))
def test_any_retry_after_text_gives_a_wait_within_the_cap(text: str) -> None:
    wait = retry_after_seconds(text, CAP)
    assert wait is None or (math.isfinite(wait) and 0.0 <= wait <= CAP)


@pytest.mark.parametrize("header", ["inf", "100000000000", "-3", "nan"])
def test_client_never_sleeps_past_backoff_max_on_a_429(header: str) -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": header}),
                    page([s(1)], None)])
    client, sleeps = make(lambda req: next(answers), backoff_base=0.01)
    assert len(pages(client)) == 1
    assert sleeps == [CAP]


def test_a_429_error_carries_the_clamped_wait() -> None:
    client, sleeps = make(lambda req: httpx.Response(429, headers={"Retry-After": "1e12"}),
                          max_retries=2)
    with pytest.raises(RateLimited) as err:
        pages(client)
    assert err.value.retry_after == CAP and sleeps == [CAP, CAP]


# -- cursors -------------------------------------------------------------------------------

def test_a_cursor_that_repeats_after_data_is_a_contract_error_not_a_loop() -> None:
    calls: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        c = req.url.params.get("cursor")
        calls.append(c)
        return page([s(len(calls))], "c1" if c is None else {"c1": "c2", "c2": "c1"}[c])

    client, _ = make(handler)
    with pytest.raises(ContractError, match="next_cursor repeats one already followed"):
        pages(client)
    assert calls == [None, "c1", "c2"]


def test_an_empty_page_may_repeat_its_cursor() -> None:
    answers = iter([page([s(1)], "c1"), page([], "c1"), page([s(2)], None)])
    client, _ = make(lambda req: next(answers))
    assert [r["name"] for r in pages(client)] == ["p1", "p2"]


def test_an_enormous_cursor_is_refused() -> None:
    client, _ = make(lambda req: page([s(1)], "x" * 100_000))
    with pytest.raises(ContractError, match="next_cursor of 100000 characters"):
        pages(client)


def test_a_numeric_cursor_is_followed_as_text() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        c = req.url.params.get("cursor")
        return httpx.Response(200, json={"point_samples": [s(1 if c is None else 2)],
                                         "next_cursor": 17 if c is None else None})

    client, _ = make(handler)
    assert len(pages(client)) == 2


# -- bodies --------------------------------------------------------------------------------

def test_a_huge_content_length_is_one_contract_error() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-length": "9" * 30}, content=b"{}")

    client, _ = make(handler)
    with pytest.raises(ContractError, match="more than the 512 MiB"):
        pages(client)


def test_a_body_without_length_is_cut_off_at_the_bound(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    from extract.source import answers

    monkeypatch.setattr(answers, "MAX_BODY_BYTES", 1000)

    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=iter([b"x" * 600] * 4))  # chunked, no length

    client, _ = make(handler)
    with pytest.raises(ContractError, match="longer than"):
        pages(client)


# -- site and point lists ------------------------------------------------------------------

def sites_answer(items: list[dict[str, Any]], per_page: Any) -> httpx.Response:
    return httpx.Response(200, json={"page": 1, "pages": -3, "total": "many",
                                     "per_page": per_page, "items": items})


def test_a_per_page_cap_below_the_ask_still_lists_every_site() -> None:
    every = [{"name": f"site_{i}"} for i in range(25)]

    def handler(req: httpx.Request) -> httpx.Response:
        p = int(req.url.params["page"])
        return sites_answer(every[(p - 1) * 10: p * 10], 10)  # asked 100, capped at 10

    client, _ = make(handler)
    assert [x["name"] for x in client.sites()] == [x["name"] for x in every]


def test_a_server_ignoring_page_is_a_contract_error_not_a_loop() -> None:
    same = [{"name": f"site_{i}"} for i in range(100)]
    client, _ = make(lambda req: sites_answer(same, 100))
    with pytest.raises(ContractError, match="repeats page 1"):
        client.sites()


def test_numbers_beyond_64_bits_in_point_metadata_become_null() -> None:
    from extract.landing.meta import points_table

    body = (b'{"items": [{"name": "a", "id": 1e400, "collect_interval": 100000000000000000000'
            b'0000, "bacnet_data": {"device_id": -1e999}}, {"name": "b", "id": '
            b'18446744073709551615, "collect_interval": 60}]}')
    client, _ = make(lambda req: httpx.Response(200, content=body))
    items = client.configured_points("site_a")
    table = points_table("site_a", items, START, "run").to_pylist()
    assert [(r["point"], r["point_id"], r["collect_interval"]) for r in table] == [
        ("a", None, None), ("b", None, 60)]
    assert table[0]["bacnet_data"] == '{"device_id":null}'
