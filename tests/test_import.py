"""``python -m extract import`` for real: subprocesses over real files, each case alone.

Every good row lands; what cannot be used is quarantined per row, as received, with the
reason; a file that cannot be read is reported and the others land.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.core.schema import WINNER_ORDER

from .conftest import cli, landed_rows

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
HEADER = "site,point,time,value\n"



@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ACE_", "EXTRACT_"))}
    e["LAKE_DIR"] = str(tmp_path / "lake")
    return e


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def landed(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(point, ts as ISO text, value_raw) of every landed row, sorted."""
    rows = landed_rows(Path(env["LAKE_DIR"])).to_pylist()
    return sorted((r["point"], r["ts"].astimezone(UTC).isoformat(), r["value_raw"])
                  for r in rows)


def quarantined(env: dict[str, str]) -> list[dict[str, object]]:
    files = sorted(Path(env["LAKE_DIR"]).glob("quarantine/*/*/*.parquet"))
    rows = [r for f in files for r in pq.read_table(f, partitioning=None).to_pylist()]
    return sorted(rows, key=lambda r: str(r["origin"]))


def run_summaries(env: dict[str, str]) -> list[dict[str, object]]:
    runs = sorted((Path(env["LAKE_DIR"]) / "state" / "runs").glob("*.json"))
    return [json.loads(p.read_text()) for p in runs]


def test_a_row_dated_9999_is_quarantined_and_the_rest_land(
        env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "far.csv", HEADER + "s1,p,2026-05-01T00:00:00Z,1\n"
              "s1,p,9999-12-31T00:00:00Z,2\ns1,p,2026-05-01T00:01:00Z,3\n")
    r = cli(["import", str(f)], env)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "OverflowError" not in r.stderr
    assert landed(env) == [("p", "2026-05-01T00:00:00+00:00", "1"),
                           ("p", "2026-05-01T00:01:00+00:00", "3")]
    q = quarantined(env)
    assert [(x["time_raw"], x["origin"]) for x in q] == [
        ("9999-12-31T00:00:00Z", "far.csv:line 3")]
    assert "EXTRACT_IMPORT_AHEAD" in str(q[0]["reason"])


def test_implausible_times_are_quarantined_and_the_import_is_quick(
        env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "old.csv", HEADER + "s1,p,2026-05-01T00:00:00Z,1\n"
              "s1,p,0001-01-01T00:00:00Z,2\ns1,p,2099-01-01T00:00:00Z,3\n"
              "s1,p,1999-12-31T23:59:59Z,4\n")
    r = cli(["import", str(f)], env)
    assert r.returncode == 0, r.stderr
    assert landed(env) == [("p", "2026-05-01T00:00:00+00:00", "1")]
    reasons = {x["time_raw"]: str(x["reason"]) for x in quarantined(env)}
    assert set(reasons) == {"0001-01-01T00:00:00Z", "2099-01-01T00:00:00Z",
                            "1999-12-31T23:59:59Z"}
    assert "EXTRACT_IMPORT_EARLIEST" in reasons["0001-01-01T00:00:00Z"]
    assert "EXTRACT_IMPORT_AHEAD" in reasons["2099-01-01T00:00:00Z"]
    lake = Path(env["LAKE_DIR"])
    assert [p.name for p in (lake / "raw" / "site=s1").iterdir()] == ["date=2026-05-01"]
    # it was 10.8 s (every date partition from year 1 was looked for); the run's own time
    # is well under a second here, with room for a busy machine
    (run,) = run_summaries(env)
    took = (datetime.fromisoformat(str(run["finished_at"]))
            - datetime.fromisoformat(str(run["started_at"]))).total_seconds()
    assert took < 2.0, took


