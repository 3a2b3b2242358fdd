"""End to end: the extractor against the real stand-in on loopback.

What landed is compared with the stand-in's own truth for the window, never with itself.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.core.config import Settings
from extract.core.errors import ConfigError, TransportError
from extract.landing import lake as lake_module
from extract.landing.checkpoint import read_checkpoint
from extract.landing.lake import Lake, check_site_name
from extract.landing.sync import sync
from extract.source.client import FlightDeckClient
from extract.standin import Clock, Fault, StandIn, World

from .conftest import T0, landed_rows, sample_set

pytestmark = pytest.mark.slow


def run_sync(settings: Settings, until: datetime, **kw: object):  # type: ignore[no-untyped-def]
    with FlightDeckClient.from_settings(settings) as client:
        return sync(settings, client, until=until, **kw)  # type: ignore[arg-type]


def truth_set(world: World, site: str, start: datetime, end: datetime, as_of: datetime) -> set:
    return sample_set(world.truth(site, start, end, as_of))


def assert_landed_equals_truth(settings: Settings, world: World, start: datetime,
                               end: datetime, as_of: datetime) -> None:
    for site in world.site_names:
        got = landed_rows(settings.lake, site)
        assert sample_set(got) == truth_set(world, site, start, end, as_of), site


def test_first_sync_lands_initial_history(settings: Settings, world: World, clock: Clock,
                                          standin: StandIn) -> None:
    summary = run_sync(settings, T0)
    assert summary.ok, summary.as_dict()
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, T0, T0)
    for site in world.site_names:
        assert read_checkpoint(Lake(settings.lake), site) == T0
        rows = landed_rows(settings.lake, site)
        assert set(rows["source"].to_pylist()) == {"realtime"}
        assert set(rows["run_id"].to_pylist()) == {summary.run_id}
        # exactly the raw samples: the stand-in was asked for raw data, not 5-minute buckets
        assert rows.num_rows == len(truth_set(world, site, T0 - settings.initial_history,
                                              T0, T0))
    ts_requests = [r for r in standin.requests if "timeseries" in r.path]
    assert ts_requests and all(r.query.get("raw_data") == "true" for r in ts_requests)


def test_steady_state_lands_each_sample_about_once(settings: Settings, world: World,
                                                   clock: Clock, standin: StandIn) -> None:
    t = T0
    run_sync(settings, t)
    for _ in range(12):  # an hour of 5-minute syncs, each re-reading 2 h of look-back
        t += timedelta(minutes=5)
        clock.set(t)
        assert run_sync(settings, t).ok
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, t, t)
    rows = landed_rows(settings.lake)
    distinct = sample_set(rows, ("site", "point", "ts"))
    assert rows.num_rows / len(distinct) <= 1.05


def test_steady_state_reads_back_a_page_at_a_time(settings: Settings, world: World,
                                                   clock: Clock, standin: StandIn,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """What is landed already is read back for each page's own keys, never as the whole
    look-back window: no table the landing's queries take or return outgrows a page."""
    settings = dataclasses.replace(settings, page_size=100)
    run_sync(settings, T0)
    biggest = 0
    real = lake_module.query

    def spy(sql: str, params: dict[str, Any] | None = None, **tables: pa.Table) -> pa.Table:
        nonlocal biggest
        out = real(sql, params, **tables)
        biggest = max(biggest, out.num_rows, *(t.num_rows for t in tables.values()))
        return out

    monkeypatch.setattr(lake_module, "query", spy)
    t = T0 + timedelta(minutes=5)
    clock.set(t)
    summary = run_sync(settings, t)
    assert summary.ok
    # the look-back re-read is several pages, nearly all of it landed already
    assert min(s.counts.fetched for s in summary.sites) > 2 * settings.page_size
    assert min(s.counts.unchanged for s in summary.sites) > settings.page_size
    assert 0 < biggest <= settings.page_size
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, t, t)
    rows = landed_rows(settings.lake)
    assert rows.num_rows == len(sample_set(rows, ("site", "point", "ts")))


def test_outage_of_days_is_caught_up_in_order(settings: Settings, world: World, clock: Clock,
                                              standin: StandIn) -> None:
    run_sync(settings, T0)
    later = T0 + timedelta(days=3, hours=1)
    clock.set(later)
    summary = run_sync(settings, later)
    assert summary.ok
    assert all(s.windows >= 12 for s in summary.sites)  # 3 days in 6-hour chunks
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, later, later)
    # no cap: the oldest missed hour is there
    rows = landed_rows(settings.lake)
    assert min(rows["ts"].to_pylist()) < T0 - settings.initial_history + timedelta(minutes=10)


