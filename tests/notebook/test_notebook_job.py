"""Whole-notebook jobs (papermill semantics) on the local engine."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest

from azml_jupyter.errors import InvalidRequest
from azml_jupyter.notebook.notebook_job import build_notebook_job

from .conftest import make_notebook, outputs_text

PARAMETERISED = [
    "rows = 10\nlabel = 'default'\nscale = 1.0\nflags = []",
    "import json\ntotal = sum(range(rows)) * scale\n"
    "print(json.dumps({'label': label, 'total': total, 'flags': flags}))",
]


def write(path: Path, cells: list, tags: dict | None = None) -> Path:
    nbformat.write(make_notebook(cells, tags), path)
    return path


def test_whole_notebook_job_with_parameters_from_a_kernel(run_cells, local_backend, tmp_path):
    notebook = write(run_cells.folder / "report.ipynb", PARAMETERISED, {0: ["parameters"]})
    nb = run_cells(
        [
            "import azml_jupyter",
            f"job = azml_jupyter.submit_notebook({str(notebook)!r}, "
            "{'rows': 5, 'label': 'run two', 'scale': 2.5, 'flags': ['a', 'b']}, wait=True, show=False)\n"
            "files = job.download('downloaded')\nprint(job.name)",
        ]
    )
    name = outputs_text(nb.cells[-1]).strip().splitlines()[-1]
    record = local_backend.get_job(name)
    assert record.status.value == "Completed"
    assert record.inputs["rows"] == {"type": "literal", "value": 5}  # scalars are job inputs
    executed = nbformat.read(run_cells.folder / "downloaded" / "artifacts" / "outputs" / "report.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and executed.cells.index(injected[0]) == 1  # right after the `parameters` cell
    assert '"label": "run two", "total": 25.0, "flags": ["a", "b"]' in outputs_text(executed.cells[-1])


def test_failing_notebook_names_the_failing_cell(local_backend, tmp_path):
    from azml_jupyter.notebook import submit_notebook

    notebook = write(
        tmp_path / "broken.ipynb", ["x = 1", "y = x + 1", "raise KeyError('missing column: age')", "z = 3"]
    )
    job = submit_notebook(notebook, backend=local_backend, show=False)
    record = job.wait(timeout=180)
    assert record.status.value == "Failed"
    assert "Notebook failed in code cell 3" in record.error
    assert "KeyError" in record.error and "missing column: age" in record.error


def test_notebook_job_returns_a_command_entity_the_backend_runs(local_backend, tmp_path):
    from azure.ai.ml.entities import Command

    from azml_jupyter.notebook import notebook_job

    notebook = write(tmp_path / "n.ipynb", PARAMETERISED, {0: ["parameters"]})
    entity = notebook_job(notebook, parameters={"rows": 3}, experiment_name="rest", display_name="from REST")
    assert isinstance(entity, Command)
    assert entity.display_name == "from REST" and entity.experiment_name == "rest"
    record = local_backend.submit(entity)
    final = local_backend.get_job(record.name)
    while not final.is_terminal:
        time.sleep(0.1)
        final = local_backend.get_job(record.name)
    assert final.status.value == "Completed", local_backend.read_logs(record.name).text
    log = local_backend.read_logs(record.name).text
    assert '"total": 3.0' in log  # --log-output streams the cells' output into the job log


def test_parameter_typing_and_the_command(tmp_path):
    notebook = write(tmp_path / "my notebook.ipynb", PARAMETERISED, {0: ["parameters"]})
    folder = build_notebook_job(
        notebook,
        tmp_path / "job",
        parameters={"rows": 4, "label": "x y", "code": "007", "enabled": True, "flags": ["q"]},
        compute="cpu",
        environment="sklearn-env:3",
    )
    spec = __import__("yaml").safe_load(folder.yaml_text)
    assert spec["inputs"] == {"rows": 4, "label": "x y"}
    assert "-p rows ${{inputs.rows}}" in spec["command"] and "-p label '${{inputs.label}}'" in spec["command"]
    assert "papermill 'my notebook.ipynb' 'outputs/my notebook.ipynb' -k python3" in spec["command"]
    parameter_file = __import__("yaml").safe_load((folder.root / "src" / "azml_parameters.yaml").read_text())
    assert parameter_file == {"code": "007", "enabled": True, "flags": ["q"]}  # would change type through -p
    assert spec["environment"] == "azureml:sklearn-env:3" and spec["compute"] == "azureml:cpu"
    assert not (folder.root / "environment").exists()


def test_notebook_job_refusals(tmp_path):
    notebook = write(tmp_path / "n.ipynb", PARAMETERISED)
    with pytest.raises(InvalidRequest, match="not a Python identifier"):
        build_notebook_job(notebook, tmp_path / "a", parameters={"not valid": 1})
    with pytest.raises(InvalidRequest, match="environment variable AZURE_CLIENT_SECRET, which looks like a credential"):
        build_notebook_job(notebook, tmp_path / "b", environment_variables={"AZURE_CLIENT_SECRET": "s"})
    with pytest.raises(InvalidRequest, match="Notebook not found"):
        build_notebook_job(tmp_path / "missing.ipynb", tmp_path / "c")
    folder = build_notebook_job(notebook, tmp_path / "d", parameters={"rows": 1})
    assert any("no cell tagged 'parameters'" in note for note in folder.notes)
