"""``azml-jupyter``: the command line, shaped like ``az ml`` so the same job files run from CI.

    azml-jupyter job create -f pipeline.yml --stream
    azml-jupyter job list -o table
    azml-jupyter data create -n taxi --path ./data
    azml-jupyter compute create --name cpu --size local --max-instances 2

Every command works on the configured backend (``--backend`` or ``AZML_JUPYTER_BACKEND``; the local
engine unless an Azure ML workspace is configured). Errors print one clear line and exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .errors import AzmlError
from .models import JobRecord, JobStatus, Operation, Record

POLL_SECONDS = 0.2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except AzmlError as exc:
        print(f"ERROR: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted. Jobs keep running; stop one with `azml-jupyter job cancel -n NAME`.", file=sys.stderr)
        return 130


# ---- plumbing ---------------------------------------------------------------------------------------
def _backend(args: argparse.Namespace):
    """The backend the settings name (``settings.py``: config files and environment, as the server
    and its kernels read them), with this command's flags on top."""
    from .settings import AzmlJupyter

    settings = AzmlJupyter.load(
        backend=args.backend, local_home=args.home, strict_compute=True if args.strict_compute else None
    )
    return settings.open_backend()


def _emit(args: argparse.Namespace, value: Any, columns: Sequence[str] | None = None) -> None:
    plain = _plain(value)
    if args.output == "json" or columns is None:
        print(json.dumps(plain, indent=2, default=str))
        return
    rows = plain if isinstance(plain, list) else [plain]
    table = [[_cell(row.get(col)) for col in columns] for row in rows]
    widths = [max([len(col)] + [len(r[i]) for r in table]) for i, col in enumerate(columns)]
    print("  ".join(col.title().replace("_", " ").ljust(w) for col, w in zip(columns, widths, strict=True)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)).rstrip())


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# ---- jobs -------------------------------------------------------------------------------------------
JOB_COLUMNS = ("name", "display_name", "status", "compute", "experiment_name", "created_at")


def job_create(args: argparse.Namespace) -> int:
    from .spec.loader import load_job_file, parse_set_overrides

    job = load_job_file(args.file, overrides=parse_set_overrides(args.set or []))
    backend = _backend(args)
    record = backend.submit(job, name=args.name)
    if not args.stream:
        _emit(args, record, JOB_COLUMNS)
        return 0
    print(f"RunId: {record.name}", file=sys.stderr)
    if record.studio_url:
        print(f"Web View: {record.studio_url}", file=sys.stderr)
    return _stream(backend, record.name)


def job_stream(args: argparse.Namespace) -> int:
    return _stream(_backend(args), args.name)


def _stream(backend, name: str) -> int:
    """Print the job's log (a pipeline's, and its steps' as they run) until it ends. Exit status 0 only
    if the job Completed, as ``az ml job create --stream`` does."""
    offsets: dict[str, int] = {}
    while True:
        record = backend.get_job(name)
        _print_new_log(backend, name, "", offsets)
        for child in record.children or []:
            if child.status is not JobStatus.NOT_STARTED:
                _print_new_log(backend, child.name, f"[{child.step_name}] ", offsets)
        if record.is_terminal:
            _print_new_log(backend, name, "", offsets)  # whatever arrived with the last status change
            break
        time.sleep(POLL_SECONDS)
    print(f"\nExecution summary\n-----------------\nRunId: {record.name}\nStatus: {record.status}", file=sys.stderr)
    if record.error:
        print(f"Error: {record.error}", file=sys.stderr)
    return 0 if record.status is JobStatus.COMPLETED else 1


def _print_new_log(backend, name: str, prefix: str, offsets: dict[str, int]) -> None:
    while True:
        chunk = backend.read_logs(name, offsets.get(name, 0))
        if chunk.text:
            for line in chunk.text.splitlines(keepends=True):
                sys.stdout.write(prefix + line)
            sys.stdout.flush()
        offsets[name] = chunk.next_offset
        if chunk.next_offset == chunk.offset or chunk.complete:
            return


def job_list(args: argparse.Namespace) -> int:
    page = _backend(args).list_jobs(
        status=args.status, experiment=args.experiment, parent=args.parent, limit=args.max_results
    )
    _emit(args, page.jobs, JOB_COLUMNS)
    return 0


def job_show(args: argparse.Namespace) -> int:
    record = _backend(args).get_job(args.name)
    _emit(args, record, JOB_COLUMNS if args.output == "table" else None)
    if args.output == "table" and record.children:
        print()
        _emit(args, record.children, ("step_name", "name", "status", "compute", "started_at", "ended_at"))
    return 0


