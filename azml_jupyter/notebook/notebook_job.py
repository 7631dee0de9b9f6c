"""Whole-notebook jobs with papermill semantics.

The job folder holds the notebook, unchanged, in ``src/``; the job's command runs papermill on it through
the job's runtime helper (``azml_runtime.py papermill`` takes papermill's own command line)::

    python azml_runtime.py papermill NB.ipynb outputs/NB.ipynb -k KERNEL -l python --log-output \
        --no-progress-bar -p lr ${{inputs.lr}} -p data ${{inputs.data}} [-f azml_parameters.yaml]

- The notebook runs with its own kernel (``metadata.kernelspec``), as in JupyterLab: its interpreter is
  looked up here and its environment captured from it (``environment/conda.yaml``, its Python version),
  and ``src/azml_notebook.json`` carries the kernel's command. In the job the runtime makes that kernel
  papermill's ``-k KERNEL``: the kernel's own interpreter where it exists (the local engine, same
  machine), else the job environment's Python, built from the captured environment (Azure ML). The job
  log's first lines name the kernel and interpreter, and the notes of the submission (papermill's
  "Passed unknown parameter", no cell tagged ``parameters``, what the capture left out).
- Parameters are injected after the cell tagged ``parameters`` (papermill's rule; without such a cell
  papermill puts them first). Numbers and plain strings become job inputs (``-p``), so each run can
  change them (``az ml job create --set inputs.lr=0.1``, the studio's "clone"); values papermill would
  read back as another type (``"True"``, ``"3"``), booleans, lists and dicts go in
  ``azml_parameters.yaml`` (``-f``).
- ``inputs`` (name -> local path / ``azureml:asset:version``) become data inputs whose mounted path is
  passed as the parameter of the same name.
- The executed notebook is written to ``./outputs/``, i.e. the job's default output
  (``artifacts/outputs/NB.ipynb`` after ``az ml job download`` / ``Job.download()``).
- When a cell fails, the runtime prints the cell's traceback and, as the last log line (the job's error
  on the local engine), the failing cell numbered as the user sees the notebook (``code cell 2``: the
  cell papermill injects is not counted); papermill's "Executing Cell N" lines are renumbered likewise.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest
from ..spec import secrets
from . import analysis, azml_runtime, environment_capture
from .packaging import (
    DEFAULT_IMAGE,
    SCHEMA,
    JobFolder,
    _copy_local_modules,
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
DEFAULT_KERNEL = "python3"  # for a notebook whose metadata names no kernel (JupyterLab would ask)
# What the job needs on top of what the notebook imports: the kernel side (captured from the kernel's
# interpreter) and the side that runs papermill (captured from this process).
KERNEL_MODULES = {"ipykernel"}
RUNNER_MODULES = {"papermill", "nbformat"}
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
    kernel = notebook_kernel(notebook, path, notes)
    notes.extend(_parameter_notes(path, code_cells, list(parameters) + list(inputs)))

    root = Path(folder)
    src = root / "src"
    src.mkdir(parents=True, exist_ok=False)
    shutil.copy2(path, src / path.name)
    shutil.copy2(azml_runtime.__file__, src / "azml_runtime.py")

    job_inputs: dict[str, Any] = {}
    words = [f"-k {shlex.quote(kernel['name'])}", "-l python", "--log-output", "--no-progress-bar"]
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
    command = f"python azml_runtime.py papermill {shlex.quote(path.name)} {shlex.quote(executed)} {' '.join(words)}"

    modules: set[str] = set()
    for number, cell in enumerate(code_cells, 1):
        try:
            translated = analysis.translate_cell(cell.source, f"code cell {number}", strict=False)
        except analysis.CellAnalysisError as exc:
            notes.append(f"Not analysed for imports: {exc.message}")
            continue
        for node in analysis.ast.walk(translated.tree):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    local = _copy_local_modules(modules, src, notes)
    captured = _capture_kernel(kernel, sorted((modules - local) | KERNEL_MODULES))
    notes.extend(captured["notes"])
    kernel["python"] = captured["python"]
    requirements = _with_runner(captured["requirements"])
    if environment is None:
        write_conda_file(
            root / "environment" / "conda.yaml",
            requirements,
            python_version=captured["python"],
            extra_comment=f"# The notebook's kernel: {kernel['display_name']} ({kernel['name']}); papermill added.\n",
        )
    job_file = {"notebook": path.name, "kernel": kernel, "notes": notes}
    (src / azml_runtime.NOTEBOOK_JOB_FILE).write_text(json.dumps(job_file, indent=2), encoding="utf-8")

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


def notebook_kernel(notebook: Any, path: Path, notes: list[str]) -> dict[str, Any]:
    """The kernel the notebook runs with in JupyterLab (its ``metadata.kernelspec``), looked up as Jupyter
    does (jupyter_client's KernelSpecManager): name, display name, command and environment variables,
    and the interpreter that command runs."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    name = (notebook.metadata.get("kernelspec") or {}).get("name")
    if not name:
        name = DEFAULT_KERNEL
        notes.append(f"{path.name} names no kernel in its metadata; it runs with the {DEFAULT_KERNEL!r} kernel.")
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise InvalidRequest(
            f"{path.name} runs with the kernel {name!r}, which is not installed here (`jupyter kernelspec list` "
            "shows the installed ones): install it, or open the notebook, choose another kernel and save it.",
            details={"kernel": name},
        ) from None
    if (spec.language or "").lower() != "python" or not spec.argv:
        raise InvalidRequest(
            f"{path.name} runs with the {spec.language or 'unknown'} kernel {name!r}; notebook jobs run "
            "Python kernels.",
            details={"kernel": name},
        )
    argv = [a.replace("{resource_dir}", spec.resource_dir) for a in spec.argv]
    # jupyter_client's own rule (KernelManager.format_kernel_cmd): a bare "python" is the launcher's Python
    if argv[0] in {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}:
        argv[0] = sys.executable
    env = {}
    for key, value in (spec.env or {}).items():
        if secrets.looks_like_secret(key):
            notes.append(f"The kernel's environment variable {key} looks like a credential; the job does not get it.")
        else:
            env[key] = value
    return {"name": name, "display_name": spec.display_name or name, "argv": argv, "env": env, "interpreter": argv[0]}


def _capture_kernel(kernel: dict[str, Any], modules: list[str]) -> dict[str, Any]:
    """The kernel's environment (as for cell jobs, which are built inside their kernel): in this process
    when the kernel is this very interpreter, else by running the capture in the kernel's interpreter."""
    interpreter = kernel["interpreter"]
    # not realpath: a venv's python is a symlink to its base interpreter, yet another environment
    if not kernel["env"] and os.path.abspath(interpreter) == os.path.abspath(sys.executable):
        return environment_capture.capture(modules)
    what = f"the notebook's kernel {kernel['name']!r}"
    return environment_capture.capture_in(interpreter, modules, env={**os.environ, **kernel["env"]}, what=what)


def _with_runner(requirements: list[str]) -> list[str]:
    """The kernel's requirements plus papermill and nbformat from this process's environment, which runs
    papermill (the kernel's environment need not have it; the job's one environment needs both)."""
    names = {r.split("==")[0].lower() for r in requirements}
    runner = environment_capture.capture(sorted(RUNNER_MODULES))["requirements"]
    return sorted(requirements + [r for r in runner if r.split("==")[0].lower() not in names], key=str.lower)


def _parameter_notes(path: Path, code_cells: list, names: list[str]) -> list[str]:
    """papermill's warnings about parameters, said at submission (and printed at the top of the job's log)."""
    if not names:
        return []
    tagged = [c for c in code_cells if "parameters" in (c.metadata.get("tags") or [])]
    if not tagged:
        return [
            f"{path.name} has no cell tagged 'parameters'; papermill injects the parameters before the first "
            f"cell (papermill: \"Passed unknown parameter: {', '.join(names)}\")."
        ]
    try:
        cell = analysis.translate_cell(tagged[0].source, "parameters", strict=False)
    except analysis.CellAnalysisError:
        return []
    unknown = [n for n in names if n not in analysis.definitions(cell, 0)]
    if not unknown:
        return []
    return [
        f"The cell tagged 'parameters' of {path.name} does not set {', '.join(unknown)}; papermill injects "
        f"{'it' if len(unknown) == 1 else 'them'} anyway (papermill: \"Passed unknown parameter: "
        f"{', '.join(unknown)}\")."
    ]


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
