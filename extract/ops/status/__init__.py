"""``python -m extract status``: is the pipeline healthy? One screen or JSON, and an exit status.

It only reads: the checkpoints and run summaries in the lake, the sizes of the lake's
files, and the warehouse opened read-only (by default the published snapshot, which no
build ever opens). It writes nothing, takes no lock, and never reads the API key.

Exit status for monitoring (the rules are in ``EXIT_HELP`` and docs/status.md):
0 healthy, 1 warning, 2 critical. Modules: :mod:`.model` (the dataclasses), :mod:`.collect`
(reading), :mod:`.rules` (judging), :mod:`.render` (text), :mod:`.command` (options).
"""

from __future__ import annotations

from .collect import collect_status
from .command import HELP, add_arguments, main, run
from .model import CRITICAL, OK, WARNING, Status, exit_code
from .render import render
from .rules import assess

__all__ = [
    "CRITICAL",
    "HELP",
    "OK",
    "Status",
    "WARNING",
    "add_arguments",
    "assess",
    "collect_status",
    "exit_code",
    "main",
    "render",
    "run",
]
