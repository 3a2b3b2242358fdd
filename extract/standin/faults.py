"""Injected misbehaviour: each :class:`Fault` is consumed ``count`` times.

Kinds (``params`` in brackets, defaults after ``=``):

``status`` [code=503]
    answer with that status (500, 502, 503, 504, or any other 4xx/5xx) and a JSON detail.
``rate_limit`` [retry_after=1]
    429 with a ``Retry-After`` header: a number is sent as whole seconds, a text exactly as
    given (``"inf"``, ``"100000000000"``, ``"-5"``, an HTTP date, junk).
``slow`` [delay=2.0]
    wait ``delay`` seconds (real time), then answer normally (other faults may still apply).
``truncate`` [min_page_size=0, fraction=0.5]
    for time-series requests with ``page_size >= min_page_size``: send the headers with the
    full ``Content-Length``, then only ``fraction`` of the body, then close the connection.
``empty_page_with_cursor``
    a time-series page with no samples whose ``next_cursor`` points at the same offset
    (the next request continues normally).
``has_more_mismatch`` [mode="false_with_cursor"]
    ``false_with_cursor``: on a page that is *not* the last, ``has_more`` is false while
    ``next_cursor`` is set. ``true_without_cursor``: on the *last* page, ``has_more`` is
    true while ``next_cursor`` is null. Consumed only by a page where it applies.
``not_found``
    404 ``{"detail": "No data"}``.
``unauthorized``
    401, whatever the token.
``echo_token`` [code=401]
    answer with that status (401, 403, 422, 429, 500...) and a JSON ``detail`` that echoes
    the bearer token the request carried, bare and as ``Bearer <token>``, and the header
    ``X-Echo-Authorization: Bearer <token>``; with 429 the token is the ``Retry-After``
    value too. For tests that the token never leaves the client's process.
``loop_cursor``
    a time-series page with samples, asked for with a cursor, answers that same cursor as
    its ``next_cursor`` (following it would repeat the page forever). Consumed only where
    it applies.
``stray_samples`` [times=["1970-01-01T00:00:00.000000", "2099-01-01T00:00:00.000000Z"]]
    a time-series page with samples also carries one sample of the site's first point at
    each of ``times``, whatever window was asked for (the API has been seen to do this).

``path`` is a substring matched against the request path (``/api/sites/x/timeseries/...``);
the default ``"timeseries"`` targets the time-series endpoint only, ``""`` matches all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FAULT_KINDS = frozenset(
    {
        "status",
        "rate_limit",
        "slow",
        "truncate",
        "empty_page_with_cursor",
        "has_more_mismatch",
        "not_found",
        "unauthorized",
        "echo_token",
        "stray_samples",
        "loop_cursor",
    }
)
#: kinds decided before the request is routed (they replace or delay the whole answer)
PRE_KINDS = frozenset({"status", "rate_limit", "slow", "not_found", "unauthorized",
                       "echo_token"})
HAS_MORE_MODES = ("false_with_cursor", "true_without_cursor")
_DEFAULTS: dict[str, dict[str, Any]] = {
    "status": {"code": 503},
    "rate_limit": {"retry_after": 1},
    "slow": {"delay": 2.0},
    "truncate": {"min_page_size": 0, "fraction": 0.5},
    "empty_page_with_cursor": {},
    "has_more_mismatch": {"mode": "false_with_cursor"},
    "not_found": {},
    "unauthorized": {},
    "echo_token": {"code": 401},
    "loop_cursor": {},
    "stray_samples": {"times": ["1970-01-01T00:00:00.000000", "2099-01-01T00:00:00.000000Z"]},
}


class Fault:
    """One kind of misbehaviour, applied to the next ``count`` matching requests."""

    def __init__(self, kind: str, count: int = 1, path: str = "timeseries", **params: Any) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if int(count) < 1:
            raise ValueError("count must be >= 1")
        unknown = set(params) - set(_DEFAULTS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes no parameter(s) {sorted(unknown)}")
        self.kind = kind
        self.count = int(count)
        self.path = str(path)
        self.params: dict[str, Any] = {**_DEFAULTS[kind], **params}
        if kind in ("status", "echo_token"):
            code = int(self.params["code"])
            if not 400 <= code <= 599:
                raise ValueError(f"{kind} fault code must be a 4xx or 5xx status")
            self.params["code"] = code
        if kind == "has_more_mismatch" and self.params["mode"] not in HAS_MORE_MODES:
            raise ValueError(f"has_more_mismatch mode must be one of {HAS_MORE_MODES}")
        if kind == "stray_samples" and not (
                isinstance(self.params["times"], list)
                and all(isinstance(t, str) for t in self.params["times"])):
            raise ValueError("stray_samples times must be a list of time texts")
        if kind == "truncate" and not 0.0 <= float(self.params["fraction"]) < 1.0:
            raise ValueError("truncate fraction must be in [0, 1)")
        self.remaining = self.count

    def param(self, name: str) -> Any:
        return self.params[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "remaining": self.remaining,
            "path": self.path,
            **self.params,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Fault:
        """Build from ``{"kind": ..., "count"?, "path"?, <params> | "params": {...}}``."""
        if not isinstance(obj, dict) or "kind" not in obj:
            raise ValueError("a fault is a JSON object with a 'kind'")
        reserved = {"kind", "count", "path", "params", "remaining"}
        rest = {k: v for k, v in obj.items() if k not in reserved}
        nested = obj.get("params") or {}
        if not isinstance(nested, dict):
            raise ValueError("fault 'params' must be an object")
        return cls(
            str(obj["kind"]),
            count=int(obj.get("count", 1)),
            path=str(obj.get("path", "timeseries")),
            **{**rest, **nested},
        )

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return (
            f"Fault({self.kind!r}, count={self.count}, path={self.path!r}{params})"
            f" [remaining={self.remaining}]"
        )


@dataclass(frozen=True)
class FiredFault:
    """A record that a fault changed the answer to one request."""

    kind: str
    path: str
    params: dict[str, Any]


class FaultSet:
    """The faults armed on one server; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.fired: list[FiredFault] = []

    def add(self, fault: Fault) -> Fault:
        if not isinstance(fault, Fault):
            raise TypeError("FaultSet.add expects a Fault")
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every fault (the ``fired`` history is kept)."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults with uses left, in the order they will be tried."""
        with self._lock:
            return [f for f in self._faults if f.remaining > 0]

    def __len__(self) -> int:
        return len(self.pending())

    def take(
        self,
        path: str,
        kinds: frozenset[str] | set[str],
        when: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """Consume one use of the first armed fault of one of ``kinds`` matching ``path``.

        ``when`` further restricts which faults apply (e.g. only on the last page); a fault
        it rejects is left armed.
        """
        with self._lock:
            for fault in self._faults:
                if (
                    fault.remaining > 0
                    and fault.kind in kinds
                    and fault.path in path
                    and (when is None or when(fault))
                ):
                    fault.remaining -= 1
                    self._faults = [f for f in self._faults if f.remaining > 0]
                    self.fired.append(FiredFault(fault.kind, path, dict(fault.params)))
                    return fault
        return None
