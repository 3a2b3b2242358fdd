"""Gap repair end to end (extract/landing/repair.py, docs/operations.md "Gap repair").

The real main job (``python -m extract run``, a subprocess per scheduled run) against the
stand-in on loopback, whose clock the test moves. One site's gateway uploads an hour of
data 5 h 45 min late, far beyond the 2 h look-back, so the sync never reads that window
again; another site has a real outage that is never filled. The warehouse must end equal
to the stand-in's truth, the late samples must have been landed by the repair, the
attempts must follow the backoff, and the unfilled gap must be marked final at the horizon.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from extract.standin import Clock, StandIn, World

from .conftest import T0, TOKEN, sample_set

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BACKOFF = timedelta(minutes=10)
HORIZON = timedelta(hours=8)
LATE = (T0 - timedelta(hours=4), T0 - timedelta(hours=3))   # site 1, every point
LATE_DELAY = timedelta(hours=5, minutes=45)                   # visible at T0 + 2h45
OUTAGE = (T0 - timedelta(hours=5, minutes=30), T0 - timedelta(hours=5))  # site 2, one point


def _query(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_late_uploads_beyond_the_lookback_are_repaired(tmp_path: Path) -> None:
    world = World(seed=5, sites=2, points_per_site=8)
    site1, site2 = world.site_names
    clock = Clock(now=T0)
    server = StandIn(world, token=TOKEN, clock=clock).start(port=0)
    lake = tmp_path / "lake"
    snapshot = tmp_path / "published" / "current.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    env.update(ACE_API_URL=server.url, ACE_API_KEY=TOKEN, LAKE_DIR=str(lake),
               WAREHOUSE_PATH=str(tmp_path / "wh.duckdb"),
               PUBLISHED_DIR=str(tmp_path / "published"),
               REPORT_PATH=str(tmp_path / "report" / "index.html"), EXTRACT_SETTLE="0s",
               EXTRACT_INITIAL_HISTORY="6h", EXTRACT_LOOKBACK="2h", EXTRACT_MAX_RPS="1000",
               EXTRACT_REPAIR_BACKOFF="10m", EXTRACT_REPAIR_HORIZON="8h")
    world.add_late_upload(site1, *LATE, delay=LATE_DELAY)
    reporting2 = sorted({p for p, _ in sample_set(
        world.truth(site2, T0 - timedelta(hours=6), T0), ("point", "ts"))})
    outage_point = reporting2[min(2, len(reporting2) - 1)]
    world.add_outage(site2, *OUTAGE, points=[outage_point])
    jobs: dict[timedelta, dict[str, Any]] = {}
    states: dict[timedelta, dict[str, Any]] = {}

    def run(offset: timedelta) -> None:
        now = T0 + offset
        clock.set(now)
        r = subprocess.run([sys.executable, "-m", "extract", "run", "--until", now.isoformat(),
                            "--no-report"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        newest = max((lake / "state" / "jobs").glob("*.json"))
        jobs[offset] = json.loads(newest.read_text())
        state_file = lake / "state" / "gap_repair" / f"{site1}.json"
        if state_file.exists():
            states[offset] = json.loads(state_file.read_text())

    try:
        run(timedelta(0))
        # the late hour is missing, and every point of site 1 has a gap across it
        late_truth = sample_set(world.truth(site1, *LATE), ("point", "ts"))
        assert late_truth
        landed = _query(snapshot, "select point, ts from timeseries where site = ? "
                        "and ts >= ? and ts < ?", [site1, *LATE])
        assert not landed
        gaps = _query(snapshot, "select point from point_gaps where site = ? and gap_start < ? "
                      "and gap_end > ?", [site1, LATE[0], LATE[1]])
        reporting = {p for p, _ in late_truth}
        assert {p for (p,) in gaps} == reporting

        for minutes in (30, 60, 90, 120, 150, 180, 210):
            run(timedelta(minutes=minutes))

        # the backoff: first seen at +30m, asked at +60m (+10m), +90m (+10m), +120m (+20m),
        # not at +150m (due +160m), again at +180m (the data is there since +165m)
        def late_entries(offset: timedelta) -> list[dict[str, Any]]:
            return [e for e in states[offset]["gaps"]
                    if datetime.fromisoformat(e["gap_start"]) < LATE[0]
                    and e["gap_end"] and datetime.fromisoformat(e["gap_end"]) > LATE[1]]

        expected = {30: (0, None), 60: (1, 60), 90: (2, 90), 120: (3, 120), 150: (3, 120)}
        for minutes, (attempts, last) in expected.items():
            entries = late_entries(timedelta(minutes=minutes))
            assert len(entries) == len(reporting), minutes
            for e in entries:
                assert e["attempts"] == attempts, (minutes, e)
                if last is not None:
                    last_at = T0 + timedelta(minutes=last)
                    assert datetime.fromisoformat(e["last_attempt"]) == last_at
                    wait = BACKOFF * 2 ** (attempts - 1)
                    assert datetime.fromisoformat(e["next_attempt"]) == last_at + wait
        assert late_entries(timedelta(minutes=210)) == []  # filled: no longer tracked

        # the +180m run landed the hour through the repair, and its summary says so
        assert jobs[timedelta(minutes=180)]["repair"]["landed"] == len(late_truth)
        assert jobs[timedelta(minutes=180)]["late_merged"] >= len(late_truth)
        assert jobs[timedelta(minutes=180)]["gaps_filled"] >= len(reporting)
        runs = {p.stem: json.loads(p.read_text()) for p in (lake / "state" / "runs").glob("*")}
        late_files = [f for f in lake.glob(f"raw/site={site1}/date=*/*.parquet")
                      if any(LATE[0] <= t < LATE[1]
                             for t in pq.read_table(f, columns=["ts"])["ts"].to_pylist())]
        assert late_files
        repaired = [f for f in late_files if runs[f.name.rsplit("-", 1)[0]]["command"] == "repair"]
        got_late = set()
        for f in repaired:
            t = pq.read_table(f, columns=["point", "ts"])
            got_late |= {(p, ts) for p, ts in zip(t["point"].to_pylist(), t["ts"].to_pylist(),
                                                  strict=True) if LATE[0] <= ts < LATE[1]}
        assert got_late == late_truth

        # the warehouse equals the truth: every sample of both sites, each once
        end = T0 + timedelta(minutes=210)
        for site in (site1, site2):
            want = sample_set(world.truth(site, T0 - timedelta(hours=6), end, end))
            got = set(_query(snapshot, "select point, ts, value_raw from timeseries "
                             "where site = ?", [site]))
            assert got == want, site

        # the outage was never filled: final once its end is older than the horizon
        final = _query(snapshot, "select status, attempts, final_at from gap_repairs "
                       "where site = ? and point = ?", [site2, outage_point])
        assert len(final) == 1
        status, attempts, final_at = final[0]
        outage_gap_end = _query(snapshot, "select gap_end from point_gaps where site = ? "
                                "and point = ? and gap_start < ? and gap_end >= ?",
                                [site2, outage_point, OUTAGE[0], OUTAGE[1]])[0][0]
        assert outage_gap_end + HORIZON < end
        assert status == "final" and attempts >= 3
        first_final = min(o for o in jobs if T0 + o > outage_gap_end + HORIZON)
        assert final_at == T0 + first_final
        assert sum(j["repair"]["finalized"] for j in jobs.values()) >= 1
        # a final gap is not asked again
        last_asked = [e for e in json.loads((lake / "state" / "gap_repair" /
                                             f"{site2}.json").read_text())["gaps"]
                      if e["point"] == outage_point]
        assert datetime.fromisoformat(last_asked[0]["last_attempt"]) < T0 + first_final
    finally:
        server.stop()
