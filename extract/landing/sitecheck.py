"""Refusing a mistyped ``--site`` before any work: a name not in the API's ``/sites`` list
would otherwise sync or backfill nothing and report success."""

from __future__ import annotations

import difflib
import logging
from typing import Any

from ..core.errors import ConfigError, ExtractError
from ..source.client import FlightDeckClient

log = logging.getLogger(__name__)


def unknown_sites_message(names: list[str], known: list[str]) -> str | None:
    """One line naming each unknown site and its close matches; None when all are known."""
    have = set(known)
    parts = []
    for name in names:
        if name in have:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        parts.append(repr(name) + (f" (did you mean {', '.join(close)}?)" if close
                                   else " (no similar name)"))
    if not parts:
        return None
    return (f"unknown site {'; '.join(parts)}: not in the API's /sites list of "
            f"{len(have)} sites")


def check_known_sites(client: FlightDeckClient, names: list[str], *,
                      then: str = "going on") -> list[dict[str, Any]] | None:
    """The API's site list, once every name in ``names`` is in it (else one ConfigError
    line). When the list cannot be fetched, a warning and None: the work goes on."""
    try:
        items = client.sites()
    except ExtractError as e:
        log.warning("listing sites failed (%s): %s not checked against it; %s", e,
                    ", ".join(names), then)
        return None
    known = [it["name"] for it in items if isinstance(it.get("name"), str)]
    message = unknown_sites_message(names, known)
    if message:
        raise ConfigError(message)
    return items
