"""``submit_cells``: notebook cells -> a command job on the configured backend. The magic, the panel's
"Submit selected cells" command and plain Python all call this one function."""

from __future__ import annotations

import dataclasses
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import AzmlError
from . import handle as _handle
from .handle import Job
from .packaging import JobFolder, JobOptions, build_cell_job, cell_labels


@dataclasses.dataclass
class DryRun:
    """What ``dry_run=True`` returns: the job YAML and the files that would be submitted."""

    yaml: str
    files: list[str]
    notes: list[str]
    shipped: dict[str, list[str]]

    def __str__(self) -> str:
        lines = ["# job.yml (dry run: nothing was submitted)", self.yaml.rstrip(), "", "# files"]
        lines += [f"  {f}" for f in self.files]
        shipped = [f"  {kind}: {', '.join(names)}" for kind, names in self.shipped.items() if names]
        if shipped:
            lines += ["", "# from earlier cells"] + shipped
        if self.notes:
            lines += ["", "# notes"] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the text, not a dataclass repr
        printer.text(str(self))


def kernel_namespace() -> MutableMapping[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell.user_ns if shell is not None else None


def notebook_path(namespace: Mapping[str, Any] | None) -> str | None:
    """The notebook this kernel serves: JupyterLab >= 4 / ipykernel >= 6.21 set ``__session__`` to it."""
    session = (namespace or {}).get("__session__")
    if isinstance(session, str) and session.endswith(".ipynb"):
        return session
    return None


def default_experiment(source: str | None) -> str | None:
    if not source:
        return None
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(source).stem).strip("-.")
    return stem or None


def submit_cells(
    cells: Sequence[str] | str,
    selected: Sequence[int] | None = None,
    *,
    compute: str | None = None,
    environment: str | None = None,
    name: str | None = None,
    display_name: str | None = None,
    experiment_name: str | None = None,
    description: str | None = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
    params: Mapping[str, Any] | None = None,
    returns: Sequence[str] | str | None = None,
    environment_variables: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    wait: bool = False,
    dry_run: bool = False,
    show: bool | None = None,
    namespace: MutableMapping[str, Any] | None = None,
    labels: Sequence[str] | None = None,
    execution_counts: Sequence[int | None] | None = None,
    source: str | None = None,
    backend: Any = None,
) -> Job | DryRun:
    """Submit ``cells[i] for i in selected`` as one command job, with what they need from the cells
    before them and from the kernel (``namespace``, default the running kernel's ``user_ns``).

    ``cells``: the sources of the notebook's code cells in order (or one cell's source);
    ``selected``: indices into ``cells`` (default: the last cell). ``inputs``: name -> local path,
    ``azureml:asset:version`` or URL, bound to a variable of that name (the path) in the job;
    ``outputs``: names of output folders, bound likewise; ``params``: literal job inputs bound as
    variables; ``returns``: variables the job sends back (``Job.result()``; automatic with ``wait``).
    ``show``: display the live JobMonitor (default: when running in a kernel).
    ``execution_counts``: each cell's count as JupyterLab shows it (None when it has none): cells are then
    named ``In [5]`` in the job's description and tracebacks, else ``code cell 3`` (their position);
    ``labels`` names them outright.
    Returns the ``Job`` handle, or a ``DryRun`` (``dry_run=True``: nothing is submitted).
    """
    if isinstance(cells, str):
        cells = [cells]
    cells = list(cells)
    if selected is None:
        selected = [len(cells) - 1]
    if isinstance(returns, str):
        returns = [r.strip() for r in returns.split(",") if r.strip()]
    if labels is None:
        labels = cell_labels(len(cells), execution_counts)
    if namespace is None:
        namespace = kernel_namespace()
        if namespace is None:  # plain Python: the caller's module globals
            namespace = sys._getframe(1).f_globals
    source = source or notebook_path(namespace)
    in_kernel = kernel_namespace() is not None
    show = in_kernel if show is None else show
    options = JobOptions(
        compute=compute,
        environment=environment,
        name=name,
        display_name=display_name,
        experiment_name=experiment_name or default_experiment(source),
        description=description,
        inputs=dict(inputs or {}),
        outputs=list(outputs or []),
        params=dict(params or {}),
        returns=list(returns or []),
        environment_variables=dict(environment_variables or {}),
        tags={"azml_jupyter": "cells", **dict(tags or {})},
    )
    work = Path(tempfile.mkdtemp(prefix="azml-cells-"))
    try:
        needs_backend = not dry_run or any(v.startswith("azureml:") for v in options.inputs.values())
        backend = backend or (_handle.default_backend() if needs_backend else None)
        folder = build_cell_job(
            cells,
            selected,
            namespace,
            options,
            work / "job",
            labels=labels,
            source=source,
            data_types=_data_types(backend, options.inputs),
        )
        if dry_run:
            result = DryRun(folder.yaml_text, folder.files(), folder.notes, folder.shipped)
            if show:
                print(result)
            return result
        record = backend.submit(folder.load())
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the backend has its own copy of the code now
    job = Job(
        record.name, backend=backend, namespace=namespace, returns=options.returns, record=record, notes=folder.notes
    )
    _handle.remember(job)
    if show:
        _show(job, folder)
    if wait:
        _wait_in_kernel(job, show)
    return job


