"""The FlightDeck stand-in over real loopback HTTP: contract, quirks, faults, oracles."""

from __future__ import annotations

import http.client
import io
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from extract.standin import Clock, Fault, StandIn, World

TOKEN = "standin-test-token"
NOW = datetime(2025, 10, 12, 16, 0, tzinfo=UTC)
START = datetime(2025, 10, 12, 14, 0, tzinfo=UTC)
END = datetime(2025, 10, 12, 15, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat()


@pytest.fixture(scope="module")
def world() -> World:
    return World(seed=7, sites=4, points_per_site=40)


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[StandIn]:
    with StandIn(world, token=TOKEN, clock=Clock(NOW)).start() as s:
        yield s


@pytest.fixture
def api(server: StandIn) -> Iterator[httpx.Client]:
    server.faults.clear()
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {TOKEN}"},
                      timeout=10) as client:
        yield client
    server.faults.clear()


def ts_params(start: datetime = START, end: datetime = END, **extra: Any) -> dict[str, Any]:
    return {"start_time": iso(start), "end_time": iso(end), "raw_data": "true", **extra}


def page_all(api: httpx.Client, site: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]],
                                                                              int]:
    """Follow next_cursor to the end; return the samples and the number of requests."""
    rows: list[dict[str, Any]] = []
    cursor = None
    requests = 0
    while True:
        p = dict(params)
        if cursor:
            p["cursor"] = cursor
        r = api.get(f"/sites/{site}/timeseries/paginated", params=p)
        requests += 1
        assert r.status_code == 200, r.text
        body = r.json()
        rows += body["point_samples"]
        cursor = body["next_cursor"]
        if cursor is None:
            assert body["has_more"] is False
            return rows, requests
        assert requests < 10_000


def as_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{"name": n, "value": v, "time": t} for n, v, t in
            zip(table["name"].to_pylist(), table["value"].to_pylist(), table["time"].to_pylist(),
                strict=True)]


# ------------------------------------------------------------------------ world


def test_world_catalogue(world: World) -> None:
    assert world.site_names[:2] == ["ses_falls_city", "acme_hq"]
    assert len(world.site_names) == 4
    hidden = set(world.all_site_names) - set(world.site_names)
    assert len(hidden) == 2
    infos = {world.site_info(s) for s in hidden}
    assert {i.archived for i in infos} == {True, False}
    assert {i.collect_enabled for i in infos} == {True, False}
    points = world.points("ses_falls_city")
    assert len(points) == 40
    assert len({p.point_id for p in points}) == 40
    assert {p.interval_s for p in points} == {30, 60, 120, 300, 600}
    assert any(not p.reporting for p in points) and any(not p.collect_enabled for p in points)
    assert {p.kind for p in points} >= {"temperature", "pressure", "damper", "valve", "binary",
                                        "weather"}
    assert all(p.interval_s == 600 for p in points if p.kind == "weather")
    names = [p.name for p in points]
    assert any(len(n) >= 200 for n in names)
    assert all(set("/:.-") & set(n) for n in names)
    assert "ses/ses_falls_city/weather/temp" in names
    uniform = World(seed=7, sites=1, points_per_site=30, interval_profile="uniform60")
    assert all(p.interval_s == 60 and p.reporting for p in uniform.points(uniform.site_names[0]))


def test_world_samples_shape(world: World) -> None:
    site = "ses_falls_city"
    day = world.samples(site, START - timedelta(hours=20), END, NOW)
    assert day.schema.names == ["name", "time", "value", "ts", "is_bad"]
    assert day.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    ts = day["ts"].to_numpy()
    assert (ts[1:] >= ts[:-1]).all()
    values = day["value"].to_pylist()
    assert "0.0" in values and "1.0" in values
    assert None in values and {"NaN", "nan", "inf", ""} <= set(values)
    weird = sum(v in (None, "NaN", "nan", "inf", "") for v in values) / len(values)
    assert 0.001 < weird < 0.02
    times = day["time"].to_pylist()
    assert any(t.endswith("Z") for t in times)
    assert sum(t.endswith("Z") for t in times) < len(times) / 2
    assert all(len(t) in (26, 27) or not t[:4].isdigit() or t.startswith("2025-13")
               for t in times)
    assert day["is_bad"].to_pylist().count(True) >= 1
    # reporting=False points never appear
    silent = {p.name for p in world.points(site) if not p.reporting}
    assert silent and not silent & set(day["name"].to_pylist())
    # each point keeps its own spacing
    spec = next(p for p in world.points(site) if p.interval_s == 300 and p.reporting)
    own = day.filter(pc.equal(day["name"], spec.name))["ts"].to_numpy().astype("int64")
    gaps = (own[1:] - own[:-1]) / 1e6
    assert ((gaps > 270) & (gaps < 330)).all()


