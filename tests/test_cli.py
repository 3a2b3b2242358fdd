"""The command line for real: subprocesses against the stand-in on loopback."""

from __future__ import annotations

import csv
import os
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.landing.lake import Lake
from extract.standin import Fault, StandIn, World

from .conftest import T0, TOKEN, cli, landed_rows, sample_set

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent



@pytest.fixture
def env(tmp_path: Path, standin: StandIn) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e.update(ACE_API_URL=standin.url, ACE_API_KEY=TOKEN, LAKE_DIR=str(tmp_path / "lake"),
             EXTRACT_SETTLE="0s", EXTRACT_INITIAL_HISTORY="3h", EXTRACT_PAGE_SIZE="1000",
             EXTRACT_MAX_RPS="1000", EXTRACT_BACKOFF_BASE="0.01", EXTRACT_BACKOFF_MAX="0.05")
    return e


def all_text_under(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())


def test_help_is_complete() -> None:
    out = cli(["--help"], dict(os.environ)).stdout
    for cmd in ("sync", "backfill", "import", "simulate", "run", "demo"):
        assert cmd in out
    for var in ("ACE_API_URL", "ACE_API_KEY", "LAKE_DIR", "EXTRACT_LOOKBACK"):
        assert var in out
    for cmd, flags in {"sync": ["--until", "--site", "--lookback", "--initial-history"],
                       "backfill": ["--site", "--start", "--end", "--restart"],
                       "import": ["--site", "FILE"]}.items():
        sub = cli([cmd, "--help"], dict(os.environ)).stdout
        assert all(f in sub for f in flags), (cmd, sub)


def test_missing_configuration_is_one_clear_line(tmp_path: Path) -> None:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e["LAKE_DIR"] = str(tmp_path / "lake")
    r = cli(["sync"], e)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "ACE_API_URL" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli(["sync"], {**e, "ACE_API_URL": "http://127.0.0.1:9/api", "ACE_API_KEY": "x",
                       "EXTRACT_LOOKBACK": "two hours"})
    assert r.returncode == 2 and "EXTRACT_LOOKBACK" in r.stderr and "Traceback" not in r.stderr
    r = cli(["sync", "--until", "yesterday-ish"], e)
    assert r.returncode == 2 and "--until" in r.stderr


def test_sync_until_and_token_never_leaks(env: dict[str, str], world: World,
                                          standin: StandIn, tmp_path: Path) -> None:
    standin.faults.add(Fault("status", code=503, count=2))
    r = cli(["sync", "--until", T0.isoformat(), "--log-level", "debug"], env)
    assert r.returncode == 0, r.stderr
    lake = Path(env["LAKE_DIR"])
    for site in world.site_names:
        assert sample_set(landed_rows(lake, site)) == sample_set(
            world.truth(site, T0 - timedelta(hours=3), T0, T0))
    # a failing run too: the 401 path formats errors
    bad = cli(["sync", "--until", T0.isoformat()], {**env, "ACE_API_KEY": TOKEN + "-wrong"})
    assert bad.returncode == 1 and "401" in bad.stdout + bad.stderr
    for text in (r.stdout, r.stderr, bad.stdout, bad.stderr):
        assert TOKEN not in text
    assert TOKEN.encode() not in all_text_under(lake)


def test_second_sync_exits_at_once_while_the_lake_is_locked(env: dict[str, str]) -> None:
    lake = Lake(Path(env["LAKE_DIR"]))
    with lake.lock():
        r = cli(["sync", "--until", T0.isoformat()], env, timeout=30)
    assert r.returncode == 3
    assert "another extractor run holds" in r.stderr and "Traceback" not in r.stderr
    assert not (Path(env["LAKE_DIR"]) / "raw").exists()


