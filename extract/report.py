"""``python -m extract.report``: the data-quality report (kept for existing schedules and
docs; the same as ``python -m extract report``, see :mod:`extract.ops.report`)."""

import sys

from .ops.report.command import main

if __name__ == "__main__":
    sys.exit(main())
