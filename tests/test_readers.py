"""Analysts and the schedule at the same time: readers never fail, runs never fail.

Several reader processes query the published warehouse in a loop (some reconnecting for
every query, one holding a session open throughout) while scheduled runs (sync, dbt build,
publish) land new data. Every read must match the (count, sum) of one committed run. The
runs after the first ``keep`` (3) publish by patching a retired snapshot (docs/publishing.md),
never the one the long session holds, and the snapshot equals the build's file table by table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from extract.standin import Clock, StandIn, World

from .conftest import T0, TOKEN
from .test_publish import differing_tables

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
RUNS = 3

READER = textwrap.dedent("""
    import duckdb, json, sys, time
    path, out, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    import os
    seen, errors = [], []
    con = duckdb.connect(path, read_only=True) if mode == "long" else None
    while not os.path.exists(stop):
        try:
            c = con or duckdb.connect(path, read_only=True)
            seen.append(list(c.execute(
                "select count(*), coalesce(sum(value), 0) from samples").fetchone()))
            if con is None:
                c.close()
        except Exception as e:  # recorded: the test asserts there were none
            errors.append(f"{type(e).__name__}: {e}")
        time.sleep(0.01)
    json.dump({"seen": seen, "errors": errors}, open(out, "w"))
""")


def state(path: Path) -> list[float]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return list(con.execute(
            "select count(*), coalesce(sum(value), 0) from samples").fetchone())
    finally:
        con.close()


def test_readers_and_scheduled_runs_never_block_each_other(tmp_path: Path) -> None:
    world = World(seed=3, sites=2, points_per_site=10)
    clock = Clock(now=T0)
    server = StandIn(world, token=TOKEN, clock=clock).start(port=0)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    env.update(ACE_API_URL=server.url, ACE_API_KEY=TOKEN, LAKE_DIR=str(tmp_path / "lake"),
               WAREHOUSE_PATH=str(tmp_path / "wh.duckdb"),
               PUBLISHED_DIR=str(tmp_path / "published"), EXTRACT_SETTLE="0s",
               REPORT_PATH=str(tmp_path / "report" / "index.html"),
               EXTRACT_INITIAL_HISTORY="6h", EXTRACT_MAX_RPS="1000")
    current = tmp_path / "published" / "current.duckdb"
    committed: list[list[float]] = []
    readers: list[tuple[subprocess.Popen[bytes], Path]] = []
    stop = tmp_path / "stop"
    try:
        def run(until_offset: timedelta) -> None:
            clock.set(T0 + until_offset)
            r = subprocess.run([sys.executable, "-m", "extract", "run", "--until",
                                (T0 + until_offset).isoformat()], cwd=REPO, env=env,
                               capture_output=True, text=True, timeout=600)
            assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
            committed.append(state(current))

        run(timedelta(0))  # something to read before the readers start
        for i, mode in enumerate(["short", "short", "long"]):
            out = tmp_path / f"reader{i}.json"
            readers.append((subprocess.Popen(
                [sys.executable, "-c", READER, str(current), str(out), mode, str(stop)]), out))
        time.sleep(1.0)
        for k in range(1, RUNS + 1):
            run(timedelta(minutes=20 * k))
            time.sleep(0.5)
    finally:
        stop.touch()
        for proc, _ in readers:
            proc.wait(timeout=60)
        server.stop()
    # the last run patched a retired snapshot, not the one the long session held, and the
    # result is the build's file exactly
    con = duckdb.connect(str(current), read_only=True)
    try:
        assert con.execute("select mode from _publish.state").fetchone() == ("patch",)
    finally:
        con.close()
    assert differing_tables(tmp_path / "wh.duckdb", current.resolve()) == []
    held = json.loads((tmp_path / "reader2.json").read_text())["seen"]
    assert {tuple(s) for s in held} == {tuple(committed[0])}  # its snapshot never changed
    valid = {tuple(c) for c in committed}
    assert len(valid) == RUNS + 1  # every run committed a new state
    for proc, out in readers:
        assert proc.returncode == 0
        doc = json.loads(out.read_text())
        assert doc["errors"] == []
        assert doc["seen"], "the reader never got an answer"
        assert {tuple(s) for s in doc["seen"]} <= valid
    short_seen = {tuple(s) for _, out in readers[:2] for s in json.loads(out.read_text())["seen"]}
    assert len(short_seen) >= 2  # reconnecting readers saw the runs land
    # the snapshot is a different file name (another catalog name): every view must still
    # resolve, and the analysts' macros must work in it
    con = duckdb.connect(str(current), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main'").fetchall()]
        assert {"samples", "timeseries", "samples_1h", "quarantined_samples"} <= set(names)
        for name in names:
            con.execute(f'select count(*) from "{name}"').fetchall()
        site, point = con.execute("select site, point from samples limit 1").fetchone()
        assert con.execute("select count(*) from series(?, ?, ?, ?)", [
            site, point, T0 - timedelta(hours=6), T0 + timedelta(hours=1)]).fetchone()[0] > 0
    finally:
        con.close()
