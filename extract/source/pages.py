"""Decoding a time-series answer body into Arrow columns of the sample texts (name, time,
value) and the paging fields, fastest way first (docs/extractor.md, "How a page becomes
rows")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.json as pj

from .pagescan import scan_page


def _text_column(values: Sequence[Any]) -> pa.Array:
    """Strings as received; a non-string JSON value keeps its JSON text."""
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return pa.array(
            [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
            type=pa.string(),
        )


def columns_from_samples(samples: list[dict[str, Any]]) -> pa.Table:
    """API sample dicts -> a table of the three texts (name, time_text, value_text)."""
    return pa.table({
        "name": _text_column([s.get("name") for s in samples]),
        "time_text": _text_column([s.get("time") for s in samples]),
        "value_text": _text_column([s.get("value") for s in samples]),
    })


_SAMPLE = pa.struct([("name", pa.string()), ("value", pa.string()), ("time", pa.string())])
_PAGE_SCHEMA = pa.schema([("point_samples", pa.list_(_SAMPLE)), ("next_cursor", pa.string()),
                          ("has_more", pa.bool_())])
_PAGE_PARSE = pj.ParseOptions(explicit_schema=_PAGE_SCHEMA, unexpected_field_behavior="ignore")


@dataclass
class DecodedPage:
    texts: pa.Table  # name, time_text, value_text
    next_cursor: str | None
    has_more: bool | None


class PageShapeError(ValueError):
    """Whole JSON, but not the time-series page shape."""


def decode_page(body: bytes | bytearray) -> DecodedPage:
    """A time-series answer body -> the sample texts as Arrow columns and the paging fields.

    Three ways, fastest first, each taking what the one before could not:

    1. :func:`extract.pagescan.scan_page`, a vectorised scan of the bytes, for a body in
       the API's exact compact form (it checks the form completely);
    2. Arrow's JSON reader (C++, no Python object per sample) for any other JSON with the
       expected types;
    3. orjson, for anything else (say, a value sent as a JSON number).

    Raises ``orjson.JSONDecodeError`` when the body is not whole JSON (a truncated answer).
    """
    scanned = scan_page(body)
    if scanned is not None:
        return DecodedPage(
            texts=pa.table({"name": scanned.names, "time_text": scanned.times,
                            "value_text": scanned.values}),
            next_cursor=_cursor_text(scanned.next_cursor),
            has_more=None if scanned.has_more is None else bool(scanned.has_more))
    return _decode_json(body)


def _decode_json(body: bytes | bytearray) -> DecodedPage:
    """:func:`decode_page` by a JSON parser: Arrow's reader, else orjson."""
    try:
        table = pj.read_json(pa.BufferReader(body),
                             read_options=pj.ReadOptions(block_size=len(body) + 64,
                                                         use_threads=False),
                             parse_options=_PAGE_PARSE)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = None
    if table is not None and table.num_rows == 1:
        samples = table.column("point_samples").combine_chunks()
        flat = samples.flatten() if len(samples) and samples[0].is_valid else pa.array(
            [], _SAMPLE)
        nc = table.column("next_cursor")[0].as_py()
        hm = table.column("has_more")[0].as_py()
        return DecodedPage(
            texts=pa.table({"name": flat.field("name"), "time_text": flat.field("time"),
                            "value_text": flat.field("value")}),
            next_cursor=nc or None, has_more=hm)
    doc = orjson.loads(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("point_samples") or [], list):
        raise PageShapeError("answer has no point_samples list")
    hm = doc.get("has_more")
    return DecodedPage(
        texts=columns_from_samples(doc.get("point_samples") or []),
        next_cursor=_cursor_text(doc.get("next_cursor")),
        has_more=bool(hm) if hm is not None else None)


def _cursor_text(cursor: Any) -> str | None:
    """The cursor as text; none when it is missing, null or empty."""
    return None if cursor is None or cursor == "" else str(cursor)
