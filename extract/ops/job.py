"""The main job's one-screen summary, also written to ``state/jobs/<run_id>.json`` (what
``status`` reads as the last job)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class JobSummary:
    """The main job's one-screen summary; also written to state/jobs/<run_id>.json."""

    run_id: str
    started_at: datetime
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sites_ok: int = 0
    sites_failed: list[str] = field(default_factory=list)
    landed: int = 0
    quarantined: int = 0
    late_merged: int = 0
    repair: dict[str, Any] = field(default_factory=dict)
    gaps_new: int = 0
    gaps_closed: int = 0
    gaps_filled: int = 0
    gaps_open: int = 0
    tests: dict[str, int] = field(default_factory=dict)
    tests_not_passing: list[str] = field(default_factory=list)
    cold: dict[str, Any] = field(default_factory=dict)
    #: files set aside this job because they could not be read (path, reason, moved_to)
    damaged: list[dict[str, str]] = field(default_factory=list)
    #: cold-tier files found missing or damaged and rebuilt from raw/
    cold_rebuilt: list[dict[str, Any]] = field(default_factory=list)
    #: what the raw retention did (only with ACE_RAW_RETENTION_DAYS set)
    retention: dict[str, Any] = field(default_factory=dict)
    published: str | None = None
    report: str | None = None
    dbt_log: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)

    def note_damage(self, lake: Path) -> None:
        """The warnings for files set aside and cold files rebuilt (once, at the end)."""
        if self.damaged:
            first = self.damaged[0]
            self.warnings.append(
                f"{len(self.damaged)} damaged file(s) set aside in {lake / 'damaged'}, e.g. "
                f"{first.get('path')}: {first.get('reason')} (see the note beside each)")
        if self.cold_rebuilt:
            first = self.cold_rebuilt[0]
            self.warnings.append(
                f"{len(self.cold_rebuilt)} cold-tier file(s) missing or damaged, rebuilt "
                f"from raw/, e.g. site {first.get('site')} month {first.get('month')} "
                f"({first.get('reason')})")

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["started_at"] = self.started_at.isoformat()
        plain: dict[str, Any] = json.loads(json.dumps(doc, default=str))
        return plain

    def render(self) -> str:
        steps = ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items())
        lines = [
            f"main job {self.run_id}: {'ok' if self.ok else 'NEEDS ATTENTION'} "
            f"in {self.seconds:.1f}s ({steps})",
            f"  sites synced     {self.sites_ok} ok"
            + (f", {len(self.sites_failed)} FAILED: {', '.join(self.sites_failed)}"
               if self.sites_failed else ""),
            f"  samples landed   {self.landed:,} ({self.quarantined:,} quarantined); "
            f"late samples merged {self.late_merged:,}",
        ]
        if self.repair:
            r = self.repair
            lines.append(f"  gap repair       asked {r.get('asked', 0)} gaps in "
                         f"{r.get('windows', 0)} windows, landed {r.get('landed', 0):,}; "
                         f"tracking {r.get('tracked', 0)}, {r.get('finalized', 0)} marked final"
                         + (f" ({r['skipped']})" if r.get("skipped") else ""))
        lines.append(f"  gaps             {self.gaps_new} new, {self.gaps_closed} closed, "
                     f"{self.gaps_filled} filled; {self.gaps_open} "
                     f"{'point' if self.gaps_open == 1 else 'points'} silent now")
        if self.tests:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(self.tests.items()))
            lines.append(f"  dbt tests        {counts}")
            for name in self.tests_not_passing[:8]:
                lines.append(f"    - {name}")
            if len(self.tests_not_passing) > 8:
                lines.append(f"    ... and {len(self.tests_not_passing) - 8} more")
        if self.cold:
            lines.append(f"  cold tier        moved {self.cold.get('moved_rows', 0):,} rows "
                         f"into {self.cold.get('partitions', 0)} partitions "
                         f"(boundary {self.cold.get('cold_until')})")
        if self.retention:
            r = self.retention
            lines.append(
                "  raw retention    " + (f"skipped: {r['skipped']}" if r.get("skipped") else
                f"deleted {r.get('deleted', 0):,} raw files "
                f"({r.get('bytes_freed', 0) / 1e6:,.1f} MB) dated before {r.get('cutoff')}"
                + (f"; {r['kept_not_in_cold']:,} kept, samples not in the cold tier yet"
                   if r.get("kept_not_in_cold") else "")))
        if self.damaged:
            lines.append(f"  damaged files    {len(self.damaged)} set aside "
                         "(not read by the build)")
        if self.cold_rebuilt:
            lines.append(f"  cold rebuilt     {len(self.cold_rebuilt)} files from raw/ ("
                         + ", ".join(f"{c.get('site')} {c.get('month')}"
                                     for c in self.cold_rebuilt[:4]) + ")")
        if self.dbt_log:
            lines.append(f"  dbt log          {self.dbt_log}")
        if self.published:
            lines.append(f"  published        {self.published}")
        if self.report:
            lines.append(f"  report           {self.report}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for p in self.problems:
            lines.append(f"  NEEDS A PERSON: {p}")
        return "\n".join(lines)