def job_cancel(args: argparse.Namespace) -> int:
    backend = _backend(args)
    record: JobRecord = backend.cancel_job(args.name)
    if args.wait:
        while not record.is_terminal:
            time.sleep(POLL_SECONDS)
            record = backend.get_job(args.name)
    _emit(args, record, JOB_COLUMNS)
    return 0


def job_download(args: argparse.Namespace) -> int:
    output = "all" if args.all else args.output_name
    files = _backend(args).download(args.name, Path(args.download_path), output=output)
    print(f"Downloaded {len(files)} file(s) to {Path(args.download_path).resolve()}", file=sys.stderr)
    _emit(args, [str(f) for f in files])
    return 0


# ---- data -------------------------------------------------------------------------------------------
DATA_COLUMNS = ("name", "version", "type", "size_bytes", "file_count", "created_at", "path")


def data_create(args: argparse.Namespace) -> int:
    backend = _backend(args)
    operation = backend.copy_in(
        Path(args.path), args.name, type=args.type, version=args.version, description=args.description
    )
    operation = _follow_operation(backend, operation, quiet=args.no_progress)
    if operation.state.value != "Succeeded":
        print(f"ERROR: copy-in {operation.state.value.lower()}: {operation.error or ''}".rstrip(": "), file=sys.stderr)
        return 1
    _emit(args, operation.result["data_asset"], DATA_COLUMNS)
    if not operation.result.get("created"):
        print("(unchanged: the same content is already this version; nothing new was stored)", file=sys.stderr)
    return 0


def _follow_operation(backend, operation: Operation, *, quiet: bool) -> Operation:
    """Poll an operation to its end with a tqdm progress bar on stderr."""
    from tqdm import tqdm

    bar = (
        None
        if quiet
        else tqdm(
            total=operation.bytes_total or 0, unit="B", unit_scale=True, desc=operation.description, file=sys.stderr
        )
    )
    try:
        while not operation.state.is_terminal:
            time.sleep(POLL_SECONDS)
            operation = backend.get_operation(operation.id)
            if bar is not None:
                bar.total = operation.bytes_total or bar.total
                bar.n = operation.bytes_done
                bar.set_postfix(
                    files=f"{operation.files_done}/{operation.files_total or '?'}", skipped=operation.files_skipped
                )
                bar.refresh()
    except KeyboardInterrupt:
        backend.cancel_operation(operation.id)
        raise
    finally:
        if bar is not None:
            bar.close()
    return operation


def data_list(args: argparse.Namespace) -> int:
    assets = _backend(args).list_data()
    if args.name:
        assets = [a for a in assets if a.name == args.name]
    _emit(args, assets, DATA_COLUMNS)
    return 0


def data_show(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).get_data(args.name, args.version), DATA_COLUMNS)
    return 0


# ---- compute ----------------------------------------------------------------------------------------
COMPUTE_COLUMNS = ("name", "type", "size", "state", "current_nodes", "max_nodes", "min_nodes", "queued_jobs")


def compute_list(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).list_computes(), COMPUTE_COLUMNS)
    return 0


def compute_show(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).get_compute(args.name), COMPUTE_COLUMNS)
    return 0


def compute_create(args: argparse.Namespace) -> int:
    from .backends import ComputeRequest

    backend = _backend(args)
    operation = backend.create_or_update_compute(
        ComputeRequest(
            name=args.name,
            size=args.size,
            min_nodes=args.min_instances,
            max_nodes=args.max_instances,
            idle_seconds=args.idle_time_before_scale_down,
            tier=args.tier,
        )
    )
    while not operation.state.is_terminal:
        time.sleep(POLL_SECONDS)
        operation = backend.get_operation(operation.id)
    if operation.state.value != "Succeeded":
        print(f"ERROR: {operation.error}", file=sys.stderr)
        return 1
    _emit(args, backend.get_compute(args.name), COMPUTE_COLUMNS)
    return 0


def compute_delete(args: argparse.Namespace) -> int:
    _backend(args).delete_compute(args.name)
    print(f"Deleted compute {args.name}.", file=sys.stderr)
    return 0


def compute_list_sizes(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).list_sizes(), ("name", "vcpus", "memory_gb", "gpus", "family"))
    return 0


def compute_list_usage(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).list_usage(), ("family", "current", "limit", "unit", "label"))
    return 0


