"""``python -m extract sql`` end to end: a DuckDB file is published as the analysts' snapshot
and the real CLI runs as a subprocess, with ``-c`` and with statements on stdin."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from extract.ops.sqlshell import split_statements
from extract.warehouse.publish import publish

REPO = Path(__file__).resolve().parent.parent
LONG = "average_supply_air_temperature_of_the_whole_building_over_the_hour_" + "x" * 30
SITES = {"acme_hq": 3, "ses_falls_city": 2, "lab": 1}


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("sqlshell")
    wh = root / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create table samples_1h (site varchar, point varchar, n bigint)")
    for site, k in SITES.items():
        for i in range(k):
            con.execute("insert into samples_1h values (?, ?, ?)", [site, f"p{i}", 10 * (i + 1)])
    con.execute(f"create view wide as select site, n as {LONG}, "
                f"'{'v' * 90}' as long_value from samples_1h")
    con.close()
    publish(wh, "20251116T000000Z-test", root / "published")
    yield root / "published"


def sql(published: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUBLISHED_DIR": str(published)}
    return subprocess.run([sys.executable, "-m", "extract", "sql", *args], cwd=REPO, env=env,
                          input=stdin if stdin is not None else "", capture_output=True,
                          text=True, timeout=120)


def test_pivot_prints_its_result(published: Path) -> None:
    r = sql(published, "--format", "csv", "-c",
            "pivot (select site, n from samples_1h) on site using sum(n) order by all")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    totals = {s: sum(10 * (i + 1) for i in range(k)) for s, k in SITES.items()}
    assert rows == [{s: str(v) for s, v in sorted(totals.items())}]


def test_mode_csv_then_a_statement_on_stdin(published: Path) -> None:
    script = (".mode csv\nselect site, count(*) as points from samples_1h\n"
              "group by site order by site;\nselect 'a;b' as x; -- a comment; not a statement\n")
    r = sql(published, stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "site,points", "acme_hq,3", "lab,1", "ses_falls_city,2", "x", "a;b"]


def test_each_format(published: Path) -> None:
    q = "select site, n from samples_1h where point = 'p0' order by site"
    want = [(s, 10) for s in sorted(SITES)]
    out = {f: sql(published, "--format", f, "-c", q) for f in ("table", "csv", "json",
                                                              "markdown")}
    assert all(r.returncode == 0 for r in out.values()), {f: r.stderr for f, r in out.items()}
    assert json.loads(out["json"].stdout) == [{"site": s, "n": n} for s, n in want]
    assert [tuple(r) for r in csv.reader(io.StringIO(out["csv"].stdout))] == [
        ("site", "n"), *((s, str(n)) for s, n in want)]
    md = out["markdown"].stdout.splitlines()
    assert md[:2] == ["| site | n |", "|---|---:|"]
    assert md[2:] == [f"| {s} | {n} |" for s, n in want]
    table = out["table"].stdout.splitlines()
    assert table[0].split() == ["site", "|", "n"] and table[-1] == "(3 rows)"
    assert [line.split() for line in table[2:-1]] == [[s, "|", str(n)] for s, n in want]
    # .mode switches within one session
    r = sql(published, stdin=f".mode json\n{q};\n.mode markdown\n{q};\n")
    assert r.stdout.startswith("[") and "| site | n |" in r.stdout


def test_long_names_and_values_are_not_cut(published: Path) -> None:
    r = sql(published, "-c", "select * from wide order by site limit 1")
    assert r.returncode == 0, r.stderr
    assert LONG in r.stdout.splitlines()[0] and "v" * 90 in r.stdout


def test_max_rows_and_errors(published: Path) -> None:
    r = sql(published, "--max-rows", "2", "-c", "select * from samples_1h")
    assert r.stdout.splitlines()[-1] == "(6 rows, 2 shown (.maxrows or --max-rows))"
    # an error is reported, the next statement still runs, the exit status says so
    r = sql(published, stdin="select * from nowhere;\nselect 42 as answer;\n.nonsense\n")
    assert r.returncode == 1
    assert "nowhere" in r.stderr and ".nonsense" in r.stderr and "42" in r.stdout
    # the snapshot is read-only
    r = sql(published, "-c", "create table t (a int)")
    assert r.returncode == 1 and "read-only" in r.stderr


def test_split_statements() -> None:
    text = "select ';' as a; select $$x;y$$; /* ; */ select \"a;\"\"b\" from t; select 1 -- ;\n"
    done, rest = split_statements(text)
    assert done == ["select ';' as a", "select $$x;y$$", '/* ; */ select "a;""b" from t']
    assert rest.strip() == "select 1 -- ;"
