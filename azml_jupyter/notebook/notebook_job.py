"""Whole-notebook jobs with papermill semantics.

The job folder holds the notebook, unchanged, in ``src/``; the job's command runs papermill on it::

    mkdir -p outputs && papermill NB.ipynb outputs/NB.ipynb -k python3 --log-output --no-progress-bar \
        -p lr ${{inputs.lr}} -p data ${{inputs.data}} [-f azml_parameters.yaml] \
      || python azml_runtime.py notebook-error outputs/NB.ipynb

- Parameters are injected after the cell tagged ``parameters`` (papermill's rule; without such a cell
  papermill puts them first). Numbers and plain strings become job inputs (``-p``), so each run can
  change them (``az ml job create --set inputs.lr=0.1``, the studio's "clone"); values papermill would
  read back as another type (``"True"``, ``"3"``), booleans, lists and dicts go in
  ``azml_parameters.yaml`` (``-f``).
- ``inputs`` (name -> local path / ``azureml:asset:version``) become data inputs whose mounted path is
  passed as the parameter of the same name.
- The executed notebook is written to ``./outputs/``, i.e. the job's default output
  (``artifacts/outputs/NB.ipynb`` after ``az ml job download`` / ``Job.download()``).
- When a cell fails, papermill exits non-zero and ``azml_runtime.py notebook-error`` prints the failing
  cell (number, first line, exception) as the last log line, which becomes the job's error.
"""

from __future__ import annotations

import ast
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest
from . import analysis, azml_runtime
from .packaging import (
    DEFAULT_IMAGE,
    SCHEMA,
    JobFolder,
    _copy_local_modules,
    _requirements,
    check_no_secrets,
    compute_reference,
    data_input,
    dump_yaml,
    environment_reference,
    write_conda_file,
)

if TYPE_CHECKING:
    from azure.ai.ml.entities import Command

PARAMETER_FILE = "azml_parameters.yaml"
KERNEL = "python3"
# What the job needs on top of what the notebook imports.
RUNNER_MODULES = {"papermill", "ipykernel", "nbformat"}
FOLDER_MAX_AGE = 24 * 3600