# ---- workspace --------------------------------------------------------------------------------------
def workspace_show(args: argparse.Namespace) -> int:
    _emit(args, _backend(args).workspace(), ("backend", "name", "location", "home", "studio_url"))
    return 0


def workspace_configure(args: argparse.Namespace) -> int:
    from .workspace_config import configure_from_terraform

    path = configure_from_terraform(Path(args.from_terraform), Path(args.output_file) if args.output_file else None)
    print(f"Wrote {path}", file=sys.stderr)
    print(json.dumps({"config_path": str(path)}))
    return 0


# ---- notebook export --------------------------------------------------------------------------------
def notebook_export(args: argparse.Namespace) -> int:
    from .notebook.export import export_notebook
    from .notebook.submit import _literal, _pairs

    result = export_notebook(
        args.notebook,
        args.to,
        cells=args.cells,
        compute=args.compute,
        environment=args.environment,
        experiment_name=args.experiment,
        display_name=args.display_name,
        name=args.name,
        inputs=_pairs(args.input, "--input"),
        outputs=[o for item in args.output_name for o in item.split(",") if o],
        params={k: _literal(v) for k, v in _pairs(args.param, "--param").items()},
        returns=[r for item in args.returns for r in item.split(",") if r],
        parameters={k: _literal(v) for k, v in _pairs(args.parameter, "--parameter").items()},
        workflow=args.workflow,
        workflow_dir=args.workflow_dir,
        kernel_name=args.kernel,
        force=args.force,
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"Wrote {result.job_file}" + (f" and {result.workflow}" if result.workflow else ""), file=sys.stderr)
    _emit(args, result.to_dict())
    return 0


# ---- argument parser --------------------------------------------------------------------------------
def _global_options(*, defaults: bool) -> argparse.ArgumentParser:
    """The options every command takes, before or after the subcommand (``azml-jupyter --home D job
    list`` and ``azml-jupyter job list --home D`` mean the same). The subcommands' copy has no
    defaults (``SUPPRESS``): otherwise argparse writes the subparser's default over a value given
    before the subcommand."""
    options = argparse.ArgumentParser(add_help=False)

    def default(value):
        return value if defaults else argparse.SUPPRESS

    options.add_argument(
        "--backend",
        choices=("local", "azure"),
        default=default(None),
        help="which workspace to use (default: local, or Azure ML when a workspace is configured)",
    )
    options.add_argument(
        "--home",
        default=default(None),
        help="local workspace folder (default: $AZML_JUPYTER_HOME or the Jupyter data dir)",
    )
    options.add_argument(
        "--strict-compute",
        action="store_true",
        default=default(False),
        help="local engine: refuse jobs whose compute does not exist locally",
    )
    options.add_argument(
        "-o",
        "--output",
        choices=("json", "table"),
        default=default("json"),
        help="output format (default json)",
    )
    return options