def test_late_upload_within_lookback_is_picked_up(settings: Settings, world: World,
                                                  clock: Clock, standin: StandIn) -> None:
    site = world.site_names[0]
    world.add_late_upload(site, T0 - timedelta(minutes=30), T0, delay=timedelta(minutes=50))
    run_sync(settings, T0)
    missing_now = truth_set(world, site, T0 - timedelta(minutes=30), T0, T0 + timedelta(days=1))
    assert missing_now and not (missing_now & sample_set(landed_rows(settings.lake, site)))
    t = T0
    for _ in range(18):
        t += timedelta(minutes=5)
        clock.set(t)
        run_sync(settings, t)
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, t, t)
    assert missing_now <= sample_set(landed_rows(settings.lake, site))


def test_points_that_report_nothing_are_not_invented(settings: Settings, world: World,
                                                     clock: Clock, standin: StandIn) -> None:
    site = world.site_names[0]
    world.add_outage(site, T0 - timedelta(hours=3), T0 - timedelta(hours=1))
    run_sync(settings, T0)
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, T0, T0)
    ts = landed_rows(settings.lake, site)["ts"].to_pylist()
    assert not [x for x in ts if T0 - timedelta(hours=3) <= x < T0 - timedelta(hours=1)]


FAULTS = [
    Fault("status", code=500, count=2),
    Fault("status", code=503, count=3),
    Fault("status", code=502, count=1),
    Fault("status", code=504, count=1),
    Fault("rate_limit", retry_after=1, count=2),
    Fault("slow", delay=0.5, count=2),
    Fault("truncate", min_page_size=1000, count=3),
    Fault("empty_page_with_cursor", count=3),
    Fault("has_more_mismatch", mode="false_with_cursor", count=3),
    Fault("has_more_mismatch", mode="true_without_cursor", count=3),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"{f.kind}-{f.params}")
def test_every_fault_mode_lands_the_truth(settings: Settings, world: World, clock: Clock,
                                          standin: StandIn, fault: Fault) -> None:
    standin.faults.add(fault)
    summary = run_sync(settings, T0)
    assert summary.ok, summary.as_dict()
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, T0, T0)


def test_404_no_data_is_recovered_by_the_lookback(settings: Settings, world: World,
                                                  clock: Clock, standin: StandIn) -> None:
    run_sync(settings, T0)
    t = T0 + timedelta(minutes=30)
    clock.set(t)
    standin.faults.add(Fault("not_found", count=len(world.site_names)))
    assert run_sync(settings, t).ok  # "no data" is not an error...
    t2 = t + timedelta(minutes=5)
    clock.set(t2)
    run_sync(settings, t2)  # ...and the next look-back fills the window in
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, t2, t2)


def test_failing_site_keeps_its_checkpoint_and_others_continue(
        settings: Settings, world: World, clock: Clock, standin: StandIn) -> None:
    good, bad = world.site_names[:2]
    run_sync(settings, T0)
    t = T0 + timedelta(hours=1)
    clock.set(t)
    standin.faults.add(Fault("status", code=503, count=100, path=f"/sites/{bad}/timeseries"))
    summary = run_sync(settings, t)
    assert not summary.ok
    by = {s.site: s for s in summary.sites}
    assert by[good].ok and not by[bad].ok and "503" in (by[bad].error or "")
    lake = Lake(settings.lake)
    assert read_checkpoint(lake, good) == t and read_checkpoint(lake, bad) == T0
    standin.faults.clear()
    assert run_sync(settings, t).ok
    assert_landed_equals_truth(settings, world, T0 - settings.initial_history, t, t)


def test_unauthorized_site_stops_with_clear_message(settings: Settings, world: World,
                                                    standin: StandIn) -> None:
    bad = world.site_names[1]
    standin.faults.add(Fault("unauthorized", count=100, path=f"/sites/{bad}/"))
    summary = run_sync(settings, T0)
    by = {s.site: s for s in summary.sites}
    assert by[world.site_names[0]].ok
    assert not by[bad].ok and "401" in (by[bad].error or "")
    assert "ACE_API_KEY" in (by[bad].error or "")


def test_named_site_only(settings: Settings, world: World, standin: StandIn) -> None:
    only = world.site_names[1]
    summary = run_sync(settings, T0, sites=[only])
    assert [s.site for s in summary.sites] == [only]
    assert {p.name.split("=")[1] for p in (settings.lake / "raw").iterdir()} == {only}