def test_truth_and_truth_bad(world: World) -> None:
    site = "acme_hq"
    start, end = START - timedelta(hours=12), END
    served = world.samples(site, start, end, NOW)
    truth = world.truth(site, start, end, NOW)
    bad = world.truth_bad(site, start, end, NOW)
    assert truth.schema.names == ["point", "ts", "value_raw"]
    assert bad.schema.names == ["point", "time_raw", "value_raw", "ts"]
    end_ts = pa.scalar(end).cast(pa.timestamp("us", tz="UTC"))
    inside = served.filter(pc.less(served["ts"], end_ts))
    assert truth.num_rows + bad.num_rows == inside.num_rows
    assert bad.num_rows >= 1
    assert pc.max(truth["ts"]).as_py() < end
    for row in bad.to_pylist():
        assert row["point"] == "" or not _parses(row["time_raw"])
    keys = list(zip(truth["point"].to_pylist(), truth["ts"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    clean = World(seed=7, sites=4, points_per_site=40, bad_samples=False)
    assert clean.truth_bad(site, start, end, NOW).num_rows == 0


def _parses(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def test_determinism_across_instances() -> None:
    a = World(seed=3, sites=2, points_per_site=25)
    b = World(seed=3, sites=2, points_per_site=25)
    c = World(seed=4, sites=2, points_per_site=25)
    site = a.site_names[1]
    assert a.points(site) == b.points(site)
    assert a.point_items(site) == b.point_items(site)
    ta = a.samples(site, START, END, NOW)
    assert ta.equals(b.samples(site, START, END, NOW))
    assert not ta.equals(c.samples(site, START, END, NOW))
    # a sample does not depend on the window that asks for it
    wide = a.samples(site, START - timedelta(hours=1), END + timedelta(minutes=30), NOW)
    lo = pa.scalar(START).cast(pa.timestamp("us", tz="UTC"))
    hi = pa.scalar(END).cast(pa.timestamp("us", tz="UTC"))
    cut = wide.filter(pc.and_(pc.greater_equal(wide["ts"], lo), pc.less_equal(wide["ts"], hi)))
    assert cut.equals(ta)


def test_naive_datetimes_rejected(world: World) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        world.samples("ses_falls_city", START.replace(tzinfo=None), END, NOW)
    with pytest.raises(ValueError):
        Clock(now=NOW.replace(tzinfo=None))


def test_clock() -> None:
    fixed = Clock(NOW)
    fixed.advance(timedelta(minutes=5))
    assert fixed.now() == NOW + timedelta(minutes=5)
    fixed.set(START)
    assert fixed.now() == START
    real = Clock()
    real.advance(timedelta(days=1))
    assert real.now() - datetime.now(UTC) > timedelta(hours=23)


# ------------------------------------------------------------------------ HTTP basics


def test_auth(server: StandIn) -> None:
    url = f"{server.url}/sites"
    with httpx.Client(timeout=5) as c:
        r = c.get(url)
        assert r.status_code == 401 and "detail" in r.json()
        r = c.get(url, headers={"authorization": "Bearer wrong"})
        assert r.status_code == 401 and "detail" in r.json()
        assert TOKEN not in r.text
        assert c.get(url, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
        # admin endpoints need none
        assert c.get(f"{server.base_url}/_standin/clock").status_code == 200


def test_keep_alive(server: StandIn) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/api/sites", headers={"authorization": f"Bearer {TOKEN}"})
            resp = conn.getresponse()
            assert resp.status == 200
            resp.read()
            assert resp.getheader("Connection") != "close"
        first_sock = conn.sock
        conn.request("GET", "/api/sites/acme_hq", headers={"authorization": f"Bearer {TOKEN}"})
        conn.getresponse().read()
        assert conn.sock is first_sock
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": 7}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "2025-13-01T00:00:00"}, "end_time"),
        ({"cursor": "%%%not-a-cursor"}, "cursor"),
        ({"raw_data": "perhaps"}, "raw_data"),
    ],
)
def test_timeseries_422(api: httpx.Client, params: dict[str, Any], field: str) -> None:
    r = api.get("/sites/ses_falls_city/timeseries/paginated", params={**ts_params(), **params})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", field]


def test_timeseries_missing_window_is_422(api: httpx.Client) -> None:
    r = api.get("/sites/ses_falls_city/timeseries/paginated", params={"start_time": iso(START)})
    assert r.status_code == 422


def test_unknown_site_and_no_data_are_404(api: httpx.Client, world: World) -> None:
    r = api.get("/sites/nowhere/timeseries/paginated", params=ts_params())
    assert r.status_code == 404
    assert api.get("/sites/nowhere").status_code == 404
    # a window after "now" has no sample yet
    later = ts_params(NOW + timedelta(hours=1), NOW + timedelta(hours=2))
    r = api.get("/sites/ses_falls_city/timeseries/paginated", params=later)
    assert r.status_code == 404 and r.json() == {"detail": "No data"}
    # the archived and the disabled site have points but no data
    hidden = [s for s in world.all_site_names if s not in world.site_names]
    for site in hidden:
        assert api.get(f"/sites/{site}").status_code == 200
        r = api.get(f"/sites/{site}/timeseries/paginated", params=ts_params())
        assert r.status_code == 404


def test_sites_listing(api: httpx.Client, world: World) -> None:
    body = api.get("/sites").json()
    assert set(body) == {"page", "pages", "per_page", "total", "items"}
    names = [i["name"] for i in body["items"]]
    archived = next(s.name for s in world.all_sites if s.archived)
    disabled = next(s.name for s in world.all_sites if not s.collect_enabled)
    assert archived not in names and disabled in names
    every = [i["name"] for i in api.get("/sites", params={"show_archived": "true"}).json()["items"]]
    assert set(every) == set(world.all_site_names)
    enabled = api.get("/sites", params={"collect_enabled": "true"}).json()["items"]
    assert [i["name"] for i in enabled] == world.site_names
    item = enabled[0]
    for key in ("id", "name", "client", "nice_name", "address", "geo_location", "latitude",
                "longitude", "mqtt_prefix", "archived"):
        assert key in item
    assert not any("zone" in k for k in item)
    paged = [api.get("/sites", params={"per_page": 2, "page": p, "show_archived": "true"}).json()
             for p in (1, 2, 3, 4)]
    assert paged[0]["pages"] == 3 and paged[0]["total"] == 6
    assert [i["name"] for p in paged for i in p["items"]] == every
    assert paged[3]["items"] == []
    assert api.get("/sites/acme_hq").json()["name"] == "acme_hq"


def test_points_envelopes_vary_and_short_page_stops(api: httpx.Client, world: World) -> None:
    keys = set()
    for site in world.site_names:
        names: list[str] = []
        page = 1
        while True:
            body = api.get(f"/sites/{site}/configured_points",
                           params={"page": page, "per_page": 15}).json()
            key = next(k for k in ("items", "configured_points", "points") if k in body)
            keys.add(key)
            names += [p["name"] for p in body[key]]
            if len(body[key]) < 15:
                break
            page += 1
        assert names == [p.name for p in world.points(site)]
        same = api.get(f"/sites/{site}/points", params={"per_page": 100}).json()
        assert [p["name"] for p in same[key]] == names
    assert keys == {"items", "configured_points", "points"}
    inflated = api.get("/sites/acme_hq/configured_points", params={"per_page": 15}).json()
    assert inflated["total"] != 40 and inflated["pages"] != 3
    understated = api.get(f"/sites/{world.site_names[3]}/configured_points",
                          params={"per_page": 15}).json()
    assert understated["pages"] == 1
    point = api.get("/sites/ses_falls_city/configured_points").json()["items"][5]
    for key in ("id", "name", "client", "site", "kv_tags", "marker_tags", "bacnet_data",
                "collect_config", "point_type", "collect_enabled", "collect_interval", "created",
                "updated"):
        assert key in point
    assert isinstance(point["bacnet_data"]["present_value"], str)
    items = api.get("/sites/ses_falls_city/configured_points", params={"per_page": 100}).json()
    created = [p["created"] for p in items["items"]]
    assert any(" " in c for c in created) and any("T" in c for c in created)


# ------------------------------------------------------------------------ time series


@pytest.mark.parametrize("page_size", [3, 100, 1000])
def test_paging_to_completion_equals_world_samples(api: httpx.Client, world: World,
                                                   page_size: int) -> None:
    site = "ses_falls_city"
    start, end = (START, START + timedelta(minutes=10)) if page_size == 3 else (START, END)
    rows, requests = page_all(api, site, ts_params(start, end, page_size=page_size))
    expected = as_rows(world.samples(site, start, end, NOW))
    assert rows == expected
    assert requests == max(1, math.ceil(len(expected) / page_size))


def test_paging_across_blocks_and_empty_blocks() -> None:
    world = World(seed=13, sites=1, points_per_site=30)
    site = world.site_names[0]
    span = timedelta(microseconds=world.block_span_us(site))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    boundary = epoch + ((START - epoch) // span + 1) * span  # a block boundary after START
    # all points silent for one whole block: paging must skip it
    world.add_outage(site, boundary + span, boundary + 2 * span)
    before = world.samples(site, boundary - timedelta(hours=1), boundary, NOW + 4 * span)
    before = before.filter(pc.less(before["ts"], pa.scalar(boundary).cast(before["ts"].type)))
    # start exactly 10 rows before the boundary, so a 10-row page ends on the block's last row
    start = before["ts"][before.num_rows - 10].as_py()
    end = boundary + 3 * span
    as_of = end + timedelta(hours=1)
    with StandIn(world, token=TOKEN, clock=Clock(as_of)).start() as s, httpx.Client(
            base_url=s.url, headers={"authorization": f"Bearer {TOKEN}"}) as api:
        params = {"start_time": start.isoformat(), "end_time": end.isoformat(),
                  "raw_data": "true", "page_size": 10}
        first = api.get(f"/sites/{site}/timeseries/paginated", params=params).json()
        assert len(first["point_samples"]) == 10 and first["next_cursor"]
        expected = as_rows(world.samples(site, start, end, as_of))
        assert first["point_samples"] == expected[:10]
        second = api.get(f"/sites/{site}/timeseries/paginated",
                         params={**params, "cursor": first["next_cursor"]}).json()
        assert second["point_samples"] == expected[10:20]  # continues in the next block
        for page_size in (1000, 100000):
            rows, _ = page_all(api, site, {**params, "page_size": page_size})
            assert rows == expected


def test_default_page_size_and_z_accepted(api: httpx.Client, server: StandIn) -> None:
    params = {"start_time": "2025-10-12T14:00:00Z", "end_time": "2025-10-12T15:00:00+00:00",
              "raw_data": "true"}
    body = api.get("/sites/ses_falls_city/timeseries/paginated", params=params).json()
    assert len(body["point_samples"]) == server.page_size_default
    assert body["has_more"] is True and isinstance(body["next_cursor"], str)
    assert server.requests[-1].page_size is None


def test_end_time_is_inclusive(api: httpx.Client, world: World) -> None:
    site = "acme_hq"
    sample = world.samples(site, START, END, NOW).slice(50, 1).to_pylist()[0]
    wanted = {"name": sample["name"], "value": sample["value"], "time": sample["time"]}
    end = sample["ts"]
    params = {"start_time": iso(START), "end_time": end.isoformat(), "raw_data": "true",
              "page_size": 1000}
    rows, _ = page_all(api, site, params)
    assert rows[-1] == wanted
    assert rows == as_rows(world.samples(site, START, end, NOW))
    params["end_time"] = (end - timedelta(microseconds=1)).isoformat()
    before, _ = page_all(api, site, params)
    assert wanted not in before and len(before) == len(rows) - 1


def test_buckets_when_raw_data_false_or_absent(api: httpx.Client, world: World) -> None:
    site = "ses_falls_city"
    params = ts_params()
    params.pop("raw_data")
    rows, _ = page_all(api, site, {**params, "page_size": 1000})
    assert rows == as_rows(world.buckets(site, START, END, NOW))
    rows_false, _ = page_all(api, site, {**params, "page_size": 1000, "raw_data": "false"})
    assert rows_false == rows
    reporting = [p for p in world.points(site) if p.reporting]
    assert len(rows) <= len(reporting) * 13
    for r in rows:
        t = datetime.fromisoformat(r["time"])
        assert t.second == 0 and t.minute % 5 == 0 and START.replace(tzinfo=None) <= t
    # a 5-minute average, computed from the raw samples
    raw = world.truth(site, START, START + timedelta(minutes=5), NOW)
    spec = next(p for p in reporting if p.interval_s == 30)
    vals = [float(v) for p, v in zip(raw["point"].to_pylist(), raw["value_raw"].to_pylist(),
                                     strict=True)
            if p == spec.name and v not in (None, "", "NaN", "nan", "inf")]
    bucket = next(r for r in rows if r["name"] == spec.name and r["time"].endswith("14:00:00"))
    assert float(bucket["value"]) == pytest.approx(sum(vals) / len(vals), abs=1e-4)


def test_late_upload_and_outage_follow_the_clock() -> None:
    world = World(seed=21, sites=1, points_per_site=20)
    site = world.site_names[0]
    clock = Clock(END + timedelta(minutes=5))
    late_start, late_end = START + timedelta(minutes=10), START + timedelta(minutes=20)
    world.add_late_upload(site, late_start, late_end, delay=timedelta(hours=2))
    victim = next(p.name for p in world.points(site) if p.reporting and p.interval_s == 60)
    world.add_outage(site, START + timedelta(minutes=30), START + timedelta(minutes=40), [victim])
    with StandIn(world, token=TOKEN, clock=clock).start() as s, httpx.Client(
            base_url=s.url, headers={"authorization": f"Bearer {TOKEN}"}) as api:
        before, _ = page_all(api, site, ts_params(page_size=1000))
        held = [r for r in before if late_start.replace(tzinfo=None)
                <= datetime.fromisoformat(r["time"].rstrip("Z")) < late_end.replace(tzinfo=None)]
        assert held == []
        assert before == as_rows(world.samples(site, START, END, clock.now()))
        truth_before = world.truth(site, START, END, clock.now())
        clock.set(late_end + timedelta(hours=2))
        after, _ = page_all(api, site, ts_params(page_size=1000))
        assert len(after) > len(before)
        truth_after = world.truth(site, START, END, clock.now())
        assert truth_after.num_rows > truth_before.num_rows
        assert after == as_rows(world.samples(site, START, END, clock.now()))
        # the outage never heals
        gone = [r for r in after if r["name"] == victim and
                START + timedelta(minutes=30) <= datetime.fromisoformat(
                    r["time"].rstrip("Z")).replace(tzinfo=UTC) < START + timedelta(minutes=40)]
        assert gone == []
        # a window still in the future of the clock is "No data"
        clock.set(START - timedelta(minutes=1))
        r = api.get(f"/sites/{site}/timeseries/paginated", params=ts_params())
        assert r.status_code == 404


def test_cursor_is_a_snapshot_under_a_real_clock() -> None:
    world = World(seed=5, sites=1, points_per_site=30, interval_profile="uniform60")
    site = world.site_names[0]
    clock = Clock()
    now = clock.now()
    with StandIn(world, token=TOKEN, clock=clock).start() as s, httpx.Client(
            base_url=s.url, headers={"authorization": f"Bearer {TOKEN}"}) as api:
        start, end = now - timedelta(minutes=30), now + timedelta(minutes=30)
        first = api.get(f"/sites/{site}/timeseries/paginated",
                        params=ts_params(start, end, page_size=100)).json()
        clock.advance(timedelta(minutes=10))  # more samples become visible meanwhile
        rows, _ = page_all(api, site, ts_params(start, end, page_size=100))
        assert first["point_samples"] == rows[:100]
        assert len(rows) > 0


# ------------------------------------------------------------------------ faults


def _get_page(api: httpx.Client, page_size: int = 100, cursor: str | None = None) -> httpx.Response:
    params = ts_params(page_size=page_size)
    if cursor:
        params["cursor"] = cursor
    return api.get("/sites/ses_falls_city/timeseries/paginated", params=params)


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_fault_status(api: httpx.Client, server: StandIn, code: int) -> None:
    server.faults.add(Fault("status", code=code, count=2))
    assert _get_page(api).status_code == code
    assert _get_page(api).status_code == code
    assert _get_page(api).status_code == 200
    assert [r.status for r in server.requests[-3:]] == [code, code, 200]
    assert server.requests[-2].fault == "status"


def test_fault_rate_limit(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("rate_limit", retry_after=3))
    r = _get_page(api)
    assert r.status_code == 429 and r.headers["retry-after"] == "3"
    assert _get_page(api).status_code == 200


def test_fault_rate_limit_sends_a_text_as_given(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("rate_limit", retry_after="inf"))
    r = _get_page(api)
    assert r.status_code == 429 and r.headers["retry-after"] == "inf"


@pytest.mark.parametrize("code", [401, 403, 422, 429, 500])
def test_fault_echo_token(api: httpx.Client, server: StandIn, code: int) -> None:
    server.faults.add(Fault("echo_token", code=code))
    r = _get_page(api)
    token = api.headers["authorization"].split(" ", 1)[1]
    assert r.status_code == code and server.requests[-1].fault == "echo_token"
    assert r.json()["detail"].count(token) == 2
    assert r.headers["x-echo-authorization"] == f"Bearer {token}"
    assert (r.headers.get("retry-after") == token) == (code == 429)
    assert _get_page(api).status_code == 200


def test_fault_stray_samples(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("stray_samples", times=["1970-01-01T00:00:00.000000"]))
    r = _get_page(api)
    samples = r.json()["point_samples"]
    assert samples[0]["time"] == "1970-01-01T00:00:00.000000" and samples[0]["value"] == "1.0"
    assert len(samples) == 101 and server.requests[-1].fault == "stray_samples"
    assert len(_get_page(api).json()["point_samples"]) == 100


def test_fault_loop_cursor(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("loop_cursor"))
    first = _get_page(api).json()
    assert server.faults.pending()  # not consumed by a request without a cursor
    again = _get_page(api, cursor=first["next_cursor"]).json()
    assert again["next_cursor"] == first["next_cursor"] and again["has_more"] is True
    assert server.requests[-1].fault == "loop_cursor" and not server.faults.pending()


def test_fault_slow(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("slow", delay=0.3))
    t0 = time.monotonic()
    assert _get_page(api).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    _get_page(api)
    assert time.monotonic() - t0 < 0.3


def test_fault_truncate_only_large_pages(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("truncate", min_page_size=1000))
    assert _get_page(api, page_size=100).status_code == 200  # too small: not consumed
    with pytest.raises(httpx.TransportError):
        _get_page(api, page_size=1000)
    assert server.faults.pending() == []
    r = _get_page(api, page_size=1000)
    assert r.status_code == 200 and len(r.json()["point_samples"]) == 1000


def test_fault_empty_page_with_cursor(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("empty_page_with_cursor"))
    body = _get_page(api).json()
    assert body["point_samples"] == [] and body["next_cursor"] and body["has_more"] is True
    follow = _get_page(api, cursor=body["next_cursor"]).json()
    normal = _get_page(api).json()
    assert follow == normal


def test_fault_has_more_false_with_cursor(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("has_more_mismatch", mode="false_with_cursor"))
    body = _get_page(api).json()
    assert body["has_more"] is False and body["next_cursor"] is not None
    assert len(body["point_samples"]) == 100


def test_fault_has_more_true_without_cursor_hits_the_last_page(api: httpx.Client,
                                                               server: StandIn,
                                                               world: World) -> None:
    server.faults.add(Fault("has_more_mismatch", mode="true_without_cursor"))
    first = _get_page(api, page_size=1000).json()
    assert first["has_more"] is True and first["next_cursor"]  # not the last page: untouched
    last = _get_page(api, page_size=1000, cursor=first["next_cursor"]).json()
    assert last["next_cursor"] is None and last["has_more"] is True
    total = world.samples("ses_falls_city", START, END, NOW).num_rows
    assert 1000 < total <= 2000
    assert len(first["point_samples"]) + len(last["point_samples"]) == total


def test_fault_not_found_unauthorized_and_path(api: httpx.Client, server: StandIn) -> None:
    server.faults.add(Fault("not_found"))
    r = _get_page(api)
    assert r.status_code == 404 and r.json() == {"detail": "No data"}
    server.faults.add(Fault("unauthorized"))
    assert _get_page(api).status_code == 401
    server.faults.add(Fault("status", code=503, path="configured_points"))
    assert _get_page(api).status_code == 200
    assert api.get("/sites/acme_hq").status_code == 200
    assert api.get("/sites/acme_hq/configured_points").status_code == 503
    assert api.get("/sites/acme_hq/configured_points").status_code == 200
    with pytest.raises(ValueError):
        Fault("explode")


# ------------------------------------------------------------------------ admin + CLI


def test_admin_endpoints() -> None:
    world = World(seed=9, sites=1, points_per_site=15)
    site = world.site_names[0]
    with StandIn(world, token=TOKEN, clock=Clock(NOW)).start() as s, httpx.Client(
            base_url=s.base_url) as admin:
        r = admin.post("/_standin/clock", json={"now": "2025-10-12T15:30:00Z"})
        assert r.status_code == 200 and s.clock.now() == datetime(2025, 10, 12, 15, 30, tzinfo=UTC)
        r = admin.post("/_standin/faults", json=[{"kind": "status", "code": 502, "count": 2},
                                                 {"kind": "rate_limit", "retry_after": 2}])
        assert r.status_code == 200 and len(r.json()) == 2
        assert [f.kind for f in s.faults.pending()] == ["status", "rate_limit"]
        assert admin.delete("/_standin/faults").json() == []
        assert admin.post("/_standin/faults", json=[{"kind": "nope"}]).status_code == 422
        r = admin.post("/_standin/outage", json={"site": site, "start": iso(START),
                                                 "end": iso(START + timedelta(minutes=5))})
        assert r.status_code == 200
        r = admin.post("/_standin/late_upload", json={
            "site": site, "start": iso(START + timedelta(minutes=20)),
            "end": iso(START + timedelta(minutes=30)), "delay_s": 3 * 3600})
        assert r.status_code == 200
        q = {"site": site, "start": iso(START), "end": iso(END), "as_of": iso(NOW)}
        r = admin.get("/_standin/truth", params=q)
        assert r.status_code == 200
        served = pq.read_table(io.BytesIO(r.content))
        assert served.equals(world.truth(site, START, END, NOW))
        ts = served["ts"].to_pylist()
        assert not [t for t in ts if START <= t < START + timedelta(minutes=5)]
        assert not [t for t in ts if START + timedelta(minutes=20) <= t < START +
                    timedelta(minutes=30)]
        assert admin.get("/_standin/truth_bad", params=q).status_code == 200
        assert admin.get("/_standin/requests").json() == []


def test_cli_subprocess_prints_url_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "extract.standin", "--port", "0", "--seed", "3", "--sites", "2",
         "--points", "10", "--token", "cli-token", "--now", "2025-10-12T16:00:00Z"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("standin listening on http://127.0.0.1:") and line.endswith("/api")
        url = line.rsplit(" ", 1)[1]
        with httpx.Client(base_url=url, headers={"authorization": "Bearer cli-token"}) as api:
            names = [i["name"] for i in api.get("/sites").json()["items"]]
            assert names[:2] == World(seed=3, sites=2).site_names
            assert api.get("/sites/ses_falls_city/timeseries/paginated",
                           params=ts_params()).status_code == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


# ------------------------------------------------------------------------ speed


def test_throughput_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    world = World(seed=1, sites=1, points_per_site=2000, interval_profile="uniform60")
    site = world.site_names[0]
    start = datetime(2025, 10, 12, 0, 0, tzinfo=UTC)
    end = start + timedelta(minutes=100) - timedelta(microseconds=1)
    with StandIn(world, token=TOKEN, clock=Clock(NOW)).start() as s, httpx.Client(
            base_url=s.url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=30) as api:
        params = ts_params(start, end, page_size=100000)
        timings = {}
        for rnd in ("cold", "warm"):
            t0 = time.perf_counter()
            rows, pages = page_all(api, site, params)
            timings[rnd] = time.perf_counter() - t0
        assert abs(len(rows) - 200_000) < 100 and pages == math.ceil(len(rows) / 100_000)
        t0 = time.perf_counter()
        body = api.get(f"/sites/{site}/timeseries/paginated", params=params).content
        one_page = time.perf_counter() - t0
        server_ms = [round(r.duration_s * 1000, 1) for r in s.requests[-3:]]
    with capsys.disabled():
        print(f"\nstand-in: {len(rows):,} samples cold {timings['cold']:.2f}s, warm "
              f"{timings['warm']:.2f}s (incl. client JSON decode); one warm 100,000-sample page "
              f"({len(body) / 1e6:.1f} MB) {one_page * 1000:.1f} ms end to end, "
              f"server {server_ms} ms")
    assert one_page < 1.0  # loose: the strict number is in docs/standin.md
    assert orjson.loads(body)["has_more"] is True
