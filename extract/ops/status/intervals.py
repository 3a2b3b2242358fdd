"""The points whose observed interval mismatches the configured one, in one line (the
reading is shared with the report: :mod:`extract.ops.intervals`)."""

from __future__ import annotations

from ..intervals import COLUMNS, IntervalMismatch, missing_columns, read_mismatches

__all__ = ["COLUMNS", "IntervalMismatch", "describe", "missing_columns", "read_mismatches"]


def describe(mismatches: list[IntervalMismatch], shown: int = 3) -> str:
    """One line: how many points report off their configured interval, the first few."""
    if not mismatches:
        return "none"
    parts = [f"{m.site}/{m.point} configured {m.collect_interval:g} s, observed "
             f"{m.observed_interval} s" for m in mismatches[:shown]]
    more = len(mismatches) - shown
    head = f"{len(mismatches)} point{'' if len(mismatches) == 1 else 's'} off their " \
           "configured interval: "
    return head + "; ".join(parts) + (f"; {more} more" if more > 0 else "")