def _data_types(backend: Any, inputs: Mapping[str, str]) -> dict[str, str]:
    """The type of each ``azureml:name:version`` input, from the workspace's data assets."""
    types: dict[str, str] = {}
    for key, where in inputs.items():
        if not where.startswith("azureml:") or where.startswith("azureml://") or backend is None:
            continue
        reference = where[len("azureml:") :]
        name, _, version = reference.partition(":")
        if "@" in name:
            name, version = name.split("@", 1)[0], None
        try:
            types[key] = backend.get_data(name, version or None).type
        except AzmlError:
            pass  # the submission reports the unknown asset with the backend's own message
    return types


def _show(job: Job, folder: JobFolder) -> None:
    for note in folder.notes:
        print(f"note: {note}")
    job.show()


def _wait_in_kernel(job: Job, show: bool) -> None:
    try:
        record = job.wait()
    except KeyboardInterrupt:
        print(f"Stopped waiting; job {job.name} keeps running (job.cancel() stops it).", file=sys.stderr)
        raise
    if job.returns:
        job.result()  # raises JobFailed with the log's end when the job did not complete
        if show:
            print(f"Returned into the namespace: {', '.join(job.returns)}")
    elif not record.status.value == "Completed":
        from .handle import JobFailed

        raise JobFailed(job._failure_message(record), details={"job": job.name, "status": record.status.value})


# ---- the %%azml_submit option line (also read by `azml-jupyter export` from a cell's first line) ----
class OptionError(AzmlError):
    status = 400
    code = "invalid_options"


def submit_parser():
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # never sys.exit() inside a kernel
            raise OptionError(f"%%azml_submit: {message}")

    parser = Parser(prog="%%azml_submit", add_help=False)
    parser.add_argument("--compute", help="compute cluster (default: the workspace's default / local)")
    parser.add_argument("--environment", help="a registered environment (default: captured from the kernel)")
    parser.add_argument("--name", help="job name (default: generated)")
    parser.add_argument("--display-name")
    parser.add_argument("--experiment", help="experiment name (default: the notebook's name)")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH|azureml:asset:version")
    parser.add_argument("--output", action="append", default=[], metavar="NAME")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--return", dest="returns", action="append", default=[], metavar="VAR1,VAR2")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable")
    wait = parser.add_mutually_exclusive_group()
    wait.add_argument("--wait", dest="wait", action="store_true", default=False)
    wait.add_argument("--no-wait", dest="wait", action="store_false")
    parser.add_argument("--dry-run", action="store_true")
    return parser


def parse_submit_line(line: str) -> dict[str, Any]:
    """``--compute C --return a,b ...`` -> keyword arguments of ``submit_cells``."""
    import shlex

    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise OptionError(f"%%azml_submit: {exc}") from None
    args = submit_parser().parse_args(words)
    return {
        "compute": args.compute,
        "environment": args.environment,
        "name": args.name,
        "display_name": args.display_name,
        "experiment_name": args.experiment,
        "inputs": _pairs(args.input, "--input"),
        "outputs": [o for item in args.output for o in item.split(",") if o],
        "params": {k: _literal(v) for k, v in _pairs(args.param, "--param").items()},
        "returns": [r.strip() for item in args.returns for r in item.split(",") if r.strip()],
        "environment_variables": _pairs(args.env, "--env"),
        "wait": args.wait,
        "dry_run": args.dry_run,
    }


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise OptionError(f"%%azml_submit: {flag} {item!r}: use NAME=VALUE.")
        out[key.strip()] = value
    return out


def _literal(text: str) -> Any:
    """``--param lr=0.1`` is a float, ``n=3`` an int, ``flag=True`` a bool, anything else a string."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, (bool, int, float, str)) else text
