"""The static dbt docs site (`make docs`) renders the marts, their columns and the lineage.

A small warehouse is built with dbt, `dbt docs generate --static` writes
``static_index.html`` into a temporary target path (the catalog then has the real column
types), and headless Chromium runs the page's JavaScript. The assertions read the rendered
DOM (scripts excluded), so they fail if the site shows no model, no column or no lineage.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.browser import Node, dump_dom, parse_html
from tests.warehouse import truth
from tests.warehouse.common import dbt_vars
from tests.warehouse.harness import REPO, DbtFailed, build, release_duckdb
from tests.warehouse.ladder import NAMES
from tests.warehouse.landing import US, Lake, PointMeta, us

pytestmark = pytest.mark.slow

PACKAGE = "ace_warehouse"
MARTS = ("samples", *NAMES, "point_gaps", "data_quality_daily", "timeseries", "points", "sites")
MODEL = f"model.{PACKAGE}.samples_5min"
AS_OF = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)


def _docs_generate(warehouse: Path, lake: Path, vars: dict[str, Any], target: Path) -> Path:
    """``dbt docs generate --static`` in-process, as `make docs` runs it; the page's path."""
    from dbt.cli.main import dbtRunner

    args = ["docs", "generate", "--static", "--project-dir", "dbt_project", "--profiles-dir",
            ".", "--vars", json.dumps(vars, sort_keys=True), "--target-path", str(target),
            "--log-path", str(target / "logs"), "--log-level-file", "none"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WAREHOUSE_PATH", str(warehouse))
        mp.setenv("LAKE_DIR", str(lake))
        mp.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
        mp.chdir(REPO)
        try:
            result = dbtRunner().invoke(args)
        finally:
            release_duckdb()
    if not result.success:
        raise DbtFailed(f"dbt docs generate failed: {result.exception!r}")
    page = target / "static_index.html"
    assert page.is_file(), f"dbt docs generate --static wrote no {page}"
    return page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Node]:
    """(warehouse, target path, rendered DOM of the samples_5min page)."""
    root = tmp_path_factory.mktemp("docs_site")
    lake = Lake(root / "lake")
    start = AS_OF - timedelta(hours=6)
    lake.write_points("north", [PointMeta("north", "ahu/temp", 60)],
                      extracted_at=start, run_id="20251103T000000Z-meta01")
    lake.land([("north", "ahu/temp", us(start) + i * 60 * US, f"{20 + i % 7}.25")
               for i in range(360)], source="realtime", extracted_at=AS_OF)
    warehouse, target = root / "warehouse.duckdb", root / "target"
    dvars = dbt_vars(truth.Config(as_of_us=us(AS_OF)))
    build(warehouse, lake.root, dvars, target)
    page = _docs_generate(warehouse, lake.root, dvars, target)
    dom = parse_html(dump_dom(page, fragment=f"#!/model/{MODEL}", virtual_time_ms=15000))
    return warehouse, target, dom


