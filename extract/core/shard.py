"""Shards: ``--shard I/N`` splits the sites among N extractors by a stable hash.

A site belongs to shard ``crc32(name) mod N + 1``: the same on every machine, Python
version and run (Python's own ``hash()`` of a string changes from process to process),
so N extractors given ``1/N`` .. ``N/N`` together cover every site exactly once.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from .errors import ConfigError

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def shard_of(site: str, count: int) -> int:
    """The shard (1 .. ``count``) that ``site`` belongs to."""
    return zlib.crc32(site.encode("utf-8")) % count + 1


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (1-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` -> Shard(2, 4); anything else is one ConfigError line."""
        m = _FORM.match(text)
        if m is None:
            raise ConfigError(f"--shard {text!r}: expected I/N with whole numbers, "
                              "e.g. --shard 2/4")
        index, count = int(m.group(1)), int(m.group(2))
        if count < 1 or not 1 <= index <= count:
            raise ConfigError(f"--shard {text!r}: I must be from 1 to N and N at least 1, "
                              "e.g. --shard 2/4")
        return cls(index, count)

    def holds(self, site: str) -> bool:
        return shard_of(site, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
