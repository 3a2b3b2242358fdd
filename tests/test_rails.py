"""Safety rails on time and sites: an --until/--end in the future is refused, checkpoints
stay behind the wall clock, a future checkpoint is critical in status and can be moved
back, and a mistyped --site is refused with close matches. The CLI tests run the real
command line against the stand-in on loopback."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest

from extract.core.config import Settings
from extract.core.errors import TransportError
from extract.landing.backfill import backfill
from extract.landing.checkpoint import read_checkpoint, write_checkpoint
from extract.landing.lake import Lake, atomic_write_json
from extract.landing.sync import sync
from extract.source.client import FlightDeckClient
from extract.standin import Clock, StandIn, World

from .conftest import T0, landed_rows
from .test_cli import cli, env  # noqa: F401 - the CLI's environment fixture

pytestmark = pytest.mark.slow

FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_until_and_end_in_the_future_are_refused_before_any_work(
        env: dict[str, str], world: World, standin: StandIn) -> None:  # noqa: F811
    site = world.site_names[0]
    lake = Path(env["LAKE_DIR"])
    for args, flag in (
        (["sync", "--site", site, "--until", FUTURE.isoformat()], "--until"),
        (["sync", "--until", "2030-01-01"], "--until"),
        (["run", "--skip-dbt", "--until", FUTURE.isoformat()], "--until"),
        (["backfill", "--site", site, "--start", T0.isoformat(), "--end",
          FUTURE.isoformat()], "--end"),
    ):
        r = cli(args, env)
        assert r.returncode == 2, (args, r.stderr)
        line = one_error_line(r.stderr)
        assert flag in line and "in the future" in line and "EXTRACT_CLOCK_SKEW" in line
    assert standin.requests == []  # nothing was asked of the API
    assert not (lake / "raw").exists() and not (lake / "state").exists()
    # the skew is a setting, validated like the other durations
    r = cli(["sync", "--until", T0.isoformat()], {**env, "EXTRACT_CLOCK_SKEW": "soon"})
    assert r.returncode == 2 and "EXTRACT_CLOCK_SKEW" in one_error_line(r.stderr)


def test_a_wide_clock_skew_still_never_puts_a_checkpoint_past_the_clock(
        env: dict[str, str], world: World) -> None:  # noqa: F811
    site = world.site_names[0]
    until = datetime.now(UTC) + timedelta(hours=20)
    r = cli(["sync", "--site", site, "--until", until.isoformat()],
            {**env, "EXTRACT_CLOCK_SKEW": "1d", "EXTRACT_SETTLE": "1m"})
    assert r.returncode == 0, r.stderr
    cp = read_checkpoint(Lake(Path(env["LAKE_DIR"])), site)
    assert cp is not None and cp <= datetime.now(UTC) - timedelta(minutes=1)


def test_write_checkpoint_is_held_to_the_wall_clock_minus_settle(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    settle = timedelta(minutes=1)
    before = datetime.now(UTC)
    written = write_checkpoint(lake, "s", FUTURE, "r1", settle=settle)
    after = datetime.now(UTC)
    assert before - settle <= written <= after - settle
    assert read_checkpoint(lake, "s") == written
    # an instant behind the limit is written as it is
    past = T0 - timedelta(hours=1)
    assert write_checkpoint(lake, "s", past, "r2", settle=settle) == past
    assert read_checkpoint(lake, "s") == past
    # with a fixed clock: the limit is exactly now - settle
    assert write_checkpoint(lake, "s", T0 + timedelta(days=1), "r3", settle=settle,
                            now=T0) == T0 - settle


def test_status_is_critical_about_a_checkpoint_in_the_future(
        env: dict[str, str], world: World) -> None:  # noqa: F811
    lake = Lake(Path(env["LAKE_DIR"]))
    site, other = world.site_names
    atomic_write_json(lake.checkpoint_path(site), {"site": site,
                                                    "synced_through": FUTURE.isoformat()})
    atomic_write_json(lake.checkpoint_path(other), {"site": other,
                                                     "synced_through": T0.isoformat()})
    now = T0 + timedelta(minutes=5)
    r = cli(["status", "--json", "--now", now.isoformat()], env)
    doc = json.loads(r.stdout)
    assert r.returncode == 2 and doc["level"] == "critical"
    future = [p for p in doc["problems"] if "in the future" in p["message"]]
    assert [(p["level"], p["site"]) for p in future] == [("critical", site)]
    assert f"checkpoint --site {site} --set" in future[0]["message"]
    text = cli(["status", "--now", now.isoformat()], env).stdout
    assert f"CRITICAL {site}: checkpoint 2030-01-01 00:00:00Z is in the future" in text


def test_checkpoint_command_shows_refuses_and_moves_back_under_the_lock(
        env: dict[str, str], world: World, standin: StandIn) -> None:  # noqa: F811
    site = world.site_names[0]
    lake = Lake(Path(env["LAKE_DIR"]))
    assert cli(["sync", "--site", site, "--until", T0.isoformat()], env).returncode == 0
    r = cli(["checkpoint", "--site", site], env)
    assert r.returncode == 0 and r.stdout.strip() == \
        f"{site}: synced through {T0:%Y-%m-%dT%H:%M:%SZ}"
    # a checkpoint in the future (written before the rails, or by hand): sync says so
    atomic_write_json(lake.checkpoint_path(site), {"site": site,
                                                    "synced_through": FUTURE.isoformat()})
    r = cli(["checkpoint", "--site", site], env)
    assert r.returncode == 0 and "IN THE FUTURE" in r.stdout
    stuck = cli(["sync", "--site", site, "--until", T0.isoformat()], env)
    assert stuck.returncode == 1 and "is in the future" in stuck.stdout + stuck.stderr
    # moving it into the future is refused, and the file is left as it was
    r = cli(["checkpoint", "--site", site, "--set", FUTURE.isoformat()], env)
    assert r.returncode == 2 and "later than now minus the settle time" in \
        one_error_line(r.stderr)
    assert read_checkpoint(lake, site) == FUTURE
    # a held lock: one clear line, nothing changed
    with lake.lock():
        r = cli(["checkpoint", "--site", site, "--set", T0.isoformat()], env, timeout=30)
        shown = cli(["checkpoint", "--site", site], env, timeout=30)  # reading needs no lock
    assert shown.returncode == 0 and "IN THE FUTURE" in shown.stdout
    assert r.returncode == 3 and "another extractor run holds" in one_error_line(r.stderr)
    assert read_checkpoint(lake, site) == FUTURE
    # moving it back: logged old -> new, recorded in the file, written atomically
    back = T0 - timedelta(hours=1)
    r = cli(["checkpoint", "--site", site, "--set", back.isoformat()], env)
    assert r.returncode == 0, r.stderr
    change = f"2030-01-01T00:00:00Z -> {back:%Y-%m-%dT%H:%M:%SZ}"
    assert change in r.stdout and change in r.stderr
    doc = json.loads(lake.checkpoint_path(site).read_text())
    assert doc["moved_from"] == FUTURE.isoformat() and read_checkpoint(lake, site) == back
    assert not list(lake.checkpoint_path(site).parent.glob(".*.tmp"))
    # and syncs land data again
    n = landed_rows(lake.root, site).num_rows
    later = T0 + timedelta(minutes=30)
    standin.clock.set(later)
    r = cli(["sync", "--site", site, "--until", later.isoformat()], env)
    assert r.returncode == 0, r.stderr
    assert read_checkpoint(lake, site) == later
    assert landed_rows(lake.root, site).num_rows > n


@pytest.mark.parametrize("command", ["sync", "backfill", "checkpoint", "import"])
def test_unknown_site_is_refused_with_close_matches(
        command: str, env: dict[str, str], world: World, tmp_path: Path) -> None:  # noqa: F811
    site = world.site_names[0]
    typo = site + "q"
    args = {"sync": ["sync", "--site", typo, "--until", T0.isoformat()],
            "backfill": ["backfill", "--site", typo, "--start",
                         (T0 - timedelta(days=1)).isoformat(), "--end", T0.isoformat()],
            "checkpoint": ["checkpoint", "--site", typo, "--set", T0.isoformat()],
            "import": ["import", str(tmp_path / "x.csv"), "--site", typo]}[command]
    (tmp_path / "x.csv").write_text("point,time,value\np,2024-01-01T00:00:00,1\n")
    r = cli(args, env)
    assert r.returncode == 2, (r.stdout, r.stderr)
    line = one_error_line(r.stderr)
    assert f"unknown site {typo!r}" in line and f"did you mean {site}" in line
    lake = Path(env["LAKE_DIR"])
    assert not (lake / "raw").exists() and not (lake / "state").exists()


def test_a_site_list_that_cannot_be_fetched_is_a_warning(
        settings: Settings, world: World, caplog: pytest.LogCaptureFixture) -> None:
    site = world.site_names[0]

    def broken(self: FlightDeckClient, **kw: Any) -> NoReturn:
        raise TransportError("GET /sites: connection refused")

    caplog.set_level(logging.WARNING)
    start = T0 - timedelta(hours=2)
    with FlightDeckClient.from_settings(settings) as client:
        client.sites = broken.__get__(client)  # type: ignore[method-assign]
        summary = backfill(settings, client, site, start, T0, progress=False)
    assert summary.ok and summary.totals.landed > 0
    assert "listing sites failed" in caplog.text and "backfilling it anyway" in caplog.text


def test_sync_fails_a_site_whose_checkpoint_is_in_the_future(
        settings: Settings, world: World, clock: Clock) -> None:
    site, other = world.site_names
    lake = Lake(settings.lake)
    atomic_write_json(lake.checkpoint_path(site), {"site": site,
                                                    "synced_through": FUTURE.isoformat()})
    with FlightDeckClient.from_settings(settings) as client:
        summary = sync(settings, client, until=T0)
    by_site = {s.site: s for s in summary.sites}
    assert not summary.ok and by_site[other].ok
    assert "in the future" in (by_site[site].error or "")
    assert read_checkpoint(lake, site) == FUTURE  # kept, for a person to move back


def test_unknown_site_message_names_close_matches() -> None:
    from extract.landing.sitecheck import unknown_sites_message
    known = ["acme_hq", "ses_falls_city", "acme_lab"]
    assert unknown_sites_message(["acme_hq"], known) is None
    msg = unknown_sites_message(["acme_hqq", "zzz"], known)
    assert msg is not None and "'acme_hqq' (did you mean acme_hq" in msg
    assert "'zzz' (no similar name)" in msg


def test_help_names_the_rails() -> None:
    import os
    e = dict(os.environ)
    top = cli(["--help"], e).stdout
    assert "checkpoint" in top and "EXTRACT_CLOCK_SKEW" in top
    sub = cli(["checkpoint", "--help"], e).stdout
    assert "--site" in sub and "--set" in sub and "lock" in sub
    assert "EXTRACT_CLOCK_SKEW" in cli(["sync", "--help"], e).stdout
    assert "EXTRACT_CLOCK_SKEW" in cli(["backfill", "--help"], e).stdout
    assert "later than --now" in cli(["status", "--help"], e).stdout
