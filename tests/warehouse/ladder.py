"""The aggregate ladder as the models define it, read from their SQL.

Every aggregate model is one ``ace_aggregate('<grain>', '<parent>')`` call
(dbt_project/macros/aggregate.sql); the tests read those calls, so a grain added as a model
is checked by every test that walks the ladder, with no list of grains of their own. The
expected rows themselves are computed from the raw samples (truth.py), never from a parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
_CALL = re.compile(r"\{\{\s*ace_aggregate\(\s*'([^']+)'\s*,\s*'([^']+)'\s*\)\s*\}\}")
_UNITS = {"minute": (60, "min"), "hour": (3600, "h"), "day": (86400, "d")}


@dataclass(frozen=True)
class Grain:
    """One model of the ladder: UTC-aligned buckets of ``seconds``, or local days."""

    name: str
    grain: str
    parent: str
    seconds: int
    is_local_day: bool
    label: str  # series()'s resolution name: 5min, 15min, 1h, 1d


def parse(name: str, grain: str, parent: str) -> Grain:
    count, unit = grain.split()
    size, suffix = _UNITS[unit.removesuffix("s")]
    return Grain(name, grain, parent, int(count) * size, suffix == "d", f"{count}{suffix}")


def read_ladder(models: Path = MODELS) -> tuple[Grain, ...]:
    """Every aggregate model under ``models``, finest first."""
    found = []
    for path in sorted(models.rglob("*.sql")):
        match = _CALL.search(path.read_text())
        if match:
            found.append(parse(path.stem, match.group(1), match.group(2)))
    return tuple(sorted(found, key=lambda g: g.seconds))


LADDER = read_ladder()
NAMES = tuple(g.name for g in LADDER)
DAYS = next(g for g in LADDER if g.is_local_day)


def by_label(label: str) -> Grain:
    return next(g for g in LADDER if g.label == label)
