"""A static data-quality report of the warehouse: self-contained HTML pages.

``python -m extract report --warehouse W --out report/index.html`` opens the DuckDB file
read-only and writes a main page with no script, no external resource and no server:
the points off their configured interval (first, as ``status`` lists them), a coverage
heatmap of the worst points (points x local days), a gap timeline, value charts of the
points to look at (:mod:`.lookat`), every site's freshness and coverage, the worst
equipment and points, and the dbt test results of the last build (``run_results.json``);
beside it, a bounded page per site for the sites of lowest coverage. The per-point work is
aggregated in DuckDB (:mod:`.summary`), so Python handles only what is drawn. Every chart
is inline SVG; every name from the warehouse is HTML-escaped. See ``docs/report.md``.

Exit status of :func:`main`: 0 written, 2 the warehouse cannot be reported on (no file,
not built, locked by a build) or bad arguments. Modules: :mod:`.model`, :mod:`.collect` and
:mod:`.summary` (reading), :mod:`.render`, :mod:`.pages` and :mod:`.charts` (the pages),
:mod:`.command`.
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
