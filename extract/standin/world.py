"""The synthetic world: sites, points and their samples, all derived from one seed.

A point ``p`` with interval ``I`` and phase ``P`` has its ``k``-th sample at
``ts = P + k*I + jitter(seed, p, k)`` (``0 <= jitter < I/10``, at most 3 s), so every sample
has a fixed identity ``(p, k)`` and the same time, value and text whatever window asks for
it. Windows are generated for all points at once with numpy and formatted with pyarrow
compute; nothing loops over samples in Python.

Visibility: a sample exists from its own ``ts`` on (``as_of`` filters ``ts > as_of``); a
late-upload window holds its samples back until ``end + delay``; an outage removes them
for good.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ._vec import (
    F64,
    I64,
    U64,
    Bool,
    ByteLRU,
    format_numbers,
    hash_arr,
    iso_text,
    mix_int,
    replace_rows,
    uniform,
)
from .catalogue import (
    MODEL_BINARY,
    PROFILES,
    PointDraft,
    SiteInfo,
    build_points,
    build_sites,
    point_item,
)
from .clock import to_us

US = 1_000_000
BUCKET_US = 300 * US
#: share of samples whose value text is "NaN", "nan", "inf", "" or null
WEIRD_SHARE = 0.005
WEIRD_VALUES: tuple[str | None, ...] = ("NaN", "nan", "inf", "", None)
#: share of samples that are bad (unparseable time or empty point name)
BAD_SHARE = 0.0005
BAD_TIMES = ("2025-13-45T99:61:00", "not a time")
# hash streams
_S_JITTER, _S_NOISE, _S_WEIRD, _S_BAD, _S_ZONE, _S_BINARY = 1, 2, 3, 4, 5, 6

TS_TYPE = pa.timestamp("us", tz="UTC")
#: candidate block lengths (seconds, dividing a day); the shortest holding BLOCK_TARGET_ROWS
BLOCK_SPANS_S = (300, 600, 900, 1800, 3600, 7200, 10800, 21600)
BLOCK_TARGET_ROWS = 150_000


class WindowTooLarge(ValueError):
    """A window too large for the stand-in to generate in memory."""


@dataclass(frozen=True)
class PointSpec:
    """One configured point, as the world generates it."""

    name: str
    point_id: int
    interval_s: int  # the actual spacing of its samples
    kind: str  # temperature, pressure, damper, valve, binary, weather
    unit: str
    reporting: bool  # False: configured, but the API never returns a sample for it
    collect_enabled: bool
    collect_interval: int  # as the metadata says (can differ from interval_s)


@dataclass(frozen=True)
class _Outage:
    start_us: int
    end_us: int
    points: frozenset[str] | None


@dataclass(frozen=True)
class _LateUpload:
    start_us: int
    end_us: int
    release_us: int
    points: frozenset[str] | None


class _SiteData:
    """A site's points as column arrays (reporting points only are generated)."""

    def __init__(self, seed: int, info: SiteInfo, drafts: list[PointDraft]) -> None:
        self.info = info
        self.drafts = drafts
        base_id = 100_000 + info.index * 100_000 if info.index < 10_000 else 9_000_000 + (
            info.index - 10_000) * 100_000
        self.specs = [
            PointSpec(
                name=d.name, point_id=base_id + i + 1, interval_s=d.interval_s, kind=d.kind,
                unit=d.unit, reporting=d.reporting, collect_enabled=d.collect_enabled,
                collect_interval=d.collect_interval,
            )
            for i, d in enumerate(drafts)
        ]
        self.items = [
            point_item(d, s.point_id, info) for d, s in zip(drafts, self.specs, strict=True)
        ]
        self.name_to_index = {d.name: i for i, d in enumerate(drafts)}
        n = len(drafts)
        self.n = n
        self.keys: U64 = np.array([mix_int(seed, info.index, i) for i in range(n)], dtype=np.uint64)
        self.interval_us: I64 = np.array([d.interval_s * US for d in drafts], dtype=np.int64)
        self.phase_us: I64 = np.array([d.phase_us for d in drafts], dtype=np.int64)
        self.model = np.array([d.model for d in drafts], dtype=np.int8)
        self.base: F64 = np.array([d.base for d in drafts], dtype=np.float64)
        self.amp: F64 = np.array([d.amp for d in drafts], dtype=np.float64)
        self.noise: F64 = np.array([d.noise for d in drafts], dtype=np.float64)
        self.lo: F64 = np.array([d.lo for d in drafts], dtype=np.float64)
        self.hi: F64 = np.array([d.hi for d in drafts], dtype=np.float64)
        self.scale: F64 = np.array([10.0 ** d.decimals for d in drafts], dtype=np.float64)
        self.day_phase: F64 = np.array([d.day_phase for d in drafts], dtype=np.float64)
        self.p_on: F64 = np.array([d.p_on for d in drafts], dtype=np.float64)
        self.run_len: I64 = np.array([d.run_len for d in drafts], dtype=np.int64)
        self.z_mode = np.array([d.z_mode for d in drafts], dtype=np.int8)
        self.reporting_idx: I64 = np.flatnonzero([d.reporting for d in drafts]).astype(np.int64)
        order = sorted(range(n), key=lambda i: drafts[i].name)
        rank = np.empty(n, dtype=np.int64)
        rank[np.array(order, dtype=np.int64)] = np.arange(1, n + 1, dtype=np.int64)
        self.rank: I64 = rank  # 0 is kept for the empty name of bad samples
        # index n is the empty name of a bad sample
        self.names = pa.array([d.name for d in drafts] + [""], type=pa.string())
        self._name_json: pa.Array | None = None
        rate = float(np.sum(US / self.interval_us[self.reporting_idx])) if n else 0.0
        span = BLOCK_SPANS_S[-1]
        for candidate in BLOCK_SPANS_S:
            if rate * candidate >= BLOCK_TARGET_ROWS:
                span = candidate
                break
        #: the server generates and caches time series in aligned blocks of this length
        self.block_us = span * US

    def name_json(self) -> pa.Array:
        if self._name_json is None:
            self._name_json = pa.array(
                [f'{{"name":{orjson.dumps(n).decode()},"value":' for n in self.names.to_pylist()],
                type=pa.large_string(),
            )
        return self._name_json


