"""Every shipped example runs as shipped in the environment ``scripts/lab`` makes (``pip install -e
.[lab]``): the packages the examples import are all in that install's requirements, and every
example notebook runs end to end in a real kernel on the local engine."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from packaging.requirements import Requirement

from .conftest import error_of, execute

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
NOTEBOOKS = sorted(p for p in EXAMPLES.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
LAB_SCRIPT = REPO / "scripts" / "lab"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _top_level_imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _example_imports() -> dict[str, set[str]]:
    """module -> the example files that import it (third-party modules only)."""
    found: dict[str, set[str]] = {}
    transform = TransformerManager().transform_cell  # %magics and !shell lines -> Python, as IPython does
    sources: list[tuple[Path, str]] = []
    for notebook in NOTEBOOKS:
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                sources.append((notebook, transform(cell.source)))
    for script in EXAMPLES.rglob("*.py"):
        sources.append((script, script.read_text()))
    local_modules = {p.stem for p in EXAMPLES.rglob("*.py")} | {p.name for p in EXAMPLES.rglob("*") if p.is_dir()}
    for path, source in sources:
        for module in _top_level_imports(source):
            if module in sys.stdlib_module_names or module in local_modules or module == "azml_jupyter":
                continue
            found.setdefault(module, set()).add(str(path.relative_to(REPO)))
    return found


def _requirement_closure(root: str, extras: set[str]) -> set[str]:
    """The distributions ``pip install root[extras]`` installs, read from the installed metadata."""
    seen: set[str] = set()
    pending = [(root, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        key = (_canonical(name), wanted)
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in environments):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def test_the_lab_install_has_every_package_the_examples_import():
    assert "ensure_venv lab" in LAB_SCRIPT.read_text()  # scripts/lab installs the [lab] extra
    installed = _requirement_closure("azml-jupyter", {"lab"})
    distributions = metadata.packages_distributions()
    missing = {}
    for module, where in sorted(_example_imports().items()):
        providers = {_canonical(d) for d in distributions.get(module, [module])}
        if not providers & installed:
            missing[module] = sorted(where)
    assert "pandas" in _example_imports()  # the check sees the notebook's imports
    assert not missing, f"imported by the examples but not installed by scripts/lab: {missing}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[str(p.relative_to(EXAMPLES)) for p in NOTEBOOKS])
def test_every_example_notebook_runs_end_to_end(notebook: Path, azml_home, tmp_path):
    folder = tmp_path / notebook.parent.name
    shutil.copytree(notebook.parent, folder)  # the run writes nothing into the repository
    executed = execute(nbformat.read(folder / notebook.name, as_version=4), folder, timeout=300)
    failed = [(i, error_of(c)) for i, c in enumerate(executed.cells) if error_of(c)]
    assert not failed, failed