def _parser() -> argparse.ArgumentParser:
    common = _global_options(defaults=False)

    parser = argparse.ArgumentParser(
        prog="azml-jupyter", description=__doc__.split("\n\n")[0], parents=[_global_options(defaults=True)]
    )
    groups = parser.add_subparsers(title="groups", metavar="{job,data,compute,workspace,export}")

    def command(group, name: str, handler: Callable, help: str) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help, parents=[common])
        sub.set_defaults(handler=handler)
        return sub

    job = groups.add_parser("job", help="submit and manage jobs").add_subparsers(title="commands")
    create = command(job, "create", job_create, "submit a job from a CLI-v2 YAML file")
    create.add_argument("-f", "--file", required=True, help="job YAML (command or pipeline)")
    create.add_argument("-n", "--name", help="job name (default: generated)")
    create.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a field, e.g. inputs.lr=0.1")
    create.add_argument(
        "--stream", action="store_true", help="print the log until the job ends; exit 0 only if it Completed"
    )
    lst = command(job, "list", job_list, "list jobs, newest first")
    lst.add_argument("--status", action="append", help="only jobs in this status (repeatable)")
    lst.add_argument("--experiment", help="only jobs of this experiment")
    lst.add_argument("--parent", help="the steps of this pipeline job")
    lst.add_argument("--max-results", type=int, default=50)
    for name, handler, text in (
        ("show", job_show, "show a job"),
        ("stream", job_stream, "follow a job's log to its end"),
    ):
        command(job, name, handler, text).add_argument("-n", "--name", required=True)
    cancel = command(job, "cancel", job_cancel, "cancel a job")
    cancel.add_argument("-n", "--name", required=True)
    cancel.add_argument("--wait", action="store_true", help="wait until the job is Canceled")
    download = command(job, "download", job_download, "download a job's outputs")
    download.add_argument("-n", "--name", required=True)
    which = download.add_mutually_exclusive_group()
    which.add_argument("--output-name", help="a named output (default: the job's default output: logs and ./outputs)")
    which.add_argument("--all", action="store_true", help="every output")
    download.add_argument("-p", "--download-path", default=".", help="folder to download into (default: .)")

    data = groups.add_parser("data", help="data assets").add_subparsers(title="commands")
    dcreate = command(data, "create", data_create, "copy a local file or folder in as a new data asset version")
    dcreate.add_argument("-n", "--name", required=True)
    dcreate.add_argument("--path", required=True)
    dcreate.add_argument("-t", "--type", choices=("uri_file", "uri_folder"))
    dcreate.add_argument("-v", "--version")
    dcreate.add_argument("-d", "--description")
    dcreate.add_argument("--no-progress", action="store_true", help="no progress bar")
    command(data, "list", data_list, "list data assets").add_argument("-n", "--name")
    dshow = command(data, "show", data_show, "show a data asset (latest version unless -v)")
    dshow.add_argument("-n", "--name", required=True)
    dshow.add_argument("-v", "--version")

    compute = groups.add_parser("compute", help="compute clusters").add_subparsers(title="commands")
    command(compute, "list", compute_list, "list computes")
    command(compute, "show", compute_show, "show a compute").add_argument("-n", "--name", required=True)
    for name, text in (("create", "create a cluster"), ("update", "change a cluster")):
        sub = command(compute, name, compute_create, text)
        sub.add_argument("-n", "--name", required=True)
        sub.add_argument("--size", help="VM size (local: 'local')")
        sub.add_argument("--min-instances", type=int)
        sub.add_argument("--max-instances", type=int)
        sub.add_argument("--idle-time-before-scale-down", type=int, metavar="SECONDS")
        sub.add_argument("--tier", choices=("dedicated", "low_priority"))
    command(compute, "delete", compute_delete, "delete a cluster").add_argument("-n", "--name", required=True)
    command(compute, "list-sizes", compute_list_sizes, "VM sizes available")
    command(compute, "list-usage", compute_list_usage, "quota in use")

    workspace = groups.add_parser("workspace", help="the workspace").add_subparsers(title="commands")
    command(workspace, "show", workspace_show, "show the workspace in use")
    configure = command(workspace, "configure", workspace_configure, "write config.json for an Azure ML workspace")
    configure.add_argument(
        "--from-terraform",
        required=True,
        metavar="DIR_OR_JSON",
        help="a Terraform folder (runs `terraform output -json`) or a saved output JSON file",
    )
    configure.add_argument("--output-file", help="where to write config.json (default: ./.azureml/config.json)")
    export = command(
        groups,
        "export",
        notebook_export,
        "a notebook (or some of its cells) as a job folder: "
        "job.yml, src/, environment/ and optionally a GitHub Actions workflow",
    )
    export.add_argument("notebook", help="the .ipynb file")
    export.add_argument("--to", required=True, metavar="DIR", help="folder to write (must be empty)")
    export.add_argument(
        "--cells",
        help="code cells to export as a command job, 1-based: 3-7, 4, 2,5-6 "
        "(default: the whole notebook as a papermill job)",
    )
    export.add_argument("--compute")
    export.add_argument("--environment", help="a registered environment (default: captured conda spec)")
    export.add_argument("--experiment")
    export.add_argument("--display-name")
    export.add_argument("-n", "--name", help="job name, and the workflow's name")
    export.add_argument("--input", action="append", default=[], metavar="NAME=PATH|azureml:asset:version")
    export.add_argument("--output-name", action="append", default=[], metavar="NAME", help="an output folder")
    export.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="(cells) a literal input")
    export.add_argument("--return", dest="returns", action="append", default=[], metavar="VAR1,VAR2")
    export.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="(whole notebook) a papermill parameter",
    )
    export.add_argument("--workflow", action="store_true", help="also write .github/workflows/azml-<name>.yml")
    export.add_argument("--workflow-dir", help="where to write the workflow (default: <git root>/.github/workflows)")
    export.add_argument("--kernel", default="python3", help="kernel that runs the earlier cells (default python3)")
    export.add_argument("--force", action="store_true", help="replace an earlier export in DIR")
    return parser


if __name__ == "__main__":
    sys.exit(main())