@dataclass(frozen=True)
class Window:
    """Every sample of one site with ``start <= ts <= end``, sorted by (ts, name).

    Independent of ``as_of``: ``avail`` says from when each row is visible.
    """

    site: str
    start_us: int
    end_us: int
    pidx: I64  # point index; the empty-name bad rows keep their point's index
    ts: I64
    avail: I64
    avail_sorted: I64
    num: F64  # the value as a finite number, NaN when the text is not one
    is_bad: Bool
    bad_name: Bool
    time: pa.Array  # text as served
    value: pa.Array  # text as served (nullable)

    @property
    def n(self) -> int:
        return len(self.ts)

    @property
    def nbytes(self) -> int:
        arrays = (self.pidx, self.ts, self.avail, self.avail_sorted, self.num, self.is_bad,
                  self.bad_name)
        return int(sum(a.nbytes for a in arrays) + self.time.nbytes + self.value.nbytes)

    def visible_count(self, as_of_us: int | None) -> int:
        """How many rows are visible as of ``as_of_us`` (``None``: all).

        Visible sets only grow with ``as_of``, so this count identifies the set.
        """
        if as_of_us is None:
            return self.n
        return int(np.searchsorted(self.avail_sorted, as_of_us, side="right"))

    def rows(self, as_of_us: int | None) -> Rows:
        """The rows visible as of ``as_of_us`` (``None``: all), in order."""
        return _take_rows(self, self.visible_mask(as_of_us))

    def visible_mask(self, as_of_us: int | None) -> Bool | None:
        """Row mask of what is visible as of ``as_of_us``; ``None`` when everything is."""
        if as_of_us is None or self.visible_count(as_of_us) == self.n:
            return None
        out: Bool = self.avail <= as_of_us
        return out


