"""``azml-jupyter export NOTEBOOK [--cells 3-7] --to DIR [--workflow]``: a notebook, made to run
unattended, as a job folder that ``az ml job create -f DIR/job.yml`` and the local engine both run.

- With ``--cells``: the cells become a command job exactly as ``%%azml_submit`` would build it (same
  builder, ``packaging.build_cell_job``). The values the cells need come from a real run: the earlier
  code cells are executed in a fresh kernel started in the notebook's folder (``%%azml_submit`` cells
  among them run in that kernel instead of submitting), then the job folder is written from that
  kernel's namespace. Options on a selected cell's ``%%azml_submit`` line are the defaults.
- Without ``--cells``: the whole notebook as a papermill job (``notebook_job.build_notebook_job``).
- ``--workflow``: ``.github/workflows/<name>.yml`` at the root of the git repository holding DIR (or in
  DIR when it is in none): sign in with ``azure/login`` through OpenID Connect (a federated
  credential; no client secret anywhere), then ``az ml job create -f DIR/job.yml --stream``.

Cell numbers are 1-based positions among the notebook's code cells (what ``In [n]`` shows after a
fresh top-to-bottom run); ``--cells 3-7``, ``--cells 4``, ``--cells 2,5-6``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest
from .packaging import JobFolder, JobOptions, check_no_secrets, dump_yaml

MARKER = "AZML_EXPORT_RESULT "
WORKFLOW_NAME = re.compile(r"[^a-z0-9-]+")


@dataclasses.dataclass
class ExportResult:
    folder: Path
    job_file: Path
    files: list[str]
    notes: list[str]
    workflow: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "job_file": str(self.job_file),
            "files": self.files,
            "notes": self.notes,
            "workflow": str(self.workflow) if self.workflow else None,
        }


def parse_cells(spec: str | Sequence[int], count: int) -> list[int]:
    """``"3-7"``, ``"2,5-6"`` (1-based code cell numbers) or a list of them -> sorted 0-based indices."""
    numbers: set[int] = set()
    if isinstance(spec, str):
        for part in spec.replace(" ", "").split(","):
            match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
            if not match:
                raise InvalidRequest(f"--cells {spec!r}: use numbers and ranges, e.g. 3-7 or 2,5-6.")
            first, last = int(match.group(1)), int(match.group(2) or match.group(1))
            if last < first:
                raise InvalidRequest(f"--cells {spec!r}: {part} is an empty range.")
            numbers.update(range(first, last + 1))
    else:
        numbers.update(int(n) for n in spec)
    bad = sorted(n for n in numbers if not 1 <= n <= count)
    if bad:
        raise InvalidRequest(f"--cells: the notebook has {count} code cells; there is no cell {bad[0]}.")
    if not numbers:
        raise InvalidRequest("--cells selects no cell.")
    return sorted(n - 1 for n in numbers)


def export_notebook(
    notebook: str | Path,
    to: str | Path,
    *,
    cells: str | Sequence[int] | None = None,
    compute: str | None = None,
    environment: str | None = None,
    experiment_name: str | None = None,
    display_name: str | None = None,
    name: str | None = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    returns: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    environment_variables: Mapping[str, str] | None = None,
    workflow: bool = False,
    workflow_dir: str | Path | None = None,
    kernel_name: str = "python3",
    timeout: int = 600,
    force: bool = False,
) -> ExportResult:
    import nbformat

    notebook = Path(notebook).resolve()
    to = Path(to).resolve()
    check_no_secrets(environment_variables)
    if to.exists() and any(to.iterdir()):
        if not force:
            raise InvalidRequest(f"{to} is not empty; choose another folder or pass --force to replace it.")
        if (to / "job.yml").exists() or (to / "src").exists():
            shutil.rmtree(to)
        else:
            raise InvalidRequest(f"{to} holds other files than an export; refusing to delete it.")
    try:
        nb = nbformat.read(notebook, as_version=4)
    except FileNotFoundError:
        raise InvalidRequest(f"Notebook not found: {notebook}") from None
    stage = Path(tempfile.mkdtemp(prefix="azml-export-"))
    try:
        build = stage / "job"
        if cells is None:
            from .notebook_job import build_notebook_job

            folder = _relocate(
                build_notebook_job(
                    notebook,
                    build,
                    parameters=parameters,
                    inputs=inputs,
                    compute=compute,
                    environment=environment,
                    experiment_name=experiment_name,
                    display_name=display_name,
                    name=name,
                    environment_variables=environment_variables,
                    relative_paths=True,
                ),
                to,
            )
        else:
            sources = [c.source for c in nb.cells if c.cell_type == "code"]
            selected = parse_cells(cells, len(sources))
            options = _options_from_cells(sources, selected)
            given = {
                "compute": compute,
                "environment": environment,
                "experiment_name": experiment_name,
                "display_name": display_name,
                "name": name,
            }
            for key, value in given.items():
                if value is not None:
                    setattr(options, key, value)
            for key, value in (
                ("inputs", inputs),
                ("outputs", outputs),
                ("params", params),
                ("returns", returns),
                ("environment_variables", environment_variables),
            ):
                if value:
                    setattr(options, key, dict(value) if isinstance(value, Mapping) else list(value))
            options.experiment_name = options.experiment_name or _slug(notebook.stem)
            options.tags = {"azml_jupyter": "cells", "notebook": notebook.name}
            folder = _build_in_fresh_kernel(notebook, sources, selected, options, to, kernel_name, timeout)
        result = ExportResult(folder=to, job_file=to / "job.yml", files=folder.files(), notes=folder.notes)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    if workflow:
        result.workflow = write_workflow(to, name=name or _slug(notebook.stem), workflow_dir=workflow_dir)
    return result


def _relocate(folder: JobFolder, to: Path) -> JobFolder:
    to.parent.mkdir(parents=True, exist_ok=True)
    if to.exists():
        to.rmdir()  # empty (checked above)
    shutil.move(str(folder.root), str(to))
    folder.root = to
    return folder


def _options_from_cells(sources: list[str], selected: list[int]) -> JobOptions:
    """The ``%%azml_submit`` line of the first selected cell that has one gives the defaults."""
    from .submit import parse_submit_line

    for index in selected:
        first = sources[index].lstrip().split("\n", 1)[0]
        if first.startswith("%%azml_submit"):
            parsed = parse_submit_line(first[len("%%azml_submit") :])
            return JobOptions(
                compute=parsed["compute"],
                environment=parsed["environment"],
                name=parsed["name"],
                display_name=parsed["display_name"],
                experiment_name=parsed["experiment_name"],
                inputs=parsed["inputs"],
                outputs=parsed["outputs"],
                params=parsed["params"],
                returns=parsed["returns"],
                environment_variables=parsed["environment_variables"],
            )
    return JobOptions()


def _build_in_fresh_kernel(
    notebook: Path,
    sources: list[str],
    selected: list[int],
    options: JobOptions,
    to: Path,
    kernel_name: str,
    timeout: int,
) -> JobFolder:
    """Run the code cells before the last selected one (not the selected ones) in a new kernel, then
    build the job folder inside that kernel from its namespace."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    earlier = [i for i in range(max(selected)) if i not in selected]
    run = nbformat.v4.new_notebook()
    for index in earlier:
        run.cells.append(nbformat.v4.new_code_cell(sources[index]))
    request = {
        "cells": sources,
        "selected": selected,
        "options": dataclasses.asdict(options),
        "to": str(to),
        "source": notebook.name,
    }
    run.cells.append(
        nbformat.v4.new_code_cell(
            "from azml_jupyter.notebook.export import _build_here as _azml_build\n"
            f"_azml_build({json.dumps(json.dumps(request))})"
        )
    )
    client = NotebookClient(
        run, kernel_name=kernel_name, timeout=timeout, resources={"metadata": {"path": str(notebook.parent)}}
    )
    env = {**os.environ, "AZML_JUPYTER_MAGIC": "run-locally"}
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        failed = _failed_cell(run)
        if failed is not None and failed < len(earlier):
            number = earlier[failed] + 1
            raise InvalidRequest(
                f"Code cell {number} failed while the export ran the cells before the selection: "
                f"{exc.ename}: {exc.evalue}",
                details={"cell": number},
            ) from None
        raise InvalidRequest(f"The export failed: {exc.ename}: {exc.evalue}") from None
    text = "".join(o.get("text", "") for o in run.cells[-1].outputs if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise InvalidRequest(f"The export kernel gave no result: {text[-500:]}")
    answer = json.loads(line[len(MARKER) :])
    return JobFolder(
        root=to,
        yaml_text=(to / "job.yml").read_text(encoding="utf-8"),
        notes=answer["notes"],
        shipped=answer["shipped"],
        values=answer["values"],
        requirements=answer["requirements"],
    )


def _failed_cell(notebook) -> int | None:
    for index, cell in enumerate(notebook.cells):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index
    return None


def _build_here(request_json: str) -> None:
    """Runs inside the export kernel: build the job folder from this kernel's namespace."""
    from IPython import get_ipython

    from .packaging import build_cell_job

    request = json.loads(request_json)
    options = JobOptions(**request["options"])
    to = Path(request["to"])
    stage = Path(tempfile.mkdtemp(prefix="azml-export-kernel-"))
    try:
        folder = build_cell_job(
            request["cells"],
            request["selected"],
            get_ipython().user_ns,
            options,
            stage / "job",
            labels=[f"code cell {i + 1}" for i in range(len(request["cells"]))],
            source=request["source"],
            relative_paths=False,
        )
        # inputs were written relative to nothing (absolute); an export keeps them relative to the folder
        _relocate(folder, to)
        _relative_inputs(to)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    answer = {
        "notes": folder.notes,
        "shipped": folder.shipped,
        "values": folder.values,
        "requirements": folder.requirements,
    }
    print(MARKER + json.dumps(answer, default=str))


def _relative_inputs(root: Path) -> None:
    import yaml

    job_file = root / "job.yml"
    spec = yaml.safe_load(job_file.read_text(encoding="utf-8"))
    changed = False
    for value in (spec.get("inputs") or {}).values():
        if isinstance(value, dict) and str(value.get("path", "")).startswith("/"):
            value["path"] = os.path.relpath(value["path"], root)
            changed = True
    if changed:
        job_file.write_text(dump_yaml(spec), encoding="utf-8")


def _slug(text: str) -> str:
    return WORKFLOW_NAME.sub("-", text.lower()).strip("-") or "notebook-job"


# ---- GitHub Actions --------------------------------------------------------------------------------
def _repo_root(folder: Path) -> Path | None:
    for candidate in [folder, *folder.parents]:
        if (candidate / ".git").exists():
            return candidate
    return None


def workflow_text(job_file: str, name: str, watch: str) -> str:
    """A workflow that signs in with OpenID Connect and submits ``job_file`` (a path from the repository
    root). Identifiers come from repository variables; nothing in it is a secret."""
    quoted = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    return f"""# Submits {job_file} to Azure Machine Learning. Written by `azml-jupyter export --workflow`.
#
# Sign-in uses OpenID Connect: GitHub issues a short-lived token that Azure trusts through a federated
# credential on an app registration or user-assigned managed identity. There is no client secret
# anywhere. Set up once:
#   1. az identity federated-credential create (or an app registration's federated credential) for
#      subject repo:<owner>/<repo>:ref:refs/heads/main, issuer https://token.actions.githubusercontent.com,
#      audience api://AzureADTokenExchange; grant it "AzureML Data Scientist" on the workspace.
#   2. Repository variables (Settings > Secrets and variables > Actions > Variables; they are IDs,
#      not passwords): AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID,
#      AZURE_RESOURCE_GROUP, AZURE_ML_WORKSPACE.
name: {quoted("Azure ML job " + name)}

on:
  workflow_dispatch:
  push:
    branches: [main]
    paths:
      - {quoted(watch)}

permissions:
  id-token: write  # lets azure/login request the OpenID Connect token
  contents: read

concurrency:
  group: {quoted("azml-" + name)}
  cancel-in-progress: false

jobs:
  submit:
    runs-on: ubuntu-latest
    timeout-minutes: 360
    steps:
      - name: Check out the job folder
        uses: actions/checkout@v4

      - name: Sign in to Azure with OpenID Connect (federated credential)
        uses: azure/login@v2
        with:
          client-id: ${{{{ vars.AZURE_CLIENT_ID }}}}
          tenant-id: ${{{{ vars.AZURE_TENANT_ID }}}}
          subscription-id: ${{{{ vars.AZURE_SUBSCRIPTION_ID }}}}

      - name: Add the Azure ML CLI extension
        run: az extension add --name ml --upgrade --yes

      - name: Submit the job and stream its log
        run: >-
          az ml job create
          --file {quoted(job_file)}
          --resource-group "${{{{ vars.AZURE_RESOURCE_GROUP }}}}"
          --workspace-name "${{{{ vars.AZURE_ML_WORKSPACE }}}}"
          --stream
"""


FORBIDDEN_IN_WORKFLOW = ("client-secret", "creds:", "AZURE_CREDENTIALS", "secrets.")


def write_workflow(folder: Path, *, name: str, workflow_dir: str | Path | None = None) -> Path:
    folder = Path(folder).resolve()
    root = _repo_root(folder) or folder
    target_dir = Path(workflow_dir).resolve() if workflow_dir else root / ".github" / "workflows"
    relative = os.path.relpath(folder, root).replace(os.sep, "/")
    job_file = "job.yml" if relative == "." else f"{relative}/job.yml"
    watch = "**" if relative == "." else f"{relative}/**"
    text = workflow_text(job_file, _slug(name), watch)
    for word in FORBIDDEN_IN_WORKFLOW:  # the pattern this workflow exists to avoid
        assert word not in text, word
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"azml-{_slug(name)}.yml"
    path.write_text(text, encoding="utf-8")
    return path