def build_notebook_job(
    path: str | Path,
    folder: Path,
    *,
    parameters: Mapping[str, Any] | None = None,
    inputs: Mapping[str, str] | None = None,
    compute: str | None = None,
    environment: str | None = None,
    experiment_name: str | None = None,
    display_name: str | None = None,
    name: str | None = None,
    environment_variables: Mapping[str, str] | None = None,
    relative_paths: bool = False,
) -> JobFolder:
    import nbformat

    path = Path(path)
    check_no_secrets(environment_variables)
    try:
        notebook = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise InvalidRequest(f"Notebook not found: {path}", details={"path": str(path)}) from None
    except Exception as exc:
        raise InvalidRequest(f"{path} is not a readable notebook: {exc}", details={"path": str(path)}) from None
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    if not code_cells:
        raise InvalidRequest(f"{path.name} has no code cells to run.")
    parameters = dict(parameters or {})
    inputs = dict(inputs or {})
    notes: list[str] = []
    for key in list(parameters) + list(inputs):
        if not analysis.re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise InvalidRequest(f"Parameter {key!r} is not a Python identifier.")
    both = set(parameters) & set(inputs)
    if both:
        raise InvalidRequest(f"{', '.join(sorted(both))} given both as a parameter and as an input.")
    tagged = [c for c in code_cells if "parameters" in (c.metadata.get("tags") or [])]
    if (parameters or inputs) and not tagged:
        notes.append(
            f"{path.name} has no cell tagged 'parameters'; papermill injects the parameters before the first cell."
        )

    root = Path(folder)
    src = root / "src"
    src.mkdir(parents=True, exist_ok=False)
    shutil.copy2(path, src / path.name)
    shutil.copy2(azml_runtime.__file__, src / "azml_runtime.py")

    job_inputs: dict[str, Any] = {}
    words = [f"-k {KERNEL}", "--log-output", "--no-progress-bar"]
    in_file: dict[str, Any] = {}
    for key, value in parameters.items():
        if _as_job_input(value):
            job_inputs[key] = value
            words.append(
                f"-p {key} '${{{{inputs.{key}}}}}'" if isinstance(value, str) else f"-p {key} ${{{{inputs.{key}}}}}"
            )
        else:
            in_file[key] = value
    for key, where in inputs.items():
        job_inputs[key] = data_input(where, root, None, relative_paths, key)
        words.append(f"-p {key} ${{{{inputs.{key}}}}}")
    if in_file:
        try:
            (src / PARAMETER_FILE).write_text(dump_yaml(in_file), encoding="utf-8")
        except Exception as exc:
            raise InvalidRequest(f"Parameters must be YAML-serialisable values: {exc}") from None
        words.append(f"-f {PARAMETER_FILE}")
    executed = f"outputs/{path.name}"
    command = (
        f"mkdir -p outputs && papermill {shlex.quote(path.name)} {shlex.quote(executed)} {' '.join(words)}"
        f" || python azml_runtime.py notebook-error {shlex.quote(executed)}"
    )

    modules = set(RUNNER_MODULES)
    for number, cell in enumerate(code_cells, 1):
        try:
            translated = analysis.translate_cell(cell.source, f"cell {number}", strict=False)
        except analysis.CellAnalysisError as exc:
            notes.append(f"Not analysed for imports: {exc.message}")
            continue
        for node in analysis.ast.walk(translated.tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    local = _copy_local_modules(modules, src, notes)
    requirements = _requirements(modules - local, notes)
    if environment is None:
        write_conda_file(root / "environment" / "conda.yaml", requirements)

    spec: dict[str, Any] = {"$schema": SCHEMA, "type": "command"}
    if name:
        spec["name"] = name
    spec["display_name"] = display_name or path.stem
    spec["experiment_name"] = experiment_name or _experiment(path)
    spec["description"] = f"Notebook {path.name} run with papermill by azml_jupyter"
    spec["tags"] = {"azml_jupyter": "notebook", "notebook": path.name}
    spec["code"] = "src"
    spec["command"] = command
    spec["environment"] = environment_reference(environment) or {
        "image": DEFAULT_IMAGE,
        "conda_file": "environment/conda.yaml",
    }
    if compute:
        spec["compute"] = compute_reference(compute)
    if job_inputs:
        spec["inputs"] = job_inputs
    if environment_variables:
        spec["environment_variables"] = {str(k): str(v) for k, v in environment_variables.items()}
    yaml_text = dump_yaml(spec)
    (root / "job.yml").write_text(yaml_text, encoding="utf-8")
    return JobFolder(
        root=root,
        yaml_text=yaml_text,
        notes=notes,
        shipped={"notebook": [path.name], "parameters": sorted(parameters), "inputs": sorted(inputs)},
        values={},
        requirements=requirements,
    )


def _as_job_input(value: Any) -> bool:
    """Values that survive ``-p NAME VALUE`` as themselves (papermill reads ints, floats and strings
    back; "True", "None", "3" and booleans would come back as another type or spelling)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    if isinstance(value, str):
        if "'" in value or "\n" in value or value in ("True", "False", "None") or not value.strip():
            return False
        try:
            float(value)
            return False
        except ValueError:
            return True
    return True


def _experiment(path: Path) -> str:
    text = analysis.re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem).strip("-.")
    return text or "notebooks"


def _scratch_folder() -> Path:
    """A folder that outlives the call (the entity refers to it until it is submitted); old ones are
    removed on the next call."""
    base = Path(tempfile.gettempdir()) / "azml-jupyter-notebook-jobs"
    base.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in base.iterdir():
        try:
            if now - old.stat().st_mtime > FOLDER_MAX_AGE:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:
            pass
    return base / uuid.uuid4().hex


def notebook_job(
    path: Path,
    *,
    parameters: dict | None = None,
    compute: str | None = None,
    environment: str | None = None,
    experiment_name: str | None = None,
    display_name: str | None = None,
    inputs: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Command:
    """The azure-ai-ml ``Command`` entity of a whole-notebook job (``backend.submit(entity)`` runs it).
    Its code folder is a scratch folder kept for a day (the submission copies or uploads it)."""
    folder = build_notebook_job(
        path,
        _scratch_folder(),
        parameters=parameters,
        inputs=inputs,
        compute=compute,
        environment=environment,
        experiment_name=experiment_name,
        display_name=display_name,
        name=name,
    )
    return folder.load()


def submit_notebook(
    path: str | Path,
    parameters: dict | None = None,
    *,
    compute: str | None = None,
    environment: str | None = None,
    experiment_name: str | None = None,
    display_name: str | None = None,
    inputs: Mapping[str, str] | None = None,
    name: str | None = None,
    wait: bool = False,
    show: bool | None = None,
    backend: Any = None,
):
    """Run a whole notebook as a job (papermill). Returns the ``Job`` handle; with ``wait`` it blocks
    until the job ends and raises JobFailed (naming the failing cell) if it did not complete."""
    from . import handle as _handle
    from .handle import Job, JobFailed
    from .submit import kernel_namespace

    scratch = Path(tempfile.mkdtemp(prefix="azml-notebook-"))
    try:
        folder = build_notebook_job(
            path,
            scratch / "job",
            parameters=parameters,
            inputs=inputs,
            compute=compute,
            environment=environment,
            experiment_name=experiment_name,
            display_name=display_name,
            name=name,
        )
        backend = backend or _handle.default_backend()
        record = backend.submit(folder.load())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    job = Job(record.name, backend=backend, record=record, returns=[], notes=folder.notes)
    _handle.remember(job)
    if show if show is not None else kernel_namespace() is not None:
        for note in folder.notes:
            print(f"note: {note}")
        job.show()
    if wait:
        final = job.wait()
        if final.status.value != "Completed":
            raise JobFailed(job._failure_message(final), details={"job": job.name, "status": final.status.value})
    return job
