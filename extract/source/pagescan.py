"""Decode a time-series page by one vectorised scan of its bytes (the fast path of decode_page).

The API writes pages compactly, each sample as ``{"name":…,"value":…,"time":…}``::

    {"point_samples":[{"name":"N","value":"V","time":"T"},…],"next_cursor":"C","has_more":true}

For a body in exactly that form, :func:`scan_page` finds every string by the positions of
its quote bytes (numpy), checks that everything between the strings is one of the few byte
sequences the form allows, and takes the three columns out of the body as Arrow strings,
one gather each: no Python object per sample, and about three quarters of the time of
Arrow's JSON reader (25 against 34 ms for a 100,000-sample page of 15.7 MB, alone on a core).

It accepts only what it can check completely and answers ``None`` for anything else, so
that the general parser decides:

- the body is ASCII with no backslash (so no escapes: every ``"`` opens or closes a string)
  and no control byte (so no white space between tokens);
- it starts with ``{"point_samples":[{"name":``;
- between two strings of the list there is only ``:`` ``,`` ``},{`` ``:null,`` or
  ``:null},{``, and the list ends with ``}],`` or ``:null}],``;
- keys and values alternate, and every object has the keys ``name``, ``value``, ``time``
  in that order, each with a string or ``null``;
- what follows the list is the rest of a JSON object (parsed by orjson) with at least one
  member and no second ``point_samples``.

A number as a value, white space, escapes, other keys or key orders, an empty list or a
truncated body all go the general way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

HEAD = b'{"point_samples":[{"name":'
_QUOTE, _COLON, _COMMA, _CLOSE = 34, 58, 44, 125
#: the byte sequences allowed between two strings of the list, keyed by (length, first byte)
_BETWEEN = {(1, _COLON): b":", (1, _COMMA): b",", (3, _CLOSE): b"},{",
            (6, _COLON): b":null,", (8, _COLON): b":null},{"}
_KEYS = (b"name", b"value", b"time")


@dataclass
class Scanned:
    names: pa.Array
    times: pa.Array
    values: pa.Array
    next_cursor: Any
    has_more: Any


def scan_page(body: bytes | bytearray) -> Scanned | None:
    """The page's three text columns and paging fields, or ``None`` (see the module doc)."""
    if not body.startswith(HEAD) or len(body) >= 2**31 or b"\\" in body:
        return None
    buf = np.frombuffer(body, dtype=np.uint8)
    if int(buf.max()) >= 0x80 or int(buf.min()) < 0x20:  # ASCII, no control byte
        return None
    quotes = np.flatnonzero(buf == _QUOTE)
    # tokens: string i runs from quote 2i to quote 2i + 1; token 0 is point_samples, token 1
    # the first key, opened by the last byte of HEAD
    if len(quotes) % 2 or len(quotes) < 8 or quotes[2] != len(HEAD) - 7:
        return None
    opens = quotes[0::2]
    closes = quotes[1::2]
    gap_at = closes[:-1] + 1  # gap i: the bytes between token i and token i + 1
    gap_len = opens[1:] - gap_at
    first = buf[gap_at]
    # the list runs while the gaps are of the allowed kinds; token `last` ends it
    code = (np.minimum(gap_len, 15) << 8) | first  # (length, first byte) of each gap
    kind = np.zeros(len(gap_at), dtype=np.int8)
    for n, ((length, byte), pattern) in enumerate(_BETWEEN.items(), start=1):
        candidates = np.flatnonzero(code == (length << 8) | byte)
        for offset, b in enumerate(pattern[1:], start=1):
            candidates = candidates[buf[gap_at[candidates] + offset] == b]
        kind[candidates] = n
    # gap 0 is the head's ':[{' (checked by HEAD); the first other gap must end the list
    ends = np.flatnonzero(kind[1:] == 0)
    if not len(ends):
        return None  # the list never ends: truncated, or not this form
    last = int(ends[0]) + 1
    end_at, end_len = int(gap_at[last]), int(gap_len[last])
    end = bytes(body[end_at:end_at + end_len])
    if end not in (b"}],", b":null}],"):
        return None
    kind = kind[:last]
    try:
        tail = orjson.loads(b"{" + bytes(body[end_at + end_len:]))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(tail, dict) or not tail or "point_samples" in tail:
        return None
    # roles: a token is a key when the gap after it starts with ':'; after a ':' gap comes a
    # value, after any other gap a key
    key_gap = first[:last + 1] == _COLON
    is_key = key_gap[1:]  # tokens 1..last
    if not (is_key[0] and np.array_equal(is_key[1:], kind[1:] != 1)):
        return None
    keys = np.flatnonzero(is_key) + 1
    if len(keys) % 3:
        return None
    # objects of exactly three keys: a new object starts at every third key and nowhere else
    n_obj = len(keys) // 3
    starts = (kind == 3) | (kind == 5)  # '},{' and ':null},{'
    if int(starts.sum()) != n_obj - 1 or not bool(starts[keys[3::3] - 1].all()):
        return None
    texts_offsets = quotes.astype(np.int32)
    texts_offsets[0::2] += 1
    # element 2i of this array is token i's text (element 2i + 1 the gap after it)
    texts = pa.StringArray.from_buffers(len(texts_offsets) - 1,
                                        pa.py_buffer(texts_offsets), pa.py_buffer(body))
    # every position's next four bytes as a little-endian word (an unaligned view)
    words = np.ndarray((len(buf) - 3,), dtype="<u4", buffer=buf, strides=(1,))
    columns = []
    for j, name in enumerate(_KEYS):
        k = keys[j::3]
        k_open = opens[k]
        same = (closes[k] - k_open - 1 == len(name)) & (
            words[k_open + 1] == int.from_bytes(name[:4], "little"))
        if len(name) > 4:
            same &= buf[k_open + 5] == name[4]
        if not bool(same.all()):
            return None
        has_value = kind[k] == 1 if j < 2 else np.append(kind[k[:-1]] == 1, end == b"}],")
        index = pa.array(2 * (k + 1), mask=~has_value)
        columns.append(texts.take(index))
    names, values, times = columns
    return Scanned(names=names, times=times, values=values,
                   next_cursor=tail.get("next_cursor"), has_more=tail.get("has_more"))