@dataclass(frozen=True)
class Rows:
    """A served row set (raw samples or 5-minute buckets) in API order."""

    pidx: I64
    ts: I64
    bad_name: Bool
    is_bad: Bool
    time: pa.Array
    value: pa.Array

    @property
    def n(self) -> int:
        return len(self.ts)


def _take_rows(win: Window, mask: Bool | None) -> Rows:
    if mask is None:
        return Rows(win.pidx, win.ts, win.bad_name, win.is_bad, win.time, win.value)
    arrow_mask = pa.array(mask)
    return Rows(
        win.pidx[mask], win.ts[mask], win.bad_name[mask], win.is_bad[mask],
        win.time.filter(arrow_mask), win.value.filter(arrow_mask),
    )


class World:
    """A deterministic synthetic FlightDeck estate.

    ``World(seed=7, sites=3, points_per_site=40, interval_profile="mixed")``. All instants
    passed in must be timezone-aware.
    """

    def __init__(
        self,
        seed: int = 7,
        sites: int = 3,
        points_per_site: int = 40,
        interval_profile: str = "mixed",
        *,
        bad_samples: bool = True,
        weird_values: bool = True,
        cache_bytes: int = 512 * 1024 * 1024,
        max_window_samples: int = 12_000_000,
    ) -> None:
        if interval_profile not in PROFILES:
            raise ValueError(f"interval_profile must be one of {PROFILES}")
        if points_per_site < 1:
            raise ValueError("points_per_site must be >= 1")
        self.seed = int(seed)
        self.points_per_site = int(points_per_site)
        self.interval_profile = interval_profile
        self.bad_samples = bool(bad_samples)
        self.weird_values = bool(weird_values)
        #: a window estimated above this many samples is refused (about 250 bytes each
        #: once generated and serialised); ask for shorter windows instead
        self.max_window_samples = int(max_window_samples)
        active, archived, disabled = build_sites(int(sites))
        self._active = active
        #: every site in /sites order (active sites, the archived one second-to-last...)
        self.all_sites: list[SiteInfo] = [*active, archived, disabled]
        self._by_name = {s.name: s for s in self.all_sites}
        self._lock = threading.RLock()
        self._site_data: dict[str, _SiteData] = {}
        self._outages: dict[str, list[_Outage]] = {}
        self._late: dict[str, list[_LateUpload]] = {}
        self._version = 0
        self._windows: ByteLRU[tuple[str, int, int, int], Window] = ByteLRU(
            cache_bytes, lambda w: w.nbytes
        )

    # ----------------------------------------------------------------- catalogue
    @property
    def site_names(self) -> list[str]:
        """Collect-enabled, non-archived sites (those a sync should read)."""
        return [s.name for s in self._active]

    @property
    def all_site_names(self) -> list[str]:
        """Every site ``/sites?show_archived=true`` lists, hidden ones included."""
        return [s.name for s in self.all_sites]

    @property
    def version(self) -> int:
        """Bumped by every outage or late upload (invalidates cached windows)."""
        return self._version

    def site_info(self, site: str) -> SiteInfo:
        try:
            return self._by_name[site]
        except KeyError:
            raise KeyError(f"unknown site {site!r}") from None

    def has_site(self, site: str) -> bool:
        return site in self._by_name

    def site_item(self, site: str) -> dict[str, Any]:
        return self.site_info(site).item()

    def _data(self, site: str) -> _SiteData:
        info = self.site_info(site)
        with self._lock:
            data = self._site_data.get(site)
            if data is None:
                drafts = build_points(self.seed, info, self.points_per_site, self.interval_profile)
                data = _SiteData(self.seed, info, drafts)
                self._site_data[site] = data
            return data

    def points(self, site: str) -> list[PointSpec]:
        """The configured points of ``site`` (reporting or not), in API order."""
        return list(self._data(site).specs)

    def point_items(self, site: str) -> list[dict[str, Any]]:
        """The ``configured_points`` items of ``site`` (shared dicts: do not mutate)."""
        return self._data(site).items

    # ------------------------------------------------------------ world events
    def add_outage(self, site: str, start: datetime, end: datetime,
                   points: list[str] | None = None) -> None:
        """Points report nothing in ``[start, end)``: those samples never exist."""
        self._check_points(site, points)
        outage = _Outage(to_us(start, "start"), to_us(end, "end"),
                         None if points is None else frozenset(points))
        with self._lock:
            self._outages.setdefault(site, []).append(outage)
            self._bump()

    def add_late_upload(self, site: str, start: datetime, end: datetime, delay: timedelta,
                        points: list[str] | None = None) -> None:
        """Samples with ts in ``[start, end)`` become visible only at ``end + delay``."""
        self._check_points(site, points)
        end_us = to_us(end, "end")
        delay_us = int(delay / timedelta(microseconds=1))
        late = _LateUpload(to_us(start, "start"), end_us, end_us + delay_us,
                           None if points is None else frozenset(points))
        with self._lock:
            self._late.setdefault(site, []).append(late)
            self._bump()

    def _check_points(self, site: str, points: list[str] | None) -> None:
        data = self._data(site)
        if points is not None:
            unknown = [p for p in points if p not in data.name_to_index]
            if unknown:
                raise KeyError(f"unknown point(s) on {site}: {unknown[:3]}")

    def _bump(self) -> None:
        self._version += 1
        self._windows.clear()

    # ------------------------------------------------------------- generation
    def block_span_us(self, site: str) -> int:
        """Length of the aligned blocks :meth:`block` generates for ``site``."""
        return self._data(site).block_us

    def block(self, site: str, block_start_us: int) -> Window:
        """The aligned block ``[b, b + span)`` of ``site`` (cached; bounded in size)."""
        span = self._data(site).block_us
        if block_start_us % span:
            raise ValueError("block start must be a multiple of the block span")
        return self._window(site, block_start_us, block_start_us + span - 1)

    def window(self, site: str, start_us: int, end_us: int) -> Window:
        """All samples with ``start_us <= ts <= end_us`` (cached).

        Refused with :class:`WindowTooLarge` above ``max_window_samples``.
        """
        data = self._data(site)
        rep = data.reporting_idx
        estimate = int((((end_us - start_us) // data.interval_us[rep]) + 1).clip(0).sum())
        if estimate > self.max_window_samples:
            raise WindowTooLarge(
                f"about {estimate:,} samples in one window exceeds the stand-in's limit of "
                f"{self.max_window_samples:,}: ask for a shorter window"
            )
        return self._window(site, start_us, end_us)

    def _window(self, site: str, start_us: int, end_us: int) -> Window:
        data = self._data(site)
        with self._lock:
            key = (site, int(start_us), int(end_us), self._version)
            outages = list(self._outages.get(site, ()))
            late = list(self._late.get(site, ()))
        return self._windows.get_or_compute(
            key, lambda: self._generate(data, int(start_us), int(end_us), outages, late)
        )

    def _generate(self, d: _SiteData, s: int, e: int, outages: list[_Outage],
                  late: list[_LateUpload]) -> Window:
        rep = d.reporting_idx
        if e < s or len(rep) == 0:
            return self._empty_window(d, s, e)
        interval = d.interval_us[rep]
        phase = d.phase_us[rep]
        k_lo = (s - phase) // interval
        k_hi = (e - phase) // interval
        counts = np.maximum(k_hi - k_lo + 1, 0)
        total = int(counts.sum())
        if total == 0:
            return self._empty_window(d, s, e)
        local = np.repeat(np.arange(len(rep), dtype=np.int64), counts)
        starts = np.cumsum(counts) - counts
        k = np.arange(total, dtype=np.int64) - np.repeat(starts - k_lo, counts)
        pidx = rep[local]
        keys = d.keys[pidx]
        iv = d.interval_us[pidx]
        jitter_span = np.minimum(iv // 10, 3 * US)
        jitter = (uniform(hash_arr(keys, k, _S_JITTER)) * jitter_span).astype(np.int64)
        ts = d.phase_us[pidx] + k * iv + jitter
        keep = (ts >= s) & (ts <= e)
        for o in outages:
            hit = (ts >= o.start_us) & (ts < o.end_us)
            if o.points is not None:
                hit &= self._point_mask(d, o.points)[pidx]
            keep &= ~hit
        pidx, k, ts, keys = pidx[keep], k[keep], ts[keep], keys[keep]
        n = len(ts)
        # --- flags
        bad_u = uniform(hash_arr(keys, k, _S_BAD))
        is_bad = bad_u < BAD_SHARE if self.bad_samples else np.zeros(n, dtype=np.bool_)
        bad_kind = np.minimum((bad_u / BAD_SHARE * 3).astype(np.int64), 2)  # 0,1: time; 2: name
        bad_name = is_bad & (bad_kind == 2)
        bad_time = is_bad & (bad_kind < 2)
        # --- order by (ts, name)
        rank = np.where(bad_name, 0, d.rank[pidx])
        span = e - s + 1
        mult = 1 << int(d.n + 1).bit_length()
        if span < (1 << 62) // mult:
            order = np.argsort((ts - s) * mult + rank)
        else:
            order = np.lexsort((rank, ts))
        pidx, k, ts, keys = pidx[order], k[order], ts[order], keys[order]
        is_bad, bad_name, bad_time = is_bad[order], bad_name[order], bad_time[order]
        bad_kind = bad_kind[order]
        # --- values
        num = self._values(d, pidx, k, ts, keys)
        value = format_numbers(num)
        if self.weird_values:
            weird_u = uniform(hash_arr(keys, k, _S_WEIRD))
            weird = weird_u < WEIRD_SHARE
            if weird.any():
                which = np.minimum((weird_u[weird] / WEIRD_SHARE * len(WEIRD_VALUES)), 4)
                repl = pa.array([WEIRD_VALUES[int(i)] for i in which.astype(np.int64)],
                                type=pa.string())
                value = replace_rows(value, weird, repl)
                num = np.where(weird, np.nan, num)
        # --- time text
        time = iso_text(ts)
        zm = d.z_mode[pidx]
        z = (zm == 1) | ((zm == 2) & (uniform(hash_arr(keys, k, _S_ZONE)) < 0.5))
        if z.any():
            time = pc.if_else(pa.array(z), pc.binary_join_element_wise(time, "Z", ""), time)
        if bad_time.any():
            repl = pa.array([BAD_TIMES[int(i)] for i in bad_kind[bad_time]], type=pa.string())
            time = replace_rows(time, bad_time, repl)
        # --- visibility
        avail = ts.copy()
        for lu in late:
            hit = (ts >= lu.start_us) & (ts < lu.end_us)
            if lu.points is not None:
                hit &= self._point_mask(d, lu.points)[pidx]
            avail = np.where(hit, np.maximum(avail, lu.release_us), avail)
        return Window(
            site=d.info.name, start_us=s, end_us=e, pidx=pidx, ts=ts, avail=avail,
            avail_sorted=np.sort(avail), num=num, is_bad=is_bad, bad_name=bad_name,
            time=time, value=value,
        )

    @staticmethod
    def _point_mask(d: _SiteData, names: frozenset[str]) -> Bool:
        mask = np.zeros(d.n, dtype=np.bool_)
        for name in names:
            mask[d.name_to_index[name]] = True
        return mask

    @staticmethod
    def _values(d: _SiteData, pidx: I64, k: I64, ts: I64, keys: U64) -> F64:
        """The numeric value of each sample, rounded to its point's decimals."""
        day = (ts % (86_400 * US)).astype(np.float64) / (86_400 * US)
        noise = uniform(hash_arr(keys, k, _S_NOISE)) * 2.0 - 1.0
        analog = d.base[pidx] + d.amp[pidx] * np.sin(2 * np.pi * day + d.day_phase[pidx])
        analog = np.clip(analog + d.noise[pidx] * noise, d.lo[pidx], d.hi[pidx])
        scale = d.scale[pidx]
        analog = np.round(analog * scale) / scale
        binary_mask = d.model[pidx] == MODEL_BINARY
        if binary_mask.any():
            run = k // d.run_len[pidx]
            state = uniform(hash_arr(keys, run, _S_BINARY)) < d.p_on[pidx]
            analog = np.where(binary_mask, state.astype(np.float64), analog)
        out: F64 = analog + 0.0
        return out

    @staticmethod
    def _empty_window(d: _SiteData, s: int, e: int) -> Window:
        empty_i: I64 = np.zeros(0, dtype=np.int64)
        empty_b: Bool = np.zeros(0, dtype=np.bool_)
        return Window(
            site=d.info.name, start_us=s, end_us=e, pidx=empty_i, ts=empty_i, avail=empty_i,
            avail_sorted=empty_i, num=np.zeros(0, dtype=np.float64), is_bad=empty_b,
            bad_name=empty_b, time=pa.array([], type=pa.string()),
            value=pa.array([], type=pa.string()),
        )

    # ----------------------------------------------------------- served rows
    def raw_rows(self, site: str, start_us: int, end_us: int, as_of_us: int | None) -> Rows:
        """What ``raw_data=true`` serves for ``[start, end]`` (inclusive) as of ``as_of``."""
        win = self.window(site, start_us, end_us)
        return _take_rows(win, win.visible_mask(as_of_us))

    def bucket_bounds(self, start_us: int, end_us: int) -> tuple[int, int]:
        """First and last 5-minute bucket start within ``[start, end]`` (first > last: none)."""
        first = -(-start_us // BUCKET_US) * BUCKET_US
        last = (end_us // BUCKET_US) * BUCKET_US
        return first, last

    def bucket_rows(self, site: str, start_us: int, end_us: int, as_of_us: int | None) -> Rows:
        """What ``raw_data=false`` serves: one row per point per 5-minute bucket whose start
        lies in ``[start, end]``, valued with the mean of the bucket's finite numbers
        (null when it has none), for buckets with at least one visible good sample."""
        d = self._data(site)
        first, last = self.bucket_bounds(start_us, end_us)
        if first > last:
            return _take_rows(self._empty_window(d, start_us, end_us), None)
        win = self.window(site, first, last + BUCKET_US - 1)
        mask = ~win.is_bad
        vis = win.visible_mask(as_of_us)
        if vis is not None:
            mask &= vis
        pidx, ts, num = win.pidx[mask], win.ts[mask], win.num[mask]
        nb = (last - first) // BUCKET_US + 1
        group = pidx * nb + (ts - first) // BUCKET_US
        uniq, inverse = np.unique(group, return_inverse=True)
        finite = np.isfinite(num)
        sums = np.bincount(inverse, weights=np.where(finite, num, 0.0), minlength=len(uniq))
        cnts = np.bincount(inverse, weights=finite.astype(np.float64), minlength=len(uniq))
        g_pidx = uniq // nb
        g_ts = first + (uniq % nb) * BUCKET_US
        order = np.lexsort((d.rank[g_pidx], g_ts))
        g_pidx, g_ts, sums, cnts = g_pidx[order], g_ts[order], sums[order], cnts[order]
        has_value = cnts > 0
        means = np.round(np.where(has_value, sums / np.maximum(cnts, 1.0), 0.0) * 1e4) / 1e4
        value = pc.if_else(pa.array(has_value), format_numbers(means), pa.scalar(None, pa.string()))
        none = np.zeros(len(g_ts), dtype=np.bool_)
        return Rows(g_pidx.astype(np.int64), g_ts.astype(np.int64), none, none,
                    iso_text(g_ts, micros=False), value)

    def rows_table(self, site: str, rows: Rows) -> pa.Table:
        """``name, time, value, ts, is_bad`` of a row set."""
        d = self._data(site)
        name_index = np.where(rows.bad_name, d.n, rows.pidx)
        return pa.table({
            "name": d.names.take(pa.array(name_index)),
            "time": rows.time.cast(pa.string()),
            "value": rows.value.cast(pa.string()),
            "ts": pa.array(rows.ts, type=TS_TYPE),
            "is_bad": pa.array(rows.is_bad, type=pa.bool_()),
        })

    def name_json(self, site: str) -> pa.Array:
        """Per point ``{"name":<json>,"value":`` prefixes (large_string; the last entry is
        the empty name of bad samples)."""
        return self._data(site).name_json()

    # ----------------------------------------------------------------- oracles
    def samples(self, site: str, start: datetime, end: datetime,
                as_of: datetime | None = None) -> pa.Table:
        """Exactly what ``raw_data=true`` serves for ``[start, end]`` (end inclusive) as of
        ``as_of`` (``None``: everything, late uploads released): ``name, time, value`` as
        served, ``ts`` (the generated instant, UTC) and ``is_bad``; sorted by (ts, name)."""
        rows = self.raw_rows(site, to_us(start, "start"), to_us(end, "end"),
                             None if as_of is None else to_us(as_of, "as_of"))
        return self.rows_table(site, rows)

    def buckets(self, site: str, start: datetime, end: datetime,
                as_of: datetime | None = None) -> pa.Table:
        """Exactly what ``raw_data=false`` serves (same columns as :meth:`samples`)."""
        rows = self.bucket_rows(site, to_us(start, "start"), to_us(end, "end"),
                                None if as_of is None else to_us(as_of, "as_of"))
        return self.rows_table(site, rows)

    def truth(self, site: str, start: datetime, end: datetime,
              as_of: datetime | None = None) -> pa.Table:
        """The good samples of the half-open window ``[start, end)`` visible as of ``as_of``
        (``None``: everything): ``point, ts, value_raw``, sorted by (point, ts)."""
        d = self._data(site)
        rows, inside = self._half_open(site, start, end, as_of)
        picked = np.flatnonzero(inside & ~rows.is_bad)
        order = picked[np.lexsort((rows.ts[picked], d.rank[rows.pidx[picked]]))]
        return pa.table({
            "point": d.names.take(pa.array(rows.pidx[order])),
            "ts": pa.array(rows.ts[order], type=TS_TYPE),
            "value_raw": rows.value.take(pa.array(order)).cast(pa.string()),
        })

    def truth_bad(self, site: str, start: datetime, end: datetime,
                  as_of: datetime | None = None) -> pa.Table:
        """The samples of ``[start, end)`` a client must quarantine: ``point`` (``""`` for an
        empty name), ``time_raw``, ``value_raw``, ``ts`` (the generated instant, for
        windowing only); sorted by (ts, point)."""
        d = self._data(site)
        rows, inside = self._half_open(site, start, end, as_of)
        picked = np.flatnonzero(inside & rows.is_bad)
        take = pa.array(picked)
        return pa.table({
            "point": d.names.take(pa.array(np.where(rows.bad_name[picked], d.n,
                                                    rows.pidx[picked]))),
            "time_raw": rows.time.take(take).cast(pa.string()),
            "value_raw": rows.value.take(take).cast(pa.string()),
            "ts": pa.array(rows.ts[picked], type=TS_TYPE),
        })

    def _half_open(self, site: str, start: datetime, end: datetime,
                   as_of: datetime | None) -> tuple[Rows, Bool]:
        end_us = to_us(end, "end")
        rows = self.raw_rows(site, to_us(start, "start"), end_us,
                             None if as_of is None else to_us(as_of, "as_of"))
        inside: Bool = rows.ts < end_us
        return rows, inside

    def stats(self) -> dict[str, Any]:
        """Cache counters (for benchmarks and debugging)."""
        return {"windows": len(self._windows), "window_bytes": self._windows.bytes,
                "hits": self._windows.hits, "misses": self._windows.misses,
                "version": self._version}


def sample_counts(world: World, site: str, start: datetime, end: datetime) -> npt.NDArray[Any]:
    """Samples per point in ``[start, end]`` (a cheap planning helper for benchmarks)."""
    win = world.window(site, to_us(start), to_us(end))
    return np.bincount(win.pidx, minlength=len(world.points(site)))
