"""argparse converters shared by every command line: a bad value is argparse's own one-line
usage error naming the option."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from .config import parse_duration, parse_instant, valid_zone
from .errors import ConfigError

T = TypeVar("T")


def _arg(parse: Callable[[str, str], T], what: str) -> Callable[[str], T]:
    """An argparse ``type=`` that reports a ConfigError as argparse's own usage error."""
    def convert(text: str) -> T:
        try:
            return parse(text, what)
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return convert


def duration_arg(what: str) -> Callable[[str], timedelta]:
    """``--opt 5m``: a duration (90s, 5m, 2h, 1d)."""
    return _arg(parse_duration, what)


def instant_arg(what: str) -> Callable[[str], datetime]:
    """``--opt 2026-01-01T00:00:00Z``: an ISO 8601 instant (naive means UTC) or ``now``."""
    return _arg(parse_instant, what)


def zone_arg(what: str) -> Callable[[str], str]:
    """``--opt America/New_York``: an IANA time zone name."""
    return _arg(valid_zone, what)


def add_site_or_shard(p: argparse.ArgumentParser, what: str) -> None:
    """``--site S`` (repeatable) or ``--shard I/N``: which sites a run ``what``s."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--site", action="append", metavar="SITE",
                   help=f"{what} only this site (repeatable; default: all collect-enabled "
                        "sites)")
    g.add_argument("--shard", metavar="I/N",
                   help=f"{what} only the sites of shard I of N (1 <= I <= N): the site "
                        "whose crc32 of its name mod N is I - 1; N processes given 1/N .. "
                        "N/N cover every site once (docs/operations.md, \"Shards\")")
