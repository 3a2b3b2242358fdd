"""Publishing by patching a retired snapshot (extract/warehouse/publish.py, snapdiff.py).

Real DuckDB files throughout: a warehouse with tables of several row groups, a view, a
scalar macro and a table macro with a default argument is published, changed the ways a
build changes it (rows replaced, rows appended, rows deleted without replacement, a small
table rewritten, the view and macros replaced), and published again. The new snapshot must
equal the warehouse table by table, have been made by patching (not copying), and have
written only the changed rows; a reader process holding a snapshot keeps it unchanged; a
publish killed with SIGKILL leaves ``current`` readable and the next one repairs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from extract.warehouse.publish import Published, current_snapshot, publish, snapshots

REPO = Path(__file__).resolve().parent.parent
POINTS = 50
MINUTES = 6 * 1440  # 6 days of 1-minute samples: 432,000 rows, 4 row groups


def differing_tables(a: Path, b: Path) -> list[str]:
    """The tables of schema ``main`` whose rows differ between two DuckDB files (as
    multisets: count and a sum of row hashes), or that only one of them has."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")

        def names(db: str) -> set[str]:
            return {r[0] for r in con.execute(
                "select table_name from duckdb_tables() where database_name = ? "
                "and schema_name = 'main'", [db]).fetchall()}

        out = sorted(names("a") ^ names("b"))
        for t in sorted(names("a") & names("b")):
            cols = ", ".join(f'"{r[0]}"' for r in con.execute(
                "select column_name from duckdb_columns() where database_name = 'a' "
                "and schema_name = 'main' and table_name = ? order by column_index",
                [t]).fetchall())
            sums = [con.execute(f'select count(*), sum(hash({cols})) from {db}.main."{t}"'
                                ).fetchone() for db in ("a", "b")]
            if sums[0] != sums[1]:
                out.append(t)
        return out
    finally:
        con.close()


def make_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"""
        create table samples as
        select 'site_a' as site, 'p' || lpad((p % {POINTS})::varchar, 3, '0') as point,
               timestamptz '2026-01-01 00:00:00+00' + to_minutes(m) as ts,
               (p % 7) + m / 1000.0 as value
        from range({MINUTES}) u(m), range({POINTS}) t(p) order by m, p""")
    con.execute("""
        create table samples_1h as
        select site, point, time_bucket(interval 1 hour, ts) as bucket_start,
               count(*) as n, avg(value) as avg
        from samples group by all order by bucket_start, point""")
    con.execute("create table points as select distinct site, point, 60 as interval_s "
                "from samples order by point")
    con.execute("create view latest as select * from samples where ts > "
                "timestamptz '2026-01-06 00:00:00+00'")
    con.execute("create view latest_points as select distinct point from latest")
    con.execute("create macro cutoff() as timestamptz '2026-01-02 00:00:00+00'")
    con.execute("create macro series(p, n := 3) as table "
                "select * from samples_1h where point = p order by bucket_start limit n")
    con.close()


def change_like_a_build(path: Path) -> int:
    """Replace, append and delete rows, rewrite the small table, replace the view and
    macros; returns how many rows changed."""
    con = duckdb.connect(str(path))
    con.execute("set TimeZone = 'UTC'")
    # late data for one point's day: its rows are replaced (delete + insert on the key)
    con.execute("create temp table late as select site, point, ts, value + 0.25 as value "
                "from samples where point = 'p007' and ts >= timestamptz '2026-01-03 00:00:00+00' "
                "and ts < timestamptz '2026-01-04 00:00:00+00'")
    con.execute("delete from samples using late where samples.site = late.site "
                "and samples.point = late.point and samples.ts = late.ts")
    con.execute("insert into samples select * from late")
    # the next 5 minutes, and their hourly buckets recomputed
    con.execute(f"""
        insert into samples
        select 'site_a', 'p' || lpad(p::varchar, 3, '0'),
               timestamptz '2026-01-01 00:00:00+00' + to_minutes({MINUTES} + m), p + 0.5
        from range(5) u(m), range({POINTS}) t(p)""")
    con.execute("delete from samples_1h where bucket_start >= timestamptz '2026-01-07 00:00:00+00'"
                " or (point = 'p007' and bucket_start >= timestamptz '2026-01-03 00:00:00+00' "
                "and bucket_start < timestamptz '2026-01-04 00:00:00+00')")
    con.execute("""
        insert into samples_1h
        select site, point, time_bucket(interval 1 hour, ts), count(*), avg(value)
        from samples where ts >= timestamptz '2026-01-07 00:00:00+00'
            or (point = 'p007' and ts >= timestamptz '2026-01-03 00:00:00+00'
                and ts < timestamptz '2026-01-04 00:00:00+00')
        group by all""")
    # rows deleted without replacement (as the cold-tier move deletes the oldest day)
    con.execute("delete from samples where ts < timestamptz '2026-01-01 06:00:00+00'")
    con.execute("update points set interval_s = 30 where point = 'p001'")
    con.execute("create or replace view latest as select * from samples where ts > "
                "timestamptz '2026-01-06 12:00:00+00'")
    con.execute("create or replace macro cutoff() as timestamptz '2026-01-03 00:00:00+00'")
    con.execute("create or replace macro series(p, n := 2) as table "
                "select * from samples_1h where point = p order by bucket_start desc limit n")
    con.execute("checkpoint")
    con.close()
    return 1440 + 5 * POINTS + 6 * 60 * POINTS + 1


