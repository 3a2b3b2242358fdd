"""A local stand-in for the ACE IoT FlightDeck API (see docs/standin.md).

>>> world = World(seed=7, sites=3, points_per_site=40, interval_profile="mixed")
>>> with StandIn(world, token="test-token", clock=Clock()).start() as server:
...     server.url  # what ACE_API_URL is set to
'http://127.0.0.1:.../api'

Kept apart from the extractor: nothing here imports the client code.
"""

from __future__ import annotations

from .clock import Clock
from .faults import Fault, FaultSet, FiredFault
from .server import ALLOWED_PAGE_SIZES, RequestLog, StandIn
from .world import PointSpec, WindowTooLarge, World

__all__ = [
    "ALLOWED_PAGE_SIZES",
    "Clock",
    "Fault",
    "FaultSet",
    "FiredFault",
    "PointSpec",
    "RequestLog",
    "StandIn",
    "WindowTooLarge",
    "World",
    "main",
]


def main(argv: list[str] | None = None) -> int:
    """``python -m extract.standin`` (also reachable as ``python -m extract simulate``)."""
    from .__main__ import main as _main

    return _main(argv)
