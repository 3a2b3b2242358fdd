"""Describe the machine a benchmark ran on: CPU, cores, RAM, OS, Python, package versions.

``python bench/_machine.py`` prints it; benchmarks import :func:`describe` and
:func:`format_machine` and store the dict next to their figures.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

#: the packages whose versions decide the figures (missing ones are reported as absent)
KEY_PACKAGES = ("httpx", "orjson", "pyarrow", "duckdb", "numpy", "dbt-core", "dbt-duckdb",
                "dbt-spark", "pyspark", "dlt", "psutil")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_bytes() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _physical_cores() -> int | None:
    try:
        import psutil

        n = psutil.cpu_count(logical=False)
        return int(n) if n else None
    except ImportError:
        return None


def _usable_cpus() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _os_name() -> str:
    pretty = None
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({kernel})" if pretty else kernel


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def describe() -> dict[str, Any]:
    """The machine and software as a JSON-able dict."""
    ram = _ram_bytes()
    return {
        "cpu_model": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": _usable_cpus(),
        "physical_cores": _physical_cores(),
        "ram_gib": round(ram / 2**30, 1) if ram else None,
        "os": _os_name(),
        "arch": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": package_versions(),
    }


def format_machine(m: dict[str, Any] | None = None) -> str:
    m = m or describe()
    cores = f"{m['logical_cpus']} logical CPUs"
    if m.get("physical_cores"):
        cores += f" ({m['physical_cores']} physical)"
    if m.get("usable_cpus") not in (None, m["logical_cpus"]):
        cores += f", {m['usable_cpus']} usable"
    pkgs = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    missing = [k for k, v in m["packages"].items() if not v]
    lines = [
        f"CPU:      {m['cpu_model']}; {cores}",
        f"RAM:      {m['ram_gib']} GiB",
        f"OS:       {m['os']} [{m['arch']}]",
        f"Python:   {m['python']}",
        f"Packages: {pkgs}" + (f" (absent: {', '.join(missing)})" if missing else ""),
    ]
    return "\n".join(lines)


def save_results(kind: str, doc: dict[str, Any]) -> Path:
    """Write a benchmark's figures to ``bench/results/<kind>-<UTC timestamp>.json``."""
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"results: {out.relative_to(out_dir.parent.parent)}")
    return out


if __name__ == "__main__":
    print(format_machine())
    sys.exit(0)