def published_pool(tmp_path: Path) -> tuple[Path, Path, list[Published]]:
    """A warehouse and three published snapshots of it (the pool a patch needs)."""
    wh = tmp_path / "warehouse.duckdb"
    make_warehouse(wh)
    pub = tmp_path / "published"
    made = [publish(wh, f"2026010{i}T000000.000000Z-test{i}", pub) for i in range(1, 4)]
    return wh, pub, made


def test_a_patched_snapshot_equals_the_warehouse_and_writes_only_the_changes(
        tmp_path: Path) -> None:
    wh, pub, made = published_pool(tmp_path)
    assert [p.mode for p in made] == ["copy"] * 3  # the pool is built first
    inode = {p.path.stat().st_ino: p.path for p in made}
    changed = change_like_a_build(wh)
    out = publish(wh, "20260104T000000.000000Z-test4", pub)
    assert out.mode == "patch"
    assert out.patched_from == made[1].path  # the newest retired one, not current
    assert inode[out.path.stat().st_ino] == made[1].path  # the same file, patched in place
    assert current_snapshot(pub).resolve() == out.path
    assert differing_tables(wh, out.path) == []
    con = duckdb.connect(str(wh), read_only=True)
    total = con.execute("select (select count(*) from samples) + "
                        "(select count(*) from samples_1h)").fetchone()[0]
    con.close()
    assert out.rows_written <= changed + 2 * POINTS  # not the history
    assert out.rows_written < 0.05 * total
    assert {"main.samples", "main.samples_1h", "main.points"} <= set(out.tables_changed)
    reader = duckdb.connect(str(current_snapshot(pub)), read_only=True)
    try:
        # the new view and macros, the default argument included
        assert reader.execute("select min(ts) > timestamptz '2026-01-06 12:00:00+00' "
                              "from latest").fetchone() == (True,)
        # a view on a view still resolves after the replay
        assert reader.execute("select count(*) from latest_points").fetchone() == (POINTS,)
        assert reader.execute("select cutoff() = timestamptz '2026-01-03 00:00:00+00'"
                              ).fetchone() == (True,)
        rows = reader.execute("select bucket_start from series('p003')").fetchall()
        assert len(rows) == 2 and rows[0] > rows[1]
        assert reader.execute("select count(*) from _publish.state where mode = 'patch'"
                              ).fetchone() == (1,)
    finally:
        reader.close()
    # nothing changed since: the retired snapshot from before the change catches up, and
    # then one that is already up to date gets no rows at all
    again = publish(wh, "20260104T000500.000000Z-test5", pub)
    assert again.mode == "patch" and 0 < again.rows_written <= out.rows_written
    third = publish(wh, "20260104T001000.000000Z-test6", pub)
    assert third.mode == "patch" and third.patched_from == out.path
    assert third.rows_written == 0
    assert differing_tables(wh, third.path) == []
    assert len(snapshots(pub)) == 3


HOLDER = textwrap.dedent("""
    import duckdb, json, os, sys, time
    path, out, ready, stop = sys.argv[1:5]
    con = duckdb.connect(path, read_only=True)
    seen, errors = [], []
    open(ready, "w").close()
    while not os.path.exists(stop):
        try:
            seen.append(list(con.execute(
                "select count(*), sum(hash(point, ts, value))::varchar, "
                "(select count(*) from samples_1h) "
                "from samples").fetchone()))
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        time.sleep(0.01)
    json.dump({"seen": seen, "errors": errors}, open(out, "w"))
""")


def wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the child process ended early"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_snapshot_a_reader_holds_is_never_patched(tmp_path: Path) -> None:
    wh, pub, made = published_pool(tmp_path)
    held = made[1].path  # the one the next publish would patch
    out_file, ready, stop = tmp_path / "held.json", tmp_path / "ready", tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(held), str(out_file),
                             str(ready), str(stop)])
    try:
        wait_for(ready, proc)
        before = held.stat().st_mtime_ns
        change_like_a_build(wh)
        out = publish(wh, "20260104T000000.000000Z-test4", pub)
        time.sleep(0.3)
    finally:
        stop.touch()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert out.mode == "patch" and out.patched_from == made[0].path  # the spare
    assert held.exists() and held.stat().st_mtime_ns == before
    assert differing_tables(wh, out.path) == []
    doc = json.loads(out_file.read_text())
    assert doc["errors"] == [] and doc["seen"]
    assert len({tuple(s) for s in doc["seen"]}) == 1  # it kept its snapshot, unchanged


