"""The central redaction: registered secrets and Bearer forms never reach a message, a log
line or a state file."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.core import logs
from extract.core.config import Secret, Settings
from extract.core.errors import AuthError, redact, redact_obj
from extract.landing.lake import atomic_write_json

KEY = "redact-me-0123456789abcdef"


@pytest.fixture(autouse=True)
def _key() -> None:
    Secret(KEY)  # what Settings does when it reads ACE_API_KEY


@pytest.mark.parametrize("text", [
    f"token {KEY} refused", f"authorization: Bearer {KEY}", f"bearer%20{KEY}",
    "Authorization: Bearer some.other-token_value", "BEARER abc/def+ghi==",
])
def test_redact_hides_the_key_and_any_bearer_token(text: str) -> None:
    out = redact(text)
    assert KEY not in out and "***" in out
    assert "other-token" not in out and "abc/def" not in out


def test_redact_keeps_ordinary_text() -> None:
    assert redact("HTTP 401 (check ACE_API_KEY): Not authenticated") == (
        "HTTP 401 (check ACE_API_KEY): Not authenticated")


def test_a_short_key_is_not_registered() -> None:
    Secret("test")  # would otherwise blank "dbt tests" in every summary
    assert redact("dbt tests passed") == "dbt tests passed"


def test_settings_register_the_key_they_read() -> None:
    other = "from-the-environment-4242"
    Settings.paths_from_env({"ACE_API_KEY": other})
    assert redact(f"x {other} y") == "x *** y"


def test_errors_redact_their_message() -> None:
    assert str(AuthError(f"GET /sites: HTTP 401: token {KEY}")) == "GET /sites: HTTP 401: token ***"


def test_state_files_are_redacted(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    atomic_write_json(path, {"sites": [{"error": f"HTTP 500: {KEY}", "n": 3}],
                             KEY: "Bearer abcdefgh"})
    text = path.read_text()
    assert KEY not in text and "abcdefgh" not in text
    assert json.loads(text)["sites"][0] == {"error": "HTTP 500: ***", "n": 3}
    assert redact_obj((1, None, True)) == [1, None, True]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_and_tracebacks_are_redacted(fmt: str, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    sink = io.StringIO()
    monkeypatch.setattr("sys.stderr", sink)
    monkeypatch.setattr("sys.excepthook", sys.excepthook)  # logs.setup replaces it
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup("info", fmt)
        log = logging.getLogger("test.redact")
        log.warning("answer said %s", f"token {KEY}")
        try:
            raise ValueError(f"Bearer {KEY}")
        except ValueError:
            log.exception("failed")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    out = sink.getvalue()
    assert "answer said token ***" in out and "ValueError" in out
    assert KEY not in out


def test_metadata_that_echoes_the_key_is_landed_without_it(tmp_path: Path) -> None:
    from extract.landing.lake import Lake
    from extract.landing.meta import land_points, land_sites

    lake = Lake(tmp_path / "lake")
    at = datetime(2026, 3, 1, tzinfo=UTC)
    items = [{"name": "a", "id": 1, "kv_tags": {"note": f"key={KEY}"}},
             {"name": "b", "id": 2, "kv_tags": {"unit": "degF"}}]
    assert land_points(lake, "site_a", items, at, "r1")
    assert land_sites(lake, [{"name": "site_a", "address": f"Bearer {KEY}"}], at, "r1")
    files = [p for p in (tmp_path / "lake").rglob("*") if p.is_file()]
    assert files and all(KEY.encode() not in p.read_bytes() for p in files)
    table = pq.read_table(next((tmp_path / "lake" / "meta" / "points").rglob("*.parquet")))
    assert table.column("kv_tags").to_pylist() == ['{"note":"key=***"}', '{"unit":"degF"}']
    assert table.column("point_id").to_pylist() == [1, 2]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40), st.sampled_from(["", "Bearer ", "bearer%20"]))
def test_the_key_never_survives_redaction(before: str, after: str, scheme: str) -> None:
    assert KEY not in redact(before + scheme + KEY + after)
    assert KEY not in json.dumps(redact_obj({"detail": [before + KEY + after]}))
