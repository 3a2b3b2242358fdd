"""``python -m extract``."""

import logging
import os
import sys

from . import cli

code = cli.main()
if cli.last_command() in cli.QUICK_EXIT_COMMANDS:
    # Everything these commands write is fsynced and renamed before they return, and
    # their threads are joined: what is left is the interpreter's teardown of DuckDB,
    # Arrow's memory pools and every module, ~50 ms of a run that lands a page in ~45.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
sys.exit(code)
