"""``python -m extract.ops.report``: the same as ``python -m extract report``."""

import sys

from .command import main

sys.exit(main())
