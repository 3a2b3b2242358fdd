"""What a landing run (sync, backfill, import, gap repair) did, per site, and its one-screen
text. Written to ``state/runs/<run_id>.json`` by the run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

from ..core.errors import redact
from .damaged import Damaged
from .window import Counts


@dataclass
class SiteResult:
    site: str
    ok: bool = True
    error: str | None = None
    checkpoint_before: str | None = None
    checkpoint_after: str | None = None
    windows: int = 0
    counts: Counts = field(default_factory=Counts)


@dataclass
class FileResult:
    """One file of an ``import``: read and landed, or refused (and why)."""

    path: str
    ok: bool = True
    error: str | None = None
    rows: int = 0
    landed: int = 0
    quarantined: int = 0
    #: rows that lost to a later row of the same file for the same (site, point, ts)
    superseded: int = 0


@dataclass
class RunSummary:
    run_id: str
    command: str
    started_at: datetime
    until: datetime | None = None
    finished_at: datetime | None = None
    sites: list[SiteResult] = field(default_factory=list)
    error: str | None = None
    #: ``import`` only: one entry per file named on the command line
    files: list[FileResult] = field(default_factory=list)
    #: files set aside because they could not be read (landing/damaged.py)
    damaged: list[Damaged] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.error is None and all(s.ok for s in self.sites)
                and all(f.ok for f in self.files))

    @property
    def totals(self) -> Counts:
        c = Counts()
        for s in self.sites:
            c.add(s.counts)
        return c

    def as_dict(self) -> dict[str, Any]:
        files = {"files": [vars(f).copy() for f in self.files]} if self.files else {}
        return {**files,
            "run_id": self.run_id, "command": self.command, "ok": self.ok, "error": self.error,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "until": self.until.isoformat() if self.until else None,
            "totals": self.totals.as_dict(),
            "damaged": [d.as_dict() for d in self.damaged],
            "sites": [{
                "site": s.site, "ok": s.ok, "error": s.error,
                "checkpoint_before": s.checkpoint_before,
                "checkpoint_after": s.checkpoint_after,
                "windows": s.windows, **s.counts.as_dict(),
            } for s in self.sites],
        }


def print_summary(summary: RunSummary, out: TextIO | None = None) -> None:
    """The run's summary: totals, then one line per site."""
    stream = out or sys.stdout

    def w(text: str) -> None:
        stream.write(redact(text))

    t = summary.totals
    took = ((summary.finished_at or summary.started_at) - summary.started_at).total_seconds()
    w(f"{summary.command} {summary.run_id}: {'ok' if summary.ok else 'FAILED'} in {took:.1f}s; "
      f"{t.landed} samples landed, {t.unchanged} unchanged re-reads skipped, "
      f"{t.quarantined} quarantined, {t.out_of_window} outside the window\n")
    if summary.error:
        w(f"  error: {summary.error}\n")
    for d in summary.damaged:
        w(f"  damaged file set aside: {d.path} -> {d.moved_to} ({d.reason})\n")
    for f in summary.files:
        state = (f"ok; {f.rows} rows: landed {f.landed}, quarantined {f.quarantined}, "
                 f"{f.superseded} superseded by a later row" if f.ok
                 else f"FAILED: {f.error}")
        w(f"  file {f.path}: {state}\n")
    for s in summary.sites:
        state = "ok" if s.ok else f"FAILED: {s.error}"
        w(f"  {s.site:<28} {state}; landed {s.counts.landed}, windows {s.windows}, "
          f"through {s.checkpoint_after or s.checkpoint_before or '-'}\n")