def _manifest(target: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((target / "manifest.json").read_text())
    return doc


def _section(dom: Node, anchor: str) -> Node:
    """The <section> of the model page whose target div has this id (columns, depends_on...)."""
    target = dom.find("div", id=anchor)
    section = next((a for a in target.ancestors() if a.tag == "section"), None)
    assert section is not None, f"#{anchor} is in no section"
    return section


def test_the_marts_are_in_the_project_tree(site: tuple[Path, Path, Node]) -> None:
    _wh, _target, dom = site
    folder = next((s for s in dom.find_all("span", class_="filename-normal")
                   if s.own_text() == "marts"), None)
    assert folder is not None, "no 'marts' folder rendered in the project tree"
    item = next(a for a in folder.ancestors() if a.tag == "li")
    listed = {a.attrs["data-nav-unique-id"] for a in item.find_all("a", class_="menu-node")}
    missing = {f"model.{PACKAGE}.{m}" for m in MARTS} - listed
    assert not missing, f"marts missing from the rendered tree: {sorted(missing)}"


def test_model_page_shows_columns_with_the_warehouse_types(
        site: tuple[Path, Path, Node]) -> None:
    warehouse, target, dom = site
    columns = _section(dom, "columns")
    rendered: dict[str, tuple[str, str]] = {}
    for row in columns.find_all("tr", class_="column-row"):
        cells = row.find_all("td")
        rendered[cells[0].text()] = (cells[1].text(), cells[2].text())
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = 'samples_5min'").fetchall())
    finally:
        con.close()
    assert {"bucket_start", "avg", "coverage", "n_expected", "m2"} <= set(rendered)
    assert set(rendered) == set(types), "the page's columns are not the table's"
    for name, data_type in types.items():
        assert rendered[name][0].upper() == str(data_type).upper(), (name, rendered[name])
    assert rendered["bucket_start"][0].upper() == "TIMESTAMP WITH TIME ZONE"
    described = _manifest(target)["nodes"][MODEL]["columns"]
    for name in ("bucket_start", "avg", "coverage"):
        want = " ".join(described[name]["description"].split())
        assert want and rendered[name][1] == want, (name, rendered[name][1], want)


def test_model_page_shows_the_lineage(site: tuple[Path, Path, Node]) -> None:
    _wh, target, dom = site
    manifest = _manifest(target)

    def linked(anchor: str) -> set[str]:
        return {a.attrs["href"].removeprefix("#!/model/")
                for a in _section(dom, anchor).find_all("a")
                if a.attrs.get("href", "").startswith("#!/model/")}

    parents = {n for n in manifest["nodes"][MODEL]["depends_on"]["nodes"]
               if n.startswith("model.")}
    children = {n for n in manifest["child_map"][MODEL] if n.startswith("model.")}
    assert f"model.{PACKAGE}.timeseries" in parents and f"model.{PACKAGE}.samples_1h" in children
    assert linked("depends_on") == parents
    assert linked("referenced_by") == children
    # the page is the model's own: its name heads it and its materialization is shown
    heading = dom.find("div", class_="app-title")
    assert "samples_5min" in heading.text() and "incremental" in heading.text()


def test_every_built_column_is_declared_and_described(site: tuple[Path, Path, Node]) -> None:
    """What `make lint` cannot see without a warehouse: every column a model builds is in
    its YAML with a description (the manifest), and no YAML column is missing from it."""
    warehouse, target, _dom = site
    models = {n["name"]: n for n in _manifest(target)["nodes"].values()
              if n["resource_type"] == "model"}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        built: dict[str, set[str]] = {}
        for table, column in con.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'main'").fetchall():
            built.setdefault(table, set()).add(column)
    finally:
        con.close()
    assert set(models) <= set(built), f"models not in the warehouse: {set(models) - set(built)}"
    for name, node in models.items():
        declared = {c for c, spec in node["columns"].items() if spec["description"].strip()}
        assert built[name] == declared, (name, built[name] ^ declared)


def test_the_overview_page_shows_the_tables_grains_and_how_to_connect(
        site: tuple[Path, Path, Node]) -> None:
    _wh, target, _dom = site
    page = target / "static_index.html"
    dom = parse_html(dump_dom(page, fragment="#!/overview", virtual_time_ms=15000))
    text = " ".join(dom.text().split())
    for heading in ("Connect and query", "Tables and their grains", "Definitions"):
        assert heading in text, heading
    assert "published/current.duckdb" in text and "read-only" in text
    linked = {a.attrs["href"] for a in dom.find_all("a")
              if a.attrs.get("href", "").startswith("#!/model/")}
    assert {f"#!/model/model.{PACKAGE}.{m}" for m in MARTS} <= linked


@pytest.mark.parametrize("exposure", ["series", "find_points", "analyst_snapshot",
                                      "data_quality_report"])
def test_each_exposure_has_a_page_with_what_it_reads(site: tuple[Path, Path, Node],
                                                     exposure: str) -> None:
    _wh, target, _dom = site
    node = _manifest(target)["exposures"][f"exposure.{PACKAGE}.{exposure}"]
    page = target / "static_index.html"
    dom = parse_html(dump_dom(page, fragment=f"#!/exposure/{node['unique_id']}",
                              virtual_time_ms=15000))
    text = " ".join(dom.text().split())
    assert node["label"] in text

    def words(t: str) -> str:  # the description is rendered as markdown
        return re.sub(r"\W+", "", t)

    assert words(node["description"])[:60] in words(text)
    linked = {a.attrs["href"].removeprefix("#!/model/") for a in dom.find_all("a")
              if a.attrs.get("href", "").startswith("#!/model/")}
    assert set(node["depends_on"]["nodes"]) <= linked, (exposure, linked)
