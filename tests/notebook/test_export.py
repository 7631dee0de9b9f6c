"""azml-jupyter export: the bank-marketing example's training cell -> job folder -> load_job -> the local
engine gives the same result as %%azml_submit in the notebook; the GitHub workflow has no secret."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from azml_jupyter.errors import InvalidRequest
from azml_jupyter.notebook import azml_runtime
from azml_jupyter.notebook.export import parse_cells

from .conftest import execute

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "bank-marketing"
TRAINING_CELL = "8"  # 1-based among code cells


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "azml_jupyter.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def wait(backend, name: str, timeout: float = 240):
    deadline = time.monotonic() + timeout
    record = backend.get_job(name)
    while not record.is_terminal and time.monotonic() < deadline:
        time.sleep(0.1)
        record = backend.get_job(name)
    return record


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example notebook inside a fresh git repository (for the workflow's paths)."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    folder = repo / "analysis"
    folder.mkdir()
    shutil.copy2(EXAMPLE / "bank-marketing.ipynb", folder)
    return folder


def test_export_runs_on_the_local_engine_with_the_same_result_as_the_magic(example, azml_home, local_backend):
    for module in ("numpy", "pandas", "sklearn"):
        pytest.importorskip(module, reason="test dependencies of the example: numpy, pandas, scikit-learn")
    import nbformat
    from azure.ai.ml import load_job
    from azure.ai.ml.entities import Command

    # 1. the notebook itself, through a real kernel: its %%azml_submit cell returns model_metrics
    notebook = nbformat.read(example / "bank-marketing.ipynb", as_version=4)
    execute(notebook, example, timeout=300)
    result = [o for o in notebook.cells[-1].outputs if o["output_type"] == "execute_result"]
    in_kernel = ast.literal_eval(result[0]["data"]["text/plain"])  # the cell shows model_metrics
    assert set(in_kernel) == {"rows", "accuracy", "precision", "recall", "roc_auc"}

    # 2. export the same cell (its %%azml_submit options come along: --return model_metrics)
    done = cli("export", "bank-marketing.ipynb", "--cells", TRAINING_CELL, "--to", "job", "--workflow", cwd=example)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["workflow"].endswith(".github/workflows/azml-bank-marketing.yml")
    job_dir = example / "job"
    assert {"job.yml", "src/main.py", "environment/conda.yaml", "src/azml_values/customers.parquet"} <= set(
        answer["files"]
    )

    # 3. azure-ai-ml's own loader accepts it, as `az ml job create -f` would
    entity = load_job(job_dir / "job.yml")
    assert isinstance(entity, Command)
    assert entity.environment.conda_file["dependencies"][-1]["pip"]  # the captured requirements
    assert "scikit-learn==" in " ".join(entity.environment.conda_file["dependencies"][-1]["pip"])

    # 4. it runs on the local engine and returns the same metrics
    record = wait(local_backend, local_backend.submit(entity).name)
    assert record.status.value == "Completed", local_backend.read_logs(record.name).text
    local_backend.download(record.name, example / "dl", output=azml_runtime.RETURNS_OUTPUT)
    returned = azml_runtime.load_values(str(example / "dl" / "named-outputs" / azml_runtime.RETURNS_OUTPUT))
    assert returned == {"model_metrics": in_kernel}


def test_workflow_is_valid_yaml_with_oidc_login_and_no_secret(example):
    done = cli("export", "bank-marketing.ipynb", "--to", "whole", "--workflow", "--name", "Nightly Report", cwd=example)
    assert done.returncode == 0, done.stderr
    path = example.parent / ".github" / "workflows" / "azml-nightly-report.yml"
    text = path.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers and triggers["push"]["paths"] == ["analysis/whole/**"]
    assert workflow["permissions"] == {"id-token": "write", "contents": "read"}
    steps = workflow["jobs"]["submit"]["steps"]
    assert [s.get("uses") for s in steps[:2]] == ["actions/checkout@v4", "azure/login@v2"]
    assert steps[1]["with"] == {
        "client-id": "${{ vars.AZURE_CLIENT_ID }}",
        "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
        "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
    }
    run = steps[-1]["run"]
    assert run.startswith('az ml job create --file "analysis/whole/job.yml"') and run.endswith("--stream")
    code = "\n".join(line for line in text.lower().splitlines() if not line.lstrip().startswith("#"))
    for forbidden in ("secret", "creds", "azure_credentials", "password"):
        assert forbidden not in code
    # the exported whole-notebook job loads as well
    from azml_jupyter.spec.loader import load_job_file

    job = load_job_file(example / "whole" / "job.yml")
    assert "papermill bank-marketing.ipynb outputs/bank-marketing.ipynb" in job.command


def test_export_refuses_credentials_in_the_job_environment(example):
    sources = example / "bank-marketing.ipynb"
    from azml_jupyter.notebook.export import export_notebook

    with pytest.raises(InvalidRequest, match="environment variable AZURE_CLIENT_SECRET, which looks like a credential"):
        export_notebook(sources, example / "out", cells="7", environment_variables={"AZURE_CLIENT_SECRET": "x"})
    assert not (example / "out").exists()


def test_export_refuses_a_non_empty_folder_and_bad_cell_numbers(example):
    (example / "busy").mkdir()
    (example / "busy" / "notes.txt").write_text("mine")
    done = cli("export", "bank-marketing.ipynb", "--to", "busy", cwd=example)
    assert done.returncode == 1 and "is not empty" in done.stderr
    done = cli("export", "bank-marketing.ipynb", "--cells", "40", "--to", "new", cwd=example)
    assert done.returncode == 1 and "there is no cell 40" in done.stderr


def test_parse_cells():
    assert parse_cells("3-5", 9) == [2, 3, 4]
    assert parse_cells("2, 5-6", 9) == [1, 4, 5]
    assert parse_cells([1, 1, 3], 3) == [0, 2]
    for bad in ("0", "5-3", "a", "10"):
        with pytest.raises(InvalidRequest):
            parse_cells(bad, 9)


def test_the_committed_example_export_is_current():
    """examples/bank-marketing/job was written by `azml-jupyter export`; it must load and carry this
    version's runtime (re-export after changing azml_runtime.py: see examples/bank-marketing/README.md)."""
    from azml_jupyter.spec.loader import load_job_file

    job_dir = EXAMPLE / "job"
    assert (job_dir / "src" / "azml_runtime.py").read_text() == Path(azml_runtime.__file__).read_text()
    job = load_job_file(job_dir / "job.yml")
    assert job.outputs["azml_returns"].type == "uri_folder"
    workflow = yaml.safe_load((EXAMPLE / "github-workflow" / "azml-bank-marketing.yml").read_text())
    assert "examples/bank-marketing/job/job.yml" in workflow["jobs"]["submit"]["steps"][-1]["run"]


def test_earlier_submit_cells_run_in_the_export_kernel_instead_of_submitting(tmp_path, azml_home, local_backend):
    import nbformat

    from .conftest import make_notebook

    notebook = tmp_path / "two-steps.ipynb"
    nbformat.write(
        make_notebook(
            [
                "%load_ext azml_jupyter",
                "base = 20",
                "%%azml_submit --return doubled\ndoubled = base * 2",
                "%%azml_submit --return answer\nanswer = doubled + 2",
            ]
        ),
        notebook,
    )
    done = cli("export", notebook.name, "--cells", "4", "--to", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert local_backend.list_jobs().jobs == []  # preparing the export submitted nothing
    values = json.loads((tmp_path / "out" / "src" / "azml_job.json").read_text())["values"]
    assert list(values) == ["doubled"] and values["doubled"]["cell"] == "code cell 3"
    assert (tmp_path / "out" / "src" / "azml_values" / "doubled.json").read_text() == "40"