def test_named_sites_do_not_depend_on_the_site_list(
        settings: Settings, world: World, caplog: pytest.LogCaptureFixture) -> None:
    """With --site the list is taken first (to refuse a mistyped name, and for its
    snapshot); when it cannot be fetched, that is a warning and the named sites sync.

    Without named sites a failed list is the run's error, and nothing is synced.
    """
    only = world.site_names[0]

    def broken_list(self: FlightDeckClient, **kw: object) -> list[dict[str, object]]:
        raise TransportError("GET /sites: connection refused")

    with FlightDeckClient.from_settings(settings) as client:
        client.sites = broken_list.__get__(client)  # type: ignore[method-assign]
        summary = sync(settings, client, until=T0, sites=[only])
        assert summary.ok and [s.site for s in summary.sites] == [only]
        assert "listing sites failed" in caplog.text and "named sites anyway" in caplog.text
        assert not (settings.lake / "meta" / "sites").exists()
        assert sample_set(landed_rows(settings.lake, only)) == truth_set(
            world, only, T0 - settings.initial_history, T0, T0)
        unnamed = sync(settings, client, until=T0)
        assert not unnamed.ok and "listing sites failed" in (unnamed.error or "")
        assert unnamed.sites == []
    # and with a working list, the named run lands the sites snapshot too
    run_sync(settings, T0 + timedelta(minutes=5), sites=[only])
    assert list((settings.lake / "meta" / "sites").glob("*.parquet"))


@pytest.mark.parametrize("name", ["..", "../etc", "a/b", ".hidden", "", "a..b"])
def test_site_names_that_could_escape_the_lake_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match="refusing site name"):
        check_site_name(name)


def test_bad_samples_are_quarantined_not_lost(settings: Settings, world: World,
                                              standin: StandIn) -> None:
    run_sync(settings, T0)
    for site in world.site_names:
        bad = world.truth_bad(site, T0 - settings.initial_history, T0, T0)
        files = sorted(settings.lake.glob(f"quarantine/site={site}/date=*/*.parquet"))
        got = [r for f in files for r in pq.read_table(f, partitioning=None).to_pylist()]
        assert sorted((r["point"] or "", r["time_raw"] or "") for r in got) == sorted(
            (p or "", t or "") for p, t in zip(bad["point"].to_pylist(),
                                               bad["time_raw"].to_pylist(), strict=True))
        assert all(r["reason"] for r in got)


def test_metadata_snapshots_keep_every_field(settings: Settings, world: World,
                                             standin: StandIn) -> None:
    run_sync(settings, T0)
    (sites_file,) = sorted((settings.lake / "meta" / "sites").glob("*.parquet"))
    sites = pq.read_table(sites_file).to_pylist()
    assert {s["site"] for s in sites} >= set(world.site_names)
    for s in sites:
        assert {"site", "site_id", "nice_name", "latitude", "longitude", "archived",
                "extracted_at"} <= s.keys()
        assert json.loads(s["raw_json"])["name"] == s["site"]
    for site in world.site_names:
        (pf,) = sorted((settings.lake / "meta" / "points" / f"site={site}").glob("*.parquet"))
        pts = pq.read_table(pf, partitioning=None).to_pylist()
        assert {p["point"] for p in pts} == {p.name for p in world.points(site)}
        want = {"site", "point", "point_id", "collect_enabled", "collect_interval",
                "point_type", "kv_tags", "marker_tags", "bacnet_data", "created", "updated",
                "extracted_at"}
        for p in pts:
            assert want <= p.keys()
            item = json.loads(p["raw_json"])
            for col in ("kv_tags", "marker_tags", "bacnet_data"):
                text = p[col]
                assert (None if text is None else json.loads(text)) == item.get(col), col
    # an unchanged configuration is not snapshotted again
    run_sync(settings, T0 + timedelta(minutes=5))
    assert len(list((settings.lake / "meta" / "sites").glob("*.parquet"))) == 1


def test_no_partial_or_temporary_files_after_a_run(settings: Settings, standin: StandIn
                                                   ) -> None:
    run_sync(settings, T0)
    assert not list(settings.lake.rglob("*.tmp"))
    for f in settings.lake.rglob("*.parquet"):
        pq.read_metadata(f)  # every visible file is complete


def test_realtime_instant_is_utc_and_late_runs_are_ordered(settings: Settings,
                                                           standin: StandIn) -> None:
    s1 = run_sync(settings, T0)
    s2 = run_sync(settings, T0 + timedelta(minutes=5))
    assert s1.run_id < s2.run_id
    rows = landed_rows(settings.lake)
    assert all(t.tzinfo is not None and t.utcoffset() == timedelta(0)
               for t in rows["extracted_at"].to_pylist()[:10])
    assert max(rows["extracted_at"].to_pylist()) <= datetime.now(UTC)


def test_run_summary_is_recorded(settings: Settings, standin: StandIn) -> None:
    s = run_sync(settings, T0)
    doc = json.loads((Path(settings.lake) / "state" / "runs" / f"{s.run_id}.json").read_text())
    assert doc["ok"] and doc["totals"]["landed"] == landed_rows(settings.lake).num_rows
