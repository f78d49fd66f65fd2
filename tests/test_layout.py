"""The package's layering: each folder is one stage, and imports only run downward
(apps → ml → data → physics).  Read from the source with ``ast`` (lazy imports inside functions
count too), so the layout cannot silently decay."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lagnb"
STAGES = ("physics", "data", "ml", "apps")
"""Bottom to top: a stage may import the stages below it, never those above."""
TOP = ("lagnb.cli", "lagnb.pipeline")
"""The command line and the notebook runner sit on top of every stage."""
HEAVY = {
    "physics": (
        *("torch", "transformers", "accelerate", "datasets", "pandas", "matplotlib"),
        "feynlag",
    ),
    "data": ("torch", "transformers", "accelerate"),
}
"""Third-party imports a stage must not make (the engine stays pure and fast to import; the
external feynlag tool is driven from apps only)."""
SIDE_EFFECTS = ("tempfile", "shutil")
"""Modules of file writing that the SymPy side of physics (components, spectrum, the feynlag
source text) must not import: writing files is the edge's job (lagnb.apps.export, ufo)."""
PURE_SYMBOLIC = ("symbolic.py", "spectrum.py", "feynlag_source.py")


def imported_modules(path: Path, root: Path = PACKAGE.parent) -> set[str]:
    """Absolute names of every module ``path`` (a file under ``root``) imports, anywhere in it."""
    parts = path.relative_to(root).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, node.module) if node.module else base)
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def stage_files(stage: str) -> list[Path]:
    return sorted((PACKAGE / stage).rglob("*.py"))


def violations(stage: str, files: list[Path], root: Path = PACKAGE.parent) -> list[str]:
    above = STAGES[STAGES.index(stage) + 1 :]
    forbidden = tuple(f"lagnb.{s}" for s in above) + TOP
    heavy = HEAVY.get(stage, ())
    found = []
    for f in files:
        for name in sorted(imported_modules(f, root)):
            top = name.split(".")[0]
            if name.startswith(forbidden) or top in heavy:
                found.append(f"{f.relative_to(root)} imports {name}")
    return found


@pytest.mark.parametrize("stage", STAGES)
def test_imports_run_downward(stage):
    files = stage_files(stage)
    assert files, f"lagnb/{stage}/ has no modules"
    assert violations(stage, files) == []


def test_every_module_lives_in_a_stage():
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "cli.py", "errors.py", "figures.py", "paths.py", "pipeline.py"}


def test_the_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "lagnb" / "physics" / "_layout_probe.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("def f():\n    import torch\n    from ..ml import model\n")
    found = violations("physics", [bad], root=tmp_path)
    assert found == [
        "lagnb/physics/_layout_probe.py imports lagnb.ml",
        "lagnb/physics/_layout_probe.py imports lagnb.ml.model",
        "lagnb/physics/_layout_probe.py imports torch",
    ]


def test_the_symbolic_physics_writes_no_files():
    for name in PURE_SYMBOLIC:
        path = PACKAGE / "physics" / name
        found = {m for m in imported_modules(path) if m.split(".")[0] in (*SIDE_EFFECTS, "os")}
        assert found == set(), f"{name} imports {sorted(found)}"
        text = path.read_text()
        assert "open(" not in text and ".write_text(" not in text, name
