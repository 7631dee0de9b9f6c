"""Whole-notebook jobs run with the notebook's own kernel (another environment than the server's), say
so in the job log, put papermill's parameter warnings there, and number cells as the user sees them."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest

from .conftest import make_notebook

PACKAGE = "azml_kernel_only"  # installed in the other environment only


def _wheel(folder: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A pure-Python wheel written by hand (the test environment has no wheel-building backend)."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {
        **files,
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: azml-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{dist}.dist-info/RECORD"] = "\n".join(record + [f"{dist}.dist-info/RECORD,,"]) + "\n"
    wheel = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


@pytest.fixture
def other_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A venv with a package the server's environment lacks (pip-installed from a local wheel, no
    index) and a kernelspec ``other-env`` that runs it. The venv sees the server's packages through a
    .pth (so it has ipykernel without a download); the package is its own."""
    assert importlib.util.find_spec(PACKAGE) is None, "the server's environment must not have the package"
    venv = tmp_path / "other-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "server-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    module = {f"{PACKAGE}/__init__.py": "WHERE = 'the other environment'\n"}
    wheel = _wheel(tmp_path, PACKAGE.replace("_", "-"), "1.0", module)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    kernels = tmp_path / "jupyter" / "kernels" / "other-env"
    kernels.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (kernels / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Other env", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))  # where the "server" finds kernelspecs
    return {"name": "other-env", "python": str(python)}


def test_the_job_runs_with_the_notebooks_kernel_and_its_environment(other_kernel, local_backend, tmp_path):
    from azml_jupyter.notebook import submit_notebook

    notebook = make_notebook(
        [
            "label = 'default'",
            f"import sys\nimport {PACKAGE}\nprint('kernel-env:', {PACKAGE}.WHERE, sys.executable, label)",
        ],
        {0: ["parameters"]},
    )
    notebook.metadata["kernelspec"] = {"name": "other-env", "display_name": "Other env", "language": "python"}
    path = tmp_path / "other.ipynb"
    nbformat.write(notebook, path)
    job = submit_notebook(path, {"label": "run"}, backend=local_backend, show=False)
    record = job.wait(timeout=240)
    log = job.logs()
    assert record.status.value == "Completed", log
    assert f"[azml] Notebook kernel: Other env (other-env), interpreter {other_kernel['python']}" in log
    assert f"kernel-env: the other environment {other_kernel['python']} run" in log
    # the environment was captured from the kernel's interpreter: it knows the package (a local install)
    assert "[azml] note: azml-kernel-only 1.0 is installed from a local folder" in log


def test_parameter_warnings_reach_the_log_and_cells_are_numbered_as_in_the_notebook(local_backend, tmp_path):
    from azml_jupyter.notebook import submit_notebook

    notebook = make_notebook(
        [("markdown", "# Report"), "rows = 1", "raise KeyError('missing column: age')", "z = 3"],
        {1: ["parameters"]},
    )
    path = tmp_path / "report.ipynb"
    nbformat.write(notebook, path)
    job = submit_notebook(path, {"rows": 2, "extra": 1}, backend=local_backend, show=False)
    expected = "The cell tagged 'parameters' of report.ipynb does not set extra"
    assert any(expected in note for note in job.notes), job.notes
    record = job.wait(timeout=240)
    log = job.logs()
    assert record.status.value == "Failed"
    assert f"[azml] note: {expected}" in log
    # the injected cell is papermill's, not the user's: the raise is the user's 2nd code cell
    assert "Notebook failed in code cell 2 of report.ipynb" in record.error, record.error
    assert log.rstrip().splitlines()[-1].startswith("[azml] Notebook failed in code cell 2 of report.ipynb")
    assert "Executing code cell 2" in log and "Executing Cell" not in log
    assert "code cell 2, line 1" in log and "Cell In[" not in log  # the kernel's traceback, renumbered
    assert "PapermillExecutionError" not in log and "click" not in log  # no papermill/click internals


def test_the_job_command_and_files_name_the_kernel(tmp_path):
    from azml_jupyter.notebook.notebook_job import build_notebook_job

    path = tmp_path / "n.ipynb"
    nbformat.write(make_notebook(["x = 1"]), path)
    folder = build_notebook_job(path, tmp_path / "job")
    spec = __import__("yaml").safe_load(folder.yaml_text)
    assert spec["command"].startswith("python azml_runtime.py papermill n.ipynb outputs/n.ipynb -k python3 -l python")
    shipped = json.loads((folder.root / "src" / "azml_notebook.json").read_text())
    assert shipped["kernel"]["name"] == "python3" and shipped["kernel"]["interpreter"] == sys.executable
    conda = (folder.root / "environment" / "conda.yaml").read_text()
    assert "papermill==" in conda and "ipykernel==" in conda


def test_an_unknown_kernel_is_refused(tmp_path):
    from azml_jupyter.errors import InvalidRequest
    from azml_jupyter.notebook.notebook_job import build_notebook_job

    notebook = make_notebook(["x = 1"])
    notebook.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "Gone", "language": "python"}
    path = tmp_path / "n.ipynb"
    nbformat.write(notebook, path)
    with pytest.raises(InvalidRequest, match="runs with the kernel 'no-such-kernel', which is not installed here"):
        build_notebook_job(path, tmp_path / "job")
    assert not (tmp_path / "job").exists()

