"""A static data-quality report of the warehouse: one self-contained HTML file.

``python -m extract report --warehouse W --out report/index.html`` opens the DuckDB file
read-only and writes a single page with no script, no external resource and no server:
a coverage heatmap (points x local days), a gap timeline, value charts of the points to
look at (:mod:`.lookat`), freshness per site, the worst points and the dbt test results
of the last build (``run_results.json``). Every chart is inline SVG; every name from the
warehouse is HTML-escaped. See ``docs/report.md``.

Exit status of :func:`main`: 0 written, 2 the warehouse cannot be reported on (no file,
not built, locked by a build) or bad arguments. Modules: :mod:`.model`, :mod:`.collect`
(reading), :mod:`.render` and :mod:`.charts` (the page), :mod:`.command`.
"""

from __future__ import annotations

from .collect import load, read_run_results
from .command import build_parser, main, write_report
from .model import ReportData, ReportError
from .render import render

__all__ = [
    "ReportData",
    "ReportError",
    "build_parser",
    "load",
    "main",
    "read_run_results",
    "render",
    "write_report",
]