def test_backfill_lands_history_and_is_idempotent(env: dict[str, str], world: World,
                                                  standin: StandIn) -> None:
    site = world.site_names[0]
    start, end = T0 - timedelta(days=3, hours=5), T0 - timedelta(days=1)
    args = ["backfill", "--site", site, "--start", start.isoformat(), "--end", end.isoformat()]
    r = cli(args, env)
    assert r.returncode == 0, r.stderr
    lake = Path(env["LAKE_DIR"])
    rows = landed_rows(lake, site)
    assert set(rows["source"].to_pylist()) == {"backfill"}
    assert sample_set(rows) == sample_set(world.truth(site, start, end, T0))
    # day chunks: exactly one file per UTC date (10-09 from 07:00, 10-10, 10-11 to 12:00)
    files = list(lake.glob(f"raw/site={site}/date=*/*.parquet"))
    assert sorted(p.parent.name for p in files) == [
        "date=2025-10-09", "date=2025-10-10", "date=2025-10-11"]
    files_before = sorted(lake.rglob("*.parquet"))
    again = cli(args, env)
    assert again.returncode == 0 and sorted(lake.rglob("*.parquet")) == files_before
    restarted = cli([*args, "--restart"], env)  # fetches everything again, lands nothing new
    assert restarted.returncode == 0, restarted.stderr
    assert "0 samples landed" in restarted.stdout
    assert landed_rows(lake, site).num_rows == rows.num_rows


def test_import_csv_and_parquet(env: dict[str, str], world: World, tmp_path: Path) -> None:
    lake = Path(env["LAKE_DIR"])
    site_y = world.site_names[1]  # --site must be a site the API lists
    csv_path = tmp_path / "export.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["site", "point", "time", "value"])
        w.writerow(["site_x", "ahu/1/temp", "2024-01-05T10:00:00", "71.5"])
        w.writerow(["site_x", "ahu/1/temp", "2024-01-05T10:01:00Z", "0"])
        w.writerow(["site_x", "ahu/1/temp", "2024-01-05 10:02:00+01:00", "NaN"])
        w.writerow(["site_x", "ahu/1/temp", "January 5th", "70"])  # line 5: bad time
        w.writerow(["site_x", "", "2024-01-05T10:03:00", "70"])  # line 6: no name
        w.writerow(["../evil", "p", "2024-01-05T10:03:00", "70"])  # line 7: bad site
    pq_path = tmp_path / "export.parquet"
    pq.write_table(pa.table({
        "name": ["pump/2/status", "pump/2/status"],
        "ts": pa.array([T0, T0 + timedelta(minutes=1)], pa.timestamp("us", tz="UTC")),
        "value": [1.0, 0.0],
    }), pq_path)
    r = cli(["import", str(csv_path), str(pq_path), "--site", site_y], env)
    assert r.returncode == 0, r.stderr
    x = landed_rows(lake, "site_x").to_pylist()
    assert sorted((row["point"], row["ts"].isoformat(), row["value"]) for row in x) == [
        ("ahu/1/temp", "2024-01-05T09:02:00+00:00", None),
        ("ahu/1/temp", "2024-01-05T10:00:00+00:00", 71.5),
        ("ahu/1/temp", "2024-01-05T10:01:00+00:00", 0.0),
    ]
    assert {row["source"] for row in x} == {"import"}
    y = landed_rows(lake, site_y).to_pylist()
    assert sorted((row["point"], row["ts"], row["value"]) for row in y) == [
        ("pump/2/status", T0, 1.0), ("pump/2/status", T0 + timedelta(minutes=1), 0.0)]
    q = [row for f in lake.glob("quarantine/*/*/*.parquet")
         for row in pq.read_table(f, partitioning=None).to_pylist()]
    assert sorted((row["origin"], row["reason"]) for row in q) == [
        ("export.csv:line 5", "unparseable time"),
        ("export.csv:line 6", "empty point name"),
        ("export.csv:line 7", "missing or invalid site"),
    ]
    assert not (lake / "raw" / "site=..").exists()
    # importing the same files again lands nothing new
    again = cli(["import", str(csv_path), str(pq_path), "--site", site_y], env)
    assert again.returncode == 0 and "0 samples landed" in again.stdout


def test_import_rejects_unusable_files_clearly(env: dict[str, str], world: World,
                                               tmp_path: Path) -> None:
    s = world.site_names[0]
    nocols = tmp_path / "x.csv"
    nocols.write_text("a,b\n1,2\n")
    r = cli(["import", str(nocols), "--site", s], env)
    assert r.returncode == 2 and "no point column" in r.stderr and "Traceback" not in r.stderr
    r = cli(["import", str(tmp_path / "missing.parquet"), "--site", s], env)
    assert r.returncode == 2 and "no such file" in r.stderr
    nosite = tmp_path / "y.csv"
    nosite.write_text("point,time,value\np,2024-01-01T00:00:00,1\n")
    r = cli(["import", str(nosite)], env)
    assert r.returncode == 2 and "--site" in r.stderr
