"""``python -m extract.standin``: serve a synthetic FlightDeck API until killed.

Prints exactly one line, ``standin listening on http://127.0.0.1:<port>/api``, once the
socket is bound, so a parent process can read the URL from the child's stdout.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import UTC, datetime
from types import FrameType

from .clock import Clock
from .server import ALLOWED_PAGE_SIZES, StandIn
from .world import World


def _iso(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m extract.standin",
        description="Serve a deterministic local stand-in for the ACE IoT FlightDeck API.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: any free port)")
    p.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    p.add_argument("--sites", type=int, default=3, help="collect-enabled sites (default 3)")
    p.add_argument("--points", type=int, default=40, help="points per site (default 40)")
    p.add_argument("--profile", choices=("mixed", "uniform60"), default="mixed",
                   help="sampling intervals: mixed (30 s..10 min) or uniform60")
    p.add_argument("--token", default="test-token", help="bearer token to accept")
    p.add_argument("--now", type=_iso, default=None,
                   help="freeze the clock at this ISO instant (naive = UTC); default real time")
    p.add_argument("--page-size-default", type=int, default=100, choices=ALLOWED_PAGE_SIZES,
                   metavar="N",
                   help="page size when a request names none (default 100)")
    p.add_argument("--no-bad-samples", action="store_true",
                   help="generate no unparseable times / empty names")
    p.add_argument("--cache-mb", type=int, default=768, help="serialised-page cache (MB)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--"]:  # forwarded through an argparse REMAINDER
        argv = argv[1:]
    args = build_parser().parse_args(argv)
    world = World(seed=args.seed, sites=args.sites, points_per_site=args.points,
                  interval_profile=args.profile, bad_samples=not args.no_bad_samples)
    clock = Clock(now=args.now)
    server = StandIn(world, token=args.token, clock=clock,
                     page_size_default=args.page_size_default, host=args.host,
                     cache_bytes=args.cache_mb * 1024 * 1024)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    server.start(args.port)
    try:
        print(f"standin listening on {server.url}", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:  # pragma: no cover - when no handler could be installed
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