def test_the_plausible_range_is_configurable(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "r.csv", HEADER + "s1,p,1990-06-01T00:00:00Z,1\n"
              "s1,p,2026-05-01T00:00:00Z,2\n")
    r = cli(["import", str(f)], {**env, "EXTRACT_IMPORT_EARLIEST": "1980-01-01T00:00:00Z",
                                 "EXTRACT_IMPORT_AHEAD": "2h"})
    assert r.returncode == 0, r.stderr
    assert [v for _, _, v in landed(env)] == ["1", "2"]
    for name, value in (("EXTRACT_IMPORT_EARLIEST", "last year"),
                        ("EXTRACT_IMPORT_EARLIEST", "2999-01-01T00:00:00Z"),
                        ("EXTRACT_IMPORT_AHEAD", "100000d")):
        bad = cli(["import", str(f)], {**env, name: value})
        assert bad.returncode == 2 and name in bad.stderr, (name, value, bad.stderr)
        assert "Traceback" not in bad.stderr


def test_naive_times_are_utc_unless_a_timezone_is_given(
        env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "local.csv", HEADER + "s1,summer,2026-07-01 12:00:00,1\n"
              "s1,winter,2026-01-15T12:00:00,2\ns1,zulu,2026-07-01T12:00:00Z,3\n"
              "s1,fallback,2026-11-01 01:30:00,4\ns1,gap,2026-03-08 02:30,5\n")
    r = cli(["import", str(f), "--timezone", "America/New_York"], env)
    assert r.returncode == 0, r.stderr
    assert landed(env) == [("summer", "2026-07-01T16:00:00+00:00", "1"),
                           ("winter", "2026-01-15T17:00:00+00:00", "2"),
                           ("zulu", "2026-07-01T12:00:00+00:00", "3")]
    reasons = {x["point"]: str(x["reason"]) for x in quarantined(env)}
    assert reasons.keys() == {"fallback", "gap"}
    assert reasons["fallback"].startswith("ambiguous local time in America/New_York")
    assert reasons["gap"].startswith("nonexistent local time in America/New_York")
    # without the flag the same naive texts are UTC, as documented
    utc_env = {**env, "LAKE_DIR": str(tmp_path / "lake-utc")}
    assert cli(["import", str(f)], utc_env).returncode == 0
    assert ("summer", "2026-07-01T12:00:00+00:00", "1") in landed(utc_env)
    assert len(landed(utc_env)) == 5
    wrong = cli(["import", str(f), "--timezone", "America/Nowhere"], env)
    assert wrong.returncode == 2 and "--timezone" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_a_zone_named_in_the_text_is_honoured_and_never_guessed(
        env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "zoned.csv", HEADER + "s1,a,2026-11-01 01:30:00 America/New_York,1\n"
              "s1,b,2026-03-08 02:30 America/New_York,2\n"
              "s1,c,2026-07-01 12:00:00 America/New_York,3\n"
              "s1,d,2026-07-01 12:00:00 Mars/Olympus_Mons,4\n")
    r = cli(["import", str(f)], env)
    assert r.returncode == 0, r.stderr
    assert landed(env) == [("c", "2026-07-01T16:00:00+00:00", "3")]
    q = {x["point"]: (x["time_raw"], str(x["reason"])) for x in quarantined(env)}
    assert q["a"] == ("2026-11-01 01:30:00 America/New_York",
                      "ambiguous local time in America/New_York (clocks set back: "
                      "it happened twice)")
    assert q["b"][1].startswith("nonexistent local time in America/New_York")
    assert "unknown time zone" in q["d"][1]


def test_ragged_rows_are_quarantined_as_received(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "ragged.csv", HEADER + "s1,p,2026-05-01T00:00:00Z,1\n"
              "s1,p,2026-05-01T00:01:00Z,2,surplus\ns1,p,2026-05-01T00:02:00Z\n"
              "s1,p,2026-05-01T00:03:00Z,4\n")
    r = cli(["import", str(f), "--site", "s1"], env)
    assert r.returncode == 0, r.stderr
    assert [v for _, _, v in landed(env)] == ["1", "4"]
    q = quarantined(env)
    assert [(x["origin"], x["value_raw"], x["reason"]) for x in q] == [
        ("ragged.csv:line 3", "s1,p,2026-05-01T00:01:00Z,2,surplus",
         "ragged row: 5 fields where the header has 4"),
        ("ragged.csv:line 4", "s1,p,2026-05-01T00:02:00Z",
         "ragged row: 3 fields where the header has 4"),
    ]
    assert {x["site"] for x in q} == {"s1"}


