"""``httpx``, imported without its command-line client.

When ``click`` is installed (dbt brings it), ``import httpx`` also imports httpx's own
command-line client and with it click, rich and pygments: about 35 ms of every run's
start-up, for nothing the extractor uses. Hiding ``click`` for the duration of that one
import makes httpx skip it (httpx treats the missing CLI extra as optional); anything that
imports click afterwards gets the real one.
"""

from __future__ import annotations

import sys

if "httpx" in sys.modules or "click" in sys.modules:
    import httpx
else:
    sys.modules["click"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        del sys.modules["click"]

__all__ = ["httpx"]
