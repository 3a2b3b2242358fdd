"""Value charts: ``python -m extract chart`` and the report's "Points to look at".

A chart reads the warehouse through ``series()`` (which picks the resolution),
``points`` (unit, the site's zone) and ``point_gaps`` (where the line breaks), and is drawn
as hand-written SVG with no script. Modules: :mod:`.model` (buckets, series, breaks),
:mod:`.collect` (reading), :mod:`.axes` (ticks), :mod:`.svg` (drawing), :mod:`.command`.
"""

from __future__ import annotations

from .command import HELP, add_arguments, run, write_chart
from .model import ChartError

__all__ = ["HELP", "ChartError", "add_arguments", "run", "write_chart"]
