"""The package's layout along the data flow (docs/architecture.md): every import, including
those inside functions, goes down the stages, and no module imports itself in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "extract"
#: the stages, lowest first; a module may import its own stage and the stages below
STAGES = ("core", "standin", "source", "landing", "warehouse", "ops")
RANK = {"core": 0, "standin": 0, "source": 1, "landing": 2, "warehouse": 3, "ops": 4}
#: entry points: the only modules that import across all stages
ENTRY = {"extract", "extract.__main__", "extract.cli", "extract.report"}
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``name`` imports, anywhere in its body."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            # the longest known module the name is, or is inside of
            parts = t.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in known:
                    if cand != name:
                        out.add(cand)
                    break
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {n: _imports(n, p, known) for n, p in mods.items()}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def test_every_module_is_in_a_stage_or_an_entry_point() -> None:
    loose = [m for m in _modules() if m not in ENTRY and _stage(m) is None]
    assert not loose, f"modules outside the stages {STAGES}: {loose}"


def test_imports_only_go_down_the_stages() -> None:
    bad = []
    for mod, deps in _graph().items():
        if mod in ENTRY:
            continue
        stage = _stage(mod)
        assert stage is not None
        for dep in deps:
            if dep in ENTRY:
                bad.append(f"{mod} imports the entry point {dep}")
                continue
            dep_stage = _stage(dep)
            assert dep_stage is not None
            if dep_stage != stage and RANK[dep_stage] >= RANK[stage]:
                bad.append(f"{mod} ({stage}) imports {dep} ({dep_stage})")
    assert not bad, "\n".join(bad)


def test_standin_stands_alone() -> None:
    """The API stand-in is a separate program: it imports nothing else of the project."""
    bad = [(m, d) for m, deps in _graph().items() if _stage(m) == "standin"
           for d in deps if _stage(d) != "standin"]
    assert not bad


def test_no_import_cycles() -> None:
    graph = _graph()
    # a package's __init__ re-exporting its submodules is not a cycle with them
    edges = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(edges.get(m, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    """The parser finds an import hidden in a function body, relative or absolute."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from ..ops.mainjob import main_job\n"
                   "    import extract.cli\n")
    known = {"extract.ops.mainjob", "extract.cli", "extract.landing.x"}
    assert _imports("extract.landing.x", src, known) == {"extract.ops.mainjob", "extract.cli"}


@pytest.mark.parametrize("module", sorted(m for m in _modules() if _stage(m) != "standin"))
def test_modules_are_small(module: str) -> None:
    lines = len(_modules()[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module}: {lines} lines (at most {MAX_LINES})"


def test_only_settings_reads_the_environment() -> None:
    """Everything else receives values (os.environ may be written, for dbt's env_var)."""
    readers = []
    for name, path in _modules().items():
        if name == "extract.core.config" or _stage(name) == "standin":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                f = node.func
                owner = ast.unparse(f.value)
                if (owner == "os.environ" and f.attr == "get") or (
                        owner == "os" and f.attr == "getenv"):
                    readers.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ" \
                    and isinstance(node.ctx, ast.Load):
                readers.append(f"{name}:{node.lineno}")
    assert not readers, f"environment read outside Settings: {readers}"
