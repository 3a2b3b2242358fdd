"""The docs stay honest: every command is documented, the README's commands exist."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from extract.cli import build_parser

REPO = Path(__file__).resolve().parent.parent


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_and_flag_is_in_the_extractor_docs() -> None:
    doc = (REPO / "docs" / "extractor.md").read_text()
    for name, sub in subcommands().items():
        assert f"python -m extract {name}" in doc or f"| {name}" in doc, name
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help",):
                    assert flag in doc, f"{name} {flag} is not documented"


def test_every_environment_variable_is_documented() -> None:
    code = "".join(p.read_text() for p in (REPO / "extract").rglob("*.py"))
    used = set(re.findall(r'"((?:ACE|EXTRACT|LAKE|WAREHOUSE|PUBLISHED)_[A-Z_]+|DBT_VARS)"', code))
    doc = (REPO / "docs" / "extractor.md").read_text() + (REPO / ".env.example").read_text()
    assert used and not {v for v in used if v not in doc}


def test_readme_commands_are_make_targets_and_ci_runs_the_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    for cmd in re.findall(r"^make ([a-z-]+)", readme, re.M):
        assert cmd in targets, cmd
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (REPO / ".ci" / "run").read_text()
    assert re.search(r"^\.DEFAULT_GOAL := help", makefile, re.M)


def test_every_report_option_is_in_the_report_docs() -> None:
    from extract.ops.report import build_parser as report_parser

    doc = (REPO / "docs" / "report.md").read_text()
    flags = [f for a in report_parser()._actions for f in a.option_strings
             if f.startswith("--") and f != "--help"]
    assert "--site-pages" in flags and "--worst" in flags
    for flag in flags:
        assert f"| `{flag}`" in doc, f"report {flag} is not in docs/report.md's option table"
