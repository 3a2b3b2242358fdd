"""``python -m extract.ops.status``: the same as ``python -m extract status``."""

import sys

from .command import main

sys.exit(main())