def test_one_bad_utf8_byte_quarantines_one_row(env: dict[str, str], tmp_path: Path) -> None:
    f = write(tmp_path / "bytes.csv", HEADER.encode() + b"s1,p,2026-05-01T00:00:00Z,1\n"
              b"s1,p\xff,2026-05-01T00:01:00Z,2\ns1,p,2026-05-01T00:02:00Z,3\n")
    r = cli(["import", str(f)], env)
    assert r.returncode == 0, r.stderr
    assert [v for _, _, v in landed(env)] == ["1", "3"]
    (q,) = quarantined(env)
    assert q["origin"] == "bytes.csv:line 3"
    assert q["value_raw"] == "s1,p\\xff,2026-05-01T00:01:00Z,2"
    assert "not UTF-8" in str(q["reason"])


def test_each_file_is_independent_with_one_run_summary(
        env: dict[str, str], tmp_path: Path) -> None:
    good1 = write(tmp_path / "good1.csv", HEADER + "s1,a,2026-05-01T00:00:00Z,1\n")
    junk = write(tmp_path / "junk.parquet", os.urandom(3000))
    good2 = write(tmp_path / "good2.csv", HEADER + "s1,b,2026-05-01T00:00:00Z,2\n")
    r = cli(["import", str(good1), str(junk), str(good2)], env)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    (line,) = [x for x in r.stderr.splitlines() if "junk.parquet" in x]
    assert "not imported: cannot be read" in line
    assert [p for p, _, _ in landed(env)] == ["a", "b"]
    (run,) = run_summaries(env)
    assert run["command"] == "import" and run["ok"] is False
    files = {Path(str(x["path"])).name: x for x in run["files"]}  # type: ignore[attr-defined]
    assert files["good1.csv"]["ok"] and files["good2.csv"]["ok"]
    assert not files["junk.parquet"]["ok"] and "cannot be read" in files["junk.parquet"]["error"]
    assert "junk.parquet" in str(run["error"])


def test_the_later_row_of_a_key_wins(env: dict[str, str], tmp_path: Path) -> None:
    # same key three times: the texts differ, the last one ("10" < "9" as text) must win
    f = write(tmp_path / "dup.csv", HEADER + "s1,k,2026-05-01T00:00:00Z,9\n"
              "s1,k,2026-05-01T00:00:00Z,95\ns1,k,2026-05-01 00:00:00,10\n")
    first = write(tmp_path / "first.csv", HEADER + "s1,m,2026-05-01T00:00:00Z,9\n")
    later = write(tmp_path / "later.csv", HEADER + "s1,m,2026-05-01T00:00:00Z,10\n")
    r = cli(["import", str(f), str(first), str(later)], env)
    assert r.returncode == 0, r.stderr
    lake = Path(env["LAKE_DIR"])
    rows = landed_rows(lake)
    k = [v for p, v in zip(rows["point"].to_pylist(), rows["value_raw"].to_pylist(),
                           strict=True) if p == "k"]
    assert k == ["10"]  # only the winner of the file lands
    # across files of one command, the warehouse's winner rule picks the later file
    con = duckdb.connect()
    con.register("raw", pa.Table.from_pylist(rows.to_pylist(), schema=rows.schema))
    won = con.execute(f"""
        select point, value_raw from raw
        qualify row_number() over (partition by site, point, ts order by {WINNER_ORDER}) = 1
        order by point""").fetchall()
    assert won == [("k", "10"), ("m", "10")]
