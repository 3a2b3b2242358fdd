"""Vectorised helpers: counter-based hashing, text formatting, a byte-bounded LRU.

Nothing here loops over samples in Python: a window of a million samples is hashed,
valued and formatted with numpy and pyarrow compute kernels.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]

_MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB


def mix_int(*parts: int) -> int:
    """A 64-bit hash of a tuple of integers (splitmix64 chained), in pure Python."""
    h = _GOLDEN
    for part in parts:
        x = ((h ^ (part & _MASK64)) + _GOLDEN) & _MASK64
        x = ((x ^ (x >> 30)) * _C1) & _MASK64
        x = ((x ^ (x >> 27)) * _C2) & _MASK64
        h = x ^ (x >> 31)
    return h


def _mix_arr(x: U64) -> U64:
    x = x + np.uint64(_GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_C1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_C2)
    out: U64 = x ^ (x >> np.uint64(31))
    return out


def hash_arr(keys: U64, counter: I64, stream: int) -> U64:
    """Hash of (per-row key, per-row counter, stream id); same inputs, same bits, anywhere."""
    salt = np.uint64(mix_int(stream))
    return _mix_arr(keys ^ _mix_arr(counter.astype(np.uint64) ^ salt))


def uniform(bits: U64) -> F64:
    """Map 64 hash bits to floats in [0, 1)."""
    out: F64 = (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return out


def format_numbers(values: F64) -> pa.Array:
    """Decimal text of already-rounded finite floats, always with a decimal point.

    ``72.5 -> "72.5"``, ``0.0 -> "0.0"``, ``-24.8571 -> "-24.8571"``, ``100 -> "100.0"``.
    """
    values = values + 0.0  # -0.0 -> 0.0
    text = pa.array(values, type=pa.float64()).cast(pa.string())
    integral = pa.array(np.equal(np.trunc(values), values))
    with_point = pc.binary_join_element_wise(text, ".0", "")
    return pc.if_else(integral, with_point, text)


def iso_text(us: I64, micros: bool = True) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]`` (naive UTC) of epoch microseconds, as a string array.

    Formats through Arrow's timestamp cast (fixed width for years 1000-9999) and swaps the
    space separator for ``T`` in one numpy pass over the bytes.
    """
    n = len(us)
    width = 26 if micros else 19
    if n == 0:
        return pa.array([], type=pa.string())
    if micros:
        ts = pa.array(us, type=pa.timestamp("us"))
    else:
        ts = pa.array(us // 1_000_000, type=pa.timestamp("s"))
    text = ts.cast(pa.string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32, count=n + 1, offset=text.offset * 4)
    if offsets[-1] - offsets[0] != n * width:
        raise ValueError("timestamps outside years 1000-9999 cannot be formatted")
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].copy()
    data.reshape(n, width)[:, 10] = ord("T")
    new_offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(data))


def replace_rows(base: pa.Array, mask: Bool, replacement: pa.Array) -> pa.Array:
    """``base`` with the rows where ``mask`` is true taken, in order, from ``replacement``."""
    n = len(base)
    picked = np.flatnonzero(mask)
    if len(picked) == 0:
        return base
    if len(replacement) != len(picked):
        raise ValueError("replacement length must equal the number of masked rows")
    index = np.arange(n, dtype=np.int64)
    index[picked] = n + np.arange(len(picked), dtype=np.int64)
    merged = pa.concat_arrays([base.cast(pa.string()), replacement.cast(pa.string())])
    return merged.take(pa.array(index))


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ByteLRU(Generic[K, V]):
    """A thread-safe LRU bounded by the summed size of its values, with single-flight fills.

    Two threads asking for the same missing key compute it once; the other waits.
    """

    def __init__(self, max_bytes: int, sizeof: Callable[[V], int]) -> None:
        self.max_bytes = int(max_bytes)
        self._sizeof = sizeof
        self._lock = threading.Lock()
        self._data: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._fill_locks: dict[K, threading.Lock] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            return item[0]

    def get_or_compute(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            item = self._data.get(key)
            if item is not None:
                self._data.move_to_end(key)
                self.hits += 1
                return item[0]
            fill_lock = self._fill_locks.setdefault(key, threading.Lock())
        with fill_lock:
            with self._lock:
                item = self._data.get(key)
                if item is not None:
                    self._data.move_to_end(key)
                    self.hits += 1
                    return item[0]
            value = compute()
            size = int(self._sizeof(value))
            with self._lock:
                self.misses += 1
                self._fill_locks.pop(key, None)
                if size <= self.max_bytes:
                    old = self._data.pop(key, None)
                    if old is not None:
                        self.bytes -= old[1]
                    self._data[key] = (value, size)
                    self.bytes += size
                    while self.bytes > self.max_bytes and self._data:
                        _, (_, evicted) = self._data.popitem(last=False)
                        self.bytes -= evicted
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.bytes = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
