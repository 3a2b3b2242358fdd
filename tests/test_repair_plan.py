"""Unit tests of the gap-repair planning (extract/landing/repair.py) and of the main job's gap
counts (extract/warehouse/gaps.py): pure functions, no server, no warehouse."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from extract.core.config import Settings
from extract.landing.repair import (
    Gap,
    RepairSummary,
    _backoff,
    _read_state,
    merge_windows,
    plan_site,
)
from extract.warehouse.gaps import gap_changes

NOW = datetime(2025, 10, 20, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def settings(**kw: Any) -> Settings:
    s = Settings(repair_horizon=timedelta(days=7), repair_backoff=timedelta(minutes=15),
                 repair_backoff_max=timedelta(hours=12), repair_max_span=timedelta(days=2))
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def plan(gaps: list[Gap], entries: dict[str, dict[str, Any]], now: datetime = NOW,
         sync_from: datetime | None = None, **kw: Any
         ) -> tuple[list[tuple[datetime, datetime]], list[str], RepairSummary]:
    summary = RepairSummary(run_id="r", started_at=now)
    windows, keys = plan_site(settings(**kw), entries, gaps, now,
                              sync_from or now - 2 * H, summary)
    return windows, keys, summary


def test_merge_windows_joins_overlapping_and_near_spans() -> None:
    a = NOW - 10 * H
    spans = [(a + 5 * H, a + 6 * H), (a, a + H), (a + H + timedelta(minutes=30), a + 2 * H)]
    assert merge_windows(spans) == [(a, a + 2 * H), (a + 5 * H, a + 6 * H)]


def test_backoff_schedule_first_seen_then_doubling_up_to_the_cap() -> None:
    gap = Gap("s", "p", NOW - 10 * H, NOW - 8 * H)
    entries: dict[str, dict[str, Any]] = {}
    t = NOW
    windows, keys, _ = plan([gap], entries, t)
    assert windows == [] and keys == []  # first seen: the sync just read it
    (entry,) = entries.values()
    waits = [datetime.fromisoformat(entry["next_attempt"]) - t]
    for _ in range(8):
        t = datetime.fromisoformat(entry["next_attempt"])
        windows, keys, _ = plan([gap], entries, t)
        assert windows == [(gap.gap_start, gap.gap_end)] and len(keys) == 1
        entry["attempts"] += 1  # what repair() does after fetching
        entry["last_attempt"] = t.isoformat()
        entry["next_attempt"] = (t + _backoff(settings(), entry["attempts"])).isoformat()
        waits.append(datetime.fromisoformat(entry["next_attempt"]) - t)
        # not due again before the wait is over
        assert plan([gap], entries, t + waits[-1] - timedelta(seconds=1))[1] == []
    minutes = [w / timedelta(minutes=1) for w in waits]
    assert minutes == [15, 15, 30, 60, 120, 240, 480, 720, 720]


def test_closed_gap_is_final_past_the_horizon_and_not_asked_again() -> None:
    gap = Gap("s", "p", NOW - 20 * H, NOW - 19 * H)
    entries: dict[str, dict[str, Any]] = {}
    plan([gap], entries, NOW)
    (entry,) = entries.values()
    later = gap.gap_end + timedelta(days=7, minutes=1)  # type: ignore[operator]
    windows, keys, summary = plan([gap], entries, later)
    assert windows == [] and keys == [] and summary.finalized == 1
    assert entry["status"] == "final" and entry["final_at"] == later.isoformat()
    _, keys, summary = plan([gap], entries, later + timedelta(days=1))
    assert keys == [] and summary.finalized == 0  # stays final, never due


def test_open_gap_reads_up_to_the_lookback_and_a_dead_point_is_final() -> None:
    gap = Gap("s", "p", NOW - 30 * H, None)
    entries: dict[str, dict[str, Any]] = {}
    plan([gap], entries, NOW)
    windows, _, _ = plan([gap], entries, NOW + H, sync_from=NOW - H)
    assert windows == [(gap.gap_start, NOW - H)]
    # silent since before the horizon: final, not re-read every day for ever
    much_later = gap.gap_start + timedelta(days=7, hours=1)
    windows, _, summary = plan([gap], entries, much_later)
    assert windows == [] and summary.finalized == 1
    # an open gap the sync's own look-back covers is not asked for
    recent = Gap("s", "q", NOW - H, None)
    entries = {}
    plan([recent], entries, NOW)
    assert plan([recent], entries, NOW + H, sync_from=NOW - 2 * H)[0] == []


def test_span_cap_clips_a_long_gap_and_defers_the_rest_newest_first() -> None:
    long_gap = Gap("s", "a", NOW - timedelta(days=6, hours=22), NOW - 3 * H)
    inside = Gap("s", "b", NOW - 10 * H, NOW - 9 * H)
    old = Gap("s", "c", NOW - timedelta(days=6, hours=23),
              NOW - timedelta(days=6, hours=22, minutes=30))
    entries: dict[str, dict[str, Any]] = {}
    plan([long_gap, inside, old], entries, NOW - timedelta(hours=2))  # first seen
    windows, keys, summary = plan([long_gap, inside, old], entries, NOW)
    # the newest gap first, clipped to its newest 2 days; one inside it adds no span; the
    # old one would exceed the cap: deferred to a later run
    assert windows == [(NOW - 3 * H - timedelta(days=2), NOW - 3 * H)]
    assert len(keys) == 2 and summary.deferred == 1
    total = sum((b - a for a, b in windows), timedelta())
    assert total <= timedelta(days=2)


def test_gap_gone_from_point_gaps_counts_as_filled_and_is_forgotten() -> None:
    gap = Gap("s", "p", NOW - 10 * H, NOW - 8 * H)
    entries: dict[str, dict[str, Any]] = {}
    plan([gap], entries, NOW)
    _, _, summary = plan([], entries, NOW + H)
    assert summary.filled == 1 and entries == {}


def test_main_job_gap_counts_per_point_for_open_gaps() -> None:
    t = NOW
    before = {("s", "a", t - 5 * H): False,          # closed, will be filled
              ("s", "b", t - 2 * H): True,           # silent, keeps lagging
              ("s", "c", t - 3 * H): True}           # silent, reports again
    after = {("s", "b", t - H): True,                # same silent point, later last sample
             ("s", "c", t - 3 * H): False,           # closed now
             ("s", "d", t - 4 * H): False,           # a new gap
             ("s", "e", t - H): True}                # newly silent
    def table(gaps: dict[tuple[str, str, datetime], bool]) -> pa.Table:
        keys = list(gaps)
        return pa.table({"site": [k[0] for k in keys], "point": [k[1] for k in keys],
                         "gap_start": pa.array([k[2] for k in keys],
                                               pa.timestamp("us", tz="UTC")),
                         "is_open": list(gaps.values())})

    new, closed, filled, silent = gap_changes(table(before), table(after))
    assert (new, closed, filled) == (3, 1, 1)  # c's closed gap and d's, e silent; c; a
    assert silent == 2  # b and e
    # before the first build every gap is new
    assert gap_changes(None, table(after)) == (4, 0, 0, 2)


def test_unreadable_state_is_kept_aside_and_the_site_starts_afresh(tmp_path: Path) -> None:
    state = tmp_path / "site_a.json"
    state.write_text('{"site": "site_a", "gaps": [{"point": "p"')  # cut short
    assert _read_state(state, "run1", NOW) == {}
    kept = tmp_path / "site_a.json.corrupt-run1"
    assert not state.exists() and kept.read_text().startswith('{"site": "site_a"')
    assert list(tmp_path.glob("*.json")) == []  # out of the glob gap_repairs reads
    good = {"site": "site_a", "gaps": [{"point": "p", "gap_start": NOW.isoformat(),
                                        "status": "pending"}]}
    state.write_text(json.dumps(good))
    assert list(_read_state(state, "run2", NOW).values()) == good["gaps"]
