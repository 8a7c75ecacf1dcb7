"""The house reads as its pipeline: every stage is a package, and imports only run from a later
stage to an earlier one (docs/layout.md draws the picture). The rule is read from the real source
tree, every `import` and `from ... import` in every module, function-local ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "harness"

# Earliest first: a module may import its own stage and any stage before it, never a later one.
# store and analysis come before build and measure because the runner saves each workload as it
# finishes and stops on a statistical rule; the vocabulary is what every stage speaks.
STAGES = (
    "vocabulary",
    "store",
    "analysis",
    "build",
    "measure",
    "servers",
    "profile",
    "report",
    "scaffold",
    "cli",
)
VOCABULARY = {"model", "errors", "config"}
TOP_LEVEL_ALLOWED = {"__init__", "__main__", *VOCABULARY}


def stage_of(module: str) -> str:
    """`harness.analysis.stats` -> "analysis"; `harness.model` -> "vocabulary"."""
    parts = module.split(".")
    if len(parts) < 2 or parts[0] != "harness":
        raise ValueError(f"not a harness module: {module}")
    if parts[1] in VOCABULARY:
        return "vocabulary"
    if parts[1] not in STAGES:
        raise ValueError(f"{module}: not in a stage package ({', '.join(STAGES[1:])})")
    return parts[1]


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(root: Path, path: Path, module: str) -> set[str]:
    """Every harness module `path` imports; `from harness.x import y` counts as harness.x.y when y
    is a module, harness.x otherwise (both are in stage x)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("harness"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "harness" or target.startswith("harness."):
                folder = root.parent.joinpath(*target.split("."))
                for alias in node.names:
                    is_module = (folder / f"{alias.name}.py").is_file() or (
                        folder / alias.name
                    ).is_dir()
                    found.add(f"{target}.{alias.name}" if is_module else target)
    return found


def wrong_way_imports(root: Path) -> list[str]:
    """'<module> imports <module> (<stage> -> later stage <stage>)' for each import against the
    pipeline's order, and each module outside a stage package."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        if "templates" in path.relative_to(root).parts:
            continue  # scaffold templates are copied into a user's workloads, not imported
        module = module_name(root, path)
        if path.parent == root and path.stem not in TOP_LEVEL_ALLOWED:
            problems.append(f"{module}: a top-level module outside the stage packages")
            continue
        if module in ("harness", "harness.__main__"):
            continue
        own = STAGES.index(stage_of(module))
        for target in sorted(imported_modules(root, path, module)):
            if target in ("harness", "harness.__main__"):
                continue
            theirs = STAGES.index(stage_of(target))
            if theirs > own:
                problems.append(
                    f"{module} imports {target} ({STAGES[own]} -> later stage {STAGES[theirs]})"
                )
    return problems


def test_no_import_runs_from_an_earlier_stage_into_a_later_one():
    assert wrong_way_imports(HARNESS) == []


def test_every_stage_is_a_package_that_says_what_it_may_import():
    for stage in STAGES[1:]:
        init = HARNESS / stage / "__init__.py"
        assert init.is_file(), f"harness/{stage}/ is not a package"
        tree = ast.parse(init.read_text())
        docstring = ast.get_docstring(tree)
        assert docstring and "may import" in docstring.lower(), f"{init}: no import rule stated"
        # a docstring only: importing a stage's package must not pull in its modules
        assert len(tree.body) == 1, f"{init}: holds code besides its docstring"


def test_the_top_level_holds_only_the_shared_vocabulary():
    top = {p.stem for p in HARNESS.glob("*.py")}
    assert top == TOP_LEVEL_ALLOWED


# --- the checker itself, on a small tree with known faults -----------------------------------


def write(root: Path, relative: str, text: str = "") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "harness"
    write(root, "__init__.py")
    write(root, "model.py")
    for stage in ("store", "analysis", "measure", "report"):
        write(root, f"{stage}/__init__.py", '"""May import nothing."""\n')
    write(root, "report/formatting.py")
    write(root, "report/charts.py")
    return root


def test_checker_accepts_imports_down_the_pipeline(tree):
    write(tree, "report/html.py", "from harness.analysis import stats\nfrom harness import model\n")
    write(tree, "analysis/stats.py", "from harness.store.results import load_run\n")
    write(tree, "measure/runner.py", "def f():\n    from harness.analysis.stats import median\n")
    assert wrong_way_imports(tree) == []


@pytest.mark.parametrize(
    ("relative", "source", "expected"),
    [
        (
            "analysis/capacity.py",
            "from harness.report import formatting\n",
            "harness.analysis.capacity imports harness.report.formatting "
            "(analysis -> later stage report)",
        ),
        (
            "store/history.py",
            "def key():\n    import harness.analysis.compare\n",
            "harness.store.history imports harness.analysis.compare (store -> later stage analysis)",
        ),
        (
            "measure/noise.py",
            "from ..report import charts\n",
            "harness.measure.noise imports harness.report.charts (measure -> later stage report)",
        ),
        ("helpers.py", "", "harness.helpers: a top-level module outside the stage packages"),
    ],
)
def test_checker_names_each_wrong_way_import(tree, relative, source, expected):
    write(tree, relative, source)
    assert wrong_way_imports(tree) == [expected]


def test_the_tests_mirror_the_stage_packages():
    # A stage's tests live in tests/<stage>/; tests of the whole pipeline stay in tests/.
    folders = {p.name for p in HARNESS.parent.joinpath("tests").iterdir() if p.is_dir()}
    assert folders - {"fixtures", "__pycache__"} <= set(STAGES[1:])
