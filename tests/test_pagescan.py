"""The byte-scan page decoder against the general JSON decoders, on pages good, odd and broken.

``scan_page`` may decline any body (answer ``None``) but whatever it accepts must decode to
exactly what the general path (Arrow's JSON reader, then orjson) makes of the same body, and
it must never accept a body the general path rejects.
"""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pyarrow as pa
import pytest

from extract.source.pages import DecodedPage, _decode_json, decode_page
from extract.source.pagescan import scan_page

NAME_CHARS = "abcXYZ019/._-: ,{}[]'"


def sample(rng: random.Random, i: int) -> dict[str, Any]:
    name = "".join(rng.choice(NAME_CHARS) for _ in range(rng.randint(0, 30)))
    value = rng.choice(["72.5", "0", "", "NaN", None, "-1e3", " 7 ", "on", "{}", "a,b"])
    time = rng.choice(["2026-01-15T08:39:00.005824", "2026-01-15T08:39:00.005824Z", "",
                       None, "not a time", "2026-01-15"])
    return {"name": f"site/p{i}/{name}", "value": value, "time": time}


def page(samples: list[dict[str, Any]], cursor: Any = "c1", has_more: Any = True) -> bytes:
    return orjson.dumps({"point_samples": samples, "next_cursor": cursor, "has_more": has_more})


def general(body: bytes) -> DecodedPage | None:
    try:
        return _decode_json(body)
    except Exception:  # any failure: the body is not a page
        return None


def assert_agrees(body: bytes) -> bool:
    """scan_page agrees with the general path on ``body``; True when it accepted it."""
    scanned = scan_page(body)
    if scanned is None:
        return False
    ref = general(body)
    assert ref is not None, body[:200]
    got = decode_page(body)
    assert got.texts.equals(ref.texts), body[:200]
    assert got.next_cursor == ref.next_cursor and got.has_more == ref.has_more
    return True


def test_the_api_form_is_scanned_and_agrees() -> None:
    rng = random.Random(1)
    samples = [sample(rng, i) for i in range(3000)]
    body = page(samples)
    assert assert_agrees(body)
    texts = decode_page(body).texts
    # against the samples themselves, too
    assert texts.column("name").to_pylist() == [s["name"] for s in samples]
    assert texts.column("value_text").to_pylist() == [s["value"] for s in samples]
    assert texts.column("time_text").to_pylist() == [s["time"] for s in samples]


@pytest.mark.parametrize(("cursor", "has_more"), [
    ("c1", True), (None, False), ("", True), ("x", None), (17, True), (None, "yes")])
def test_paging_fields_agree(cursor: Any, has_more: Any) -> None:
    body = page([{"name": "a", "value": "1", "time": "t"}], cursor, has_more)
    assert assert_agrees(body)


@pytest.mark.parametrize("body", [
    # other layouts: white space, key orders, extra or missing keys, numbers, escapes
    json.dumps({"point_samples": [{"name": "a", "value": "1", "time": "t"}],
                "next_cursor": None}).encode(),
    page([{"value": "1", "name": "a", "time": "t"}]),
    page([{"name": "a", "value": "1", "time": "t", "unit": "degF"}]),
    page([{"name": "a", "value": "1"}]),
    page([{"name": "a", "value": 1.5, "time": "t"}]),
    page([{"name": "a\"b", "value": "1", "time": "t"}]),
    page([{"name": "温度", "value": "1", "time": "t"}]),
    page([{"name": "a\nb", "value": "1", "time": "t"}]),
    page([]),
    b'{"next_cursor":"c","point_samples":[{"name":"a","value":"1","time":"t"}]}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"}]}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"}],}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"}],"point_samples":[]}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"},]],"next_cursor":null}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"}{"name":"b","value":"1",'
    b'"time":"t"}],"next_cursor":null}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t","name":"b"}],"has_more":false}',
    b'{"point_samples":[{"name":"value":"1","time":"t"}],"next_cursor":null}',
    b'{"point_samples":[{"name":"a","value":"1"},{"time":"t","name":"b","value":"2",'
    b'"time":"u"}],"next_cursor":null}',
    b'{"point_samples":[{"name":"a","value":"1":"time","t"}],"next_cursor":null}',
    b'{"point_samples":[{"name":"a","value":"1","time":"t"}],"has_more":false} x',
])
def test_other_forms_are_declined_or_agree(body: bytes) -> None:
    """Declined, or (where one is taken) decoded as the general path decodes it."""
    assert_agrees(body)


def test_every_truncation_is_declined() -> None:
    rng = random.Random(2)
    body = page([sample(rng, i) for i in range(20)])
    assert scan_page(body) is not None
    for cut in range(len(body)):
        assert scan_page(body[:cut]) is None, cut


def test_random_damage_is_declined_or_agrees() -> None:
    """Thousands of pages with bytes changed, dropped or added: never a wrong answer."""
    rng = random.Random(3)
    alphabet = b'{}[]:,"nul0 a\\'
    accepted = 0
    for _ in range(3000):
        body = bytearray(page([sample(rng, i) for i in range(rng.randint(1, 8))],
                              rng.choice(["c", None]), rng.choice([True, False])))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(body))
            action = rng.random()
            if action < 0.4:
                body[at] = rng.choice(alphabet)
            elif action < 0.7:
                del body[at]
            else:
                body.insert(at, rng.choice(alphabet))
        accepted += assert_agrees(bytes(body))
    # the damage left many bodies valid pages in the API's form, and those were scanned
    assert accepted > 100


def test_scan_takes_bytearray_bodies() -> None:
    body = page([{"name": "a", "value": None, "time": "t"}, {"name": "b", "value": "2",
                                                              "time": None}], None, False)
    scanned = scan_page(bytearray(body))
    assert scanned is not None
    assert scanned.values.to_pylist() == [None, "2"] and scanned.times.to_pylist() == ["t", None]
    assert isinstance(scanned.names, pa.Array)