KILLED = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from extract.warehouse import publish as pub_mod, snapdiff
    wh, directory, ready = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    write_state = snapdiff.write_state
    def stall(*args, **kwargs):  # the rows are patched; the transaction is still open
        write_state(*args, **kwargs)
        ready.touch()
        time.sleep(600)
    snapdiff.write_state = stall
    pub_mod.publish(wh, "20260104T000000.000000Z-killed", directory)
""")


def test_a_publish_killed_mid_patch_leaves_current_readable_and_the_next_repairs(
        tmp_path: Path) -> None:
    wh, pub, made = published_pool(tmp_path)
    before = differing_tables(wh, current_snapshot(pub).resolve())
    assert before == []
    expected_old = duckdb.connect(str(made[2].path), read_only=True).execute(
        "select count(*), sum(hash(point, ts, value)) from samples").fetchone()
    change_like_a_build(wh)
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(wh), str(pub), str(ready)],
                            cwd=REPO)
    try:
        wait_for(ready, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    leftovers = sorted(p.name for p in pub.iterdir() if p.name.startswith("."))
    assert leftovers and leftovers[0].endswith(".tmp")
    reader = duckdb.connect(str(current_snapshot(pub)), read_only=True)
    try:  # analysts still have the last complete snapshot
        assert reader.execute("select count(*), sum(hash(point, ts, value)) from samples"
                              ).fetchone() == expected_old
    finally:
        reader.close()
    # the half-patched file is removed (a pool member fewer), so the repair is a full copy
    out = publish(wh, "20260104T000500.000000Z-next", pub)
    assert out.mode == "copy"
    assert not [p for p in pub.iterdir() if p.name.startswith(".warehouse-")]
    assert differing_tables(wh, out.path) == []
    assert len(snapshots(pub)) == 3
    after = publish(wh, "20260104T001000.000000Z-after", pub)
    assert after.mode == "patch" and differing_tables(wh, after.path) == []


@pytest.mark.parametrize("change", ["column", "table"])
def test_a_changed_table_shape_makes_a_full_copy(tmp_path: Path, change: str) -> None:
    wh, pub, _ = published_pool(tmp_path)
    con = duckdb.connect(str(wh))
    con.execute("alter table points add column tag varchar" if change == "column"
                else "create table extra as select 1 as x")
    con.close()
    out = publish(wh, "20260104T000000.000000Z-test4", pub)
    assert out.mode == "copy"
    assert differing_tables(wh, out.path) == []


def test_a_deletion_hidden_by_an_insertion_is_not_kept(tmp_path: Path) -> None:
    """A late sample fills one point's gap (its row goes, nothing replaces it) while another
    point's new gap is added, in one build: the row count is unchanged, but the patched
    snapshot must not keep the filled gap; nor rows the tier move deleted while as many new
    ones were appended."""
    wh, pub, _made = published_pool(tmp_path)
    con = duckdb.connect(str(wh))
    con.execute("set TimeZone = 'UTC'")
    con.execute("""
        create table point_gaps as
        select 'site_a' as site, 'p' || lpad(p::varchar, 3, '0') as point,
               timestamptz '2026-01-01 00:00:00+00' + to_minutes(g * 37) as gap_start,
               timestamptz '2026-01-01 00:00:00+00' + to_minutes(g * 37 + 9) as gap_end
        from range(3000) u(g), range(50) t(p) order by gap_start, point""")
    con.close()
    for i in (4, 5, 6):  # the pool learns the new table (a shape change is a full copy)
        publish(wh, f"2026010{i}T000000.000000Z-gaps{i}", pub)
    con = duckdb.connect(str(wh))
    con.execute("set TimeZone = 'UTC'")
    con.execute("delete from point_gaps where point = 'p003' "
                "and gap_start = timestamptz '2026-01-01 00:00:00+00' + to_minutes(37 * 10)")
    con.execute("insert into point_gaps values ('site_a', 'p009', "
                "timestamptz '2026-03-01 00:00:00+00', timestamptz '2026-03-01 00:30:00+00')")
    # the tier move deletes the oldest hour while a build appends as many rows
    moved = con.execute("select count(*) from samples where ts < "
                        "timestamptz '2026-01-01 01:00:00+00'").fetchone()[0]
    con.execute("delete from samples where ts < timestamptz '2026-01-01 01:00:00+00'")
    con.execute(f"""
        insert into samples
        select 'site_a', 'p' || lpad((n % {POINTS})::varchar, 3, '0'),
               timestamptz '2026-02-01 00:00:00+00' + to_minutes(n // {POINTS}), 1.0
        from range({moved}) t(n)""")
    con.execute("checkpoint")
    con.close()
    got = publish(wh, "20260107T000000.000000Z-gaps7", pub)
    assert got.mode == "patch", got
    assert differing_tables(wh, got.path) == []
