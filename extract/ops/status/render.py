"""The one-screen text of a :class:`Status`."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
from .intervals import describe
from .model import SiteStatus, Status


def _fmt_span(seconds: float | None) -> str:
    """``45s``, ``5m``, ``5m03s``, ``2h``, ``2h05m``, ``3d``, ``3d04h``; negative with ``-``."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    s = round(abs(seconds))
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "m", 60),
                                      ("m", 60, "s", 1)):
        if s >= size:
            whole, rest = divmod(s, size)
            part = rest // sub_size
            return f"{sign}{whole}{unit}" + (f"{part:02d}{sub}" if part else "")
    return f"{sign}{s}s"


def _fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _fmt_time(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


def _fmt_count(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def render(status: Status) -> str:
    """The report as one screen of text."""
    lines: list[str] = []
    add = lines.append
    add(f"status {status.level.upper()} (exit {status.exit_code}) at {_fmt_time(status.now)}"
        f"; max lag {_fmt_span(status.max_lag_s)}; lake {status.lake}")
    if not status.problems:
        add("problems   none")
    for p in status.problems:
        where = f"{p.site}: " if p.site else ""
        add(f"  {p.level.upper():<8} " + _clip(where + p.message, 150))

    job = status.last_job
    if job is not None:
        took = f" in {_fmt_span(job.duration_s)}" if job.duration_s is not None else ""
        add(f"last job   {job.run_id} {'ok' if job.ok else 'NEEDS ATTENTION'}{took}, "
            f"started {_fmt_time(job.started_at)}; {_plural(len(job.problems), 'problem')}, "
            f"{_plural(len(job.warnings), 'warning')}")
    run = status.last_run
    if run is None:
        add("last run   none (no run summary in the lake: nothing synced yet)")
    else:
        took = f" in {_fmt_span(run.duration_s)}" if run.duration_s is not None else ""
        add(f"last run   {run.run_id} {run.command} {'ok' if run.ok else 'FAILED'}{took}, "
            f"finished {_fmt_time(run.finished_at)}; {_fmt_count(run.landed)} landed, "
            f"{_fmt_count(run.quarantined)} quarantined, {len(run.sites)} sites"
            + (f" ({len(run.failed_sites)} failed)" if run.failed_sites else ""))

    if status.sites:
        width = max(len("site"), *(len(s.site) for s in status.sites))
        add(f"  {'site':<{width}}  {'synced through':<20}  {'lag':>6}  {'last run':<22}  "
            f"{'newest sample':<20}  {'age':>6}  {'points':>6}  {'open gaps':>9}  "
            f"{'gaps 7d':>7}")
        for s in status.sites:
            add(f"  {s.site:<{width}}  {_site_checkpoint(s):<20}  "
                f"{_fmt_span(s.checkpoint_lag_s):>6}  {_site_run(s):<22}  "
                f"{_fmt_time(s.newest_sample):<20}  {_fmt_span(s.newest_sample_age_s):>6}  "
                f"{_fmt_count(s.points):>6}  {_fmt_count(s.open_gaps):>9}  "
                f"{_fmt_span(s.gap_seconds_7d):>7}")
    else:
        add("sites      none: nothing synced yet")

    wh = status.warehouse
    if wh.path is None:
        add(f"warehouse  none: {wh.error}")
    else:
        kind = "published snapshot" if wh.is_published_snapshot else "build file"
        add(f"warehouse  {wh.path} ({kind}), {_fmt_bytes(wh.file_bytes)}"
            + (f" + {_fmt_bytes(wh.wal_bytes)} WAL" if wh.wal_bytes else ""))
        if wh.note:
            add(f"           note: {wh.note}")
        tables = ", ".join(f"{t.name} {_fmt_count(t.rows)}" for t in wh.tables)
        add(textwrap.fill(f"rows: {tables}", width=100, initial_indent=" " * 11,
                          subsequent_indent=" " * 11))
        if wh.sizes.changed_since:
            add(textwrap.fill(
                f"sizes: as of {_fmt_time(wh.sizes.measured_at)} (measured by the publish) "
                f"for {', '.join(wh.sizes.changed_since)}: changed since",
                width=100, initial_indent=" " * 11, subsequent_indent=" " * 11))
        if wh.interval_mismatches:
            add("intervals  " + _clip(describe(wh.interval_mismatches), 150))

    t = status.tiers
    cold = (f"cold {_fmt_count(t.cold.rows)} rows in {_fmt_count(t.cold.files)} files, "
            f"{_fmt_bytes(t.cold.bytes)}, until {_fmt_time(t.cold.cold_until)}")
    add(f"tiers      hot {_fmt_count(t.hot.rows)} rows | {cold}")
    add(f"lake       raw {_fmt_count(t.raw.files)} files, {_fmt_bytes(t.raw.bytes)} | "
        f"quarantine {_fmt_count(t.quarantine.files)} files, "
        f"{_fmt_bytes(t.quarantine.bytes)}, {_fmt_count(t.quarantine.rows)} samples"
        + (f" | damaged {_fmt_count(t.damaged.files)} files, {_fmt_bytes(t.damaged.bytes)}"
           if t.damaged.files else ""))
    r = t.retention
    add("retention  " + (
        f"{_fmt_count(r.files)} raw files deleted (their samples are in the cold tier), "
        f"{_fmt_bytes(r.bytes)} freed, {_fmt_count(r.rows)} landed rows; the last at "
        f"{_fmt_time(r.last_at)}"
        + (f" (older than {r.older_than_days} days)" if r.older_than_days else "")
        if r.files else "no raw file deleted (raw kept)"))

    pub = status.published
    if pub.exists:
        add(f"published  run {pub.run_id or '?'} at {_fmt_time(pub.published_at)} "
            f"(age {_fmt_span(pub.age_s)}): {pub.path}")
    else:
        add(f"published  none at {pub.path}")
    return "\n".join(lines)


def _site_checkpoint(s: SiteStatus) -> str:
    if s.checkpoint_error:
        return "UNREADABLE"
    return _fmt_time(s.checkpoint) if s.checkpoint else "-"


def _site_run(s: SiteStatus) -> str:
    r = s.last_run
    if r is None:
        return "-"
    if not r.ok:
        return f"FAILED {r.command}"
    return f"ok {r.command}, {_fmt_count(r.landed)} new"
