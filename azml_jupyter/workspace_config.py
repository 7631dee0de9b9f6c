"""Where the Azure workspace is configured: the one home for finding, reading and writing it.

The configuration is a ``config.json`` in the shape ``azure.ai.ml.MLClient.from_config`` reads::

    {
      "subscription_id": "...",
      "resource_group": "...",
      "workspace_name": "...",
      "azml_jupyter": {
        "tenant_id": "...", "location": "...", "storage_account": "...",
        "datasets_container": "datasets", "results_container": "results",
        "default_compute": "cpu-cluster", "studio_url": "https://ml.azure.com/?wsid=..."
      }
    }

The three top-level keys are azure-ai-ml's; our own settings sit under one ``"azml_jupyter"`` key so
they can never collide with a key azure-ai-ml (or another tool reading the same file) adds later,
and ``MLClient.from_config`` ignores them. The Terraform in ``terraform/`` emits exactly this object
as its ``azureml_config`` output; :func:`configure_from_terraform` copies it into place.

:func:`find_config` searches the way ``MLClient.from_config`` does (azure-ai-ml 1.x,
``MLClient.from_config`` and ``_file_utils.traverse_up_path_and_find_file``), so the extension and a
notebook calling ``MLClient.from_config()`` from the same folder always agree on the workspace.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path
from typing import Any

from azml_jupyter.errors import InvalidRequest, NotFound, Unavailable

CONFIG_FILE_NAME = "config.json"
DEFAULT_CONFIG_DIR = ".azureml"
EXTRA_KEY = "azml_jupyter"
TERRAFORM_OUTPUT_NAME = "azureml_config"
TERRAFORM_TIMEOUT_SECONDS = 120.0

# azure-ai-ml's search: every (directory, file name) pair in this order, each searched from the
# start folder up through its parents before the next pair is tried.
_SEARCH_DIRECTORIES: tuple[str | None, ...] = (".azureml", "aml_config", None)
_SEARCH_FILE_NAMES: tuple[str, ...] = ("config.json", "project.json")
_SEARCH_LEVELS = 20  # the start folder and up to 20 parents, as azure-ai-ml does

REQUIRED_FIELDS: tuple[str, ...] = ("subscription_id", "resource_group", "workspace_name")
OPTIONAL_FIELDS: tuple[str, ...] = (
    "location",
    "storage_account",
    "datasets_container",
    "results_container",
    "default_compute",
    "studio_url",
    "tenant_id",
)


@dataclass(frozen=True)
class AzureWorkspaceConfig:
    """An Azure ML workspace and the extension's settings for it."""

    subscription_id: str
    resource_group: str
    workspace_name: str
    location: str | None = None
    storage_account: str | None = None
    datasets_container: str | None = None
    results_container: str | None = None
    default_compute: str | None = None
    studio_url: str | None = None
    tenant_id: str | None = None

    @classmethod
    def from_dict(cls, data: Any, *, source: str) -> AzureWorkspaceConfig:
        """Validate a parsed config.json (or Terraform's ``azureml_config`` value).

        ``source`` names where ``data`` came from, for the error message.
        """
        if not isinstance(data, dict):
            raise InvalidRequest(
                f"{source} must hold a JSON object with {', '.join(REQUIRED_FIELDS)}, not {type(data).__name__}",
                details={"source": source},
            )
        fields: dict[str, Any] = {name: data.get(name) for name in REQUIRED_FIELDS}
        scope = data.get("Scope")
        if scope:
            # The legacy project.json form; MLClient.from_config lets Scope win over the keys.
            fields.update(_fields_from_scope(scope, source))
        extras = data.get(EXTRA_KEY, {})
        if extras is None:
            extras = {}
        if not isinstance(extras, dict):
            raise InvalidRequest(
                f'{source}: "{EXTRA_KEY}" must be a JSON object, not {type(extras).__name__}',
                details={"source": source, "field": EXTRA_KEY},
            )
        fields.update({name: extras.get(name) for name in OPTIONAL_FIELDS})

        missing = [name for name in REQUIRED_FIELDS if fields[name] is None or fields[name] == ""]
        if missing:
            raise InvalidRequest(
                f"{source} is missing {', '.join(missing)} (needed to find the Azure ML workspace)",
                details={"source": source, "missing": missing},
            )
        wrong = [
            name
            for name, value in fields.items()
            if value is not None and (not isinstance(value, str) or (name in REQUIRED_FIELDS and not value.strip()))
        ]
        if wrong:
            raise InvalidRequest(
                f"{source}: {', '.join(wrong)} must be non-empty strings",
                details={"source": source, "invalid": wrong},
            )
        return cls(**fields)

    def to_config_json(self) -> dict[str, Any]:
        """The config.json object: azure-ai-ml's keys on top, ours under ``"azml_jupyter"``."""
        values = asdict(self)
        document: dict[str, Any] = {name: values[name] for name in REQUIRED_FIELDS}
        extras = {name: values[name] for name in OPTIONAL_FIELDS if values[name] is not None}
        if extras:
            document[EXTRA_KEY] = extras
        return document


def _fields_from_scope(scope: Any, source: str) -> dict[str, str]:
    # /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{ws}
    pieces = scope.split("/") if isinstance(scope, str) else []
    if len(pieces) < 9 or not all(pieces[i] for i in (2, 4, 8)):
        raise InvalidRequest(
            f"{source}: Scope must be a workspace resource id "
            "(/subscriptions/<id>/resourceGroups/<name>/providers/"
            "Microsoft.MachineLearningServices/workspaces/<name>)",
            details={"source": source, "invalid": ["Scope"]},
        )
    return {"subscription_id": pieces[2], "resource_group": pieces[4], "workspace_name": pieces[8]}


def load_config(path: Path | str) -> AzureWorkspaceConfig:
    """Read and validate a config.json (or a legacy project.json with ``Scope``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"no workspace configuration at {path}", details={"path": str(path)}) from None
    except IsADirectoryError:
        raise InvalidRequest(f"{path} is a directory, not a config.json", details={"path": str(path)}) from None
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"{path} is not UTF-8 text: {exc}", details={"path": str(path)}) from None
    if not text.strip():
        raise InvalidRequest(f"{path} is empty", details={"path": str(path)})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            details={"path": str(path), "line": exc.lineno},
        ) from None
    return AzureWorkspaceConfig.from_dict(data, source=str(path))


def find_config(start: Path | str | None = None) -> Path | None:
    """The config file ``MLClient.from_config(path=start)`` would use, or None if it finds none.

    ``start`` is a config file (returned as is) or a folder; None means the current directory.
    Like azure-ai-ml, each of ``.azureml/config.json``, ``.azureml/project.json``,
    ``aml_config/config.json``, ``aml_config/project.json``, ``config.json`` and ``project.json``
    is looked for in ``start`` and its parents (up to 20 levels) before the next is tried, so a
    ``.azureml/config.json`` two folders up wins over a plain ``config.json`` right here.
    """
    path = Path(".") if start is None else Path(start)
    if path.is_file():
        return path.absolute()
    root = os.path.realpath(os.sep)
    for directory, file_name in product(_SEARCH_DIRECTORIES, _SEARCH_FILE_NAMES):
        relative = file_name if directory is None else os.path.join(directory, file_name)
        current = str(path)
        level = 0
        while True:
            candidate = os.path.join(current, relative)
            if os.path.isfile(candidate):
                return Path(candidate).absolute()
            if current == root or level == _SEARCH_LEVELS:
                break
            current = os.path.realpath(os.path.join(current, os.pardir))
            level += 1
    return None


def configure_from_terraform(source: Path, destination: Path | None = None) -> Path:
    """Write the workspace's config.json from Terraform's outputs; return the file written.

    ``source`` is the Terraform directory (``terraform output -json`` runs there) or a file saved
    from ``terraform output -json`` (or from ``terraform output -json azureml_config``).
    ``destination`` is the file to write, or a folder to write ``config.json`` into; by default
    ``.azureml/config.json`` under the current directory, the first place ``MLClient.from_config``
    looks.
    """
    source = Path(source)
    if source.is_dir():
        raw, where = _terraform_output_json(source), f"`terraform output -json` in {source}"
    elif source.is_file():
        try:
            raw = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(f"{source} is not UTF-8 text: {exc}", details={"source": str(source)}) from None
        where = str(source)
    else:
        raise InvalidRequest(
            f"{source} is neither a Terraform directory nor a saved `terraform output -json` file",
            details={"source": str(source)},
        )

    config = AzureWorkspaceConfig.from_dict(_azureml_config_value(raw, where), source=where)

    if destination is None:
        destination = Path.cwd() / DEFAULT_CONFIG_DIR / CONFIG_FILE_NAME
    destination = Path(destination)
    if destination.is_dir():
        destination = destination / CONFIG_FILE_NAME
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Write next to the target and rename, so a reader never sees half a file.
    temporary = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(config.to_config_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, destination)
    return destination


def _azureml_config_value(raw: str, where: str) -> Any:
    """The ``azureml_config`` value out of ``terraform output -json`` text."""
    if not raw.strip():
        raise InvalidRequest(
            f"{where} is empty: no Terraform outputs to read (has `terraform apply` run?)",
            details={"source": where},
        )
    try:
        outputs = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"{where} is not the JSON of `terraform output -json`: {exc.msg} at line {exc.lineno} column {exc.colno}",
            details={"source": where, "line": exc.lineno},
        ) from None
    if not isinstance(outputs, dict):
        raise InvalidRequest(
            f"{where} must be a JSON object of Terraform outputs, not {type(outputs).__name__}",
            details={"source": where},
        )
    if not outputs:
        raise InvalidRequest(
            f"{where} has no outputs (has `terraform apply` run in that directory?)",
            details={"source": where, "missing": [TERRAFORM_OUTPUT_NAME]},
        )
    if TERRAFORM_OUTPUT_NAME in outputs:
        entry = outputs[TERRAFORM_OUTPUT_NAME]
        if not isinstance(entry, dict) or "value" not in entry:
            raise InvalidRequest(
                f'{where}: output {TERRAFORM_OUTPUT_NAME} has no "value" (expected the `terraform output -json` shape)',
                details={"source": where, "missing": [f"{TERRAFORM_OUTPUT_NAME}.value"]},
            )
        return entry["value"]
    looks_like_outputs = any(isinstance(entry, dict) and "value" in entry for entry in outputs.values())
    if not looks_like_outputs and any(name in outputs for name in REQUIRED_FIELDS):
        # Saved from `terraform output -json azureml_config`: the value itself.
        return outputs
    raise InvalidRequest(
        f"{where} has no {TERRAFORM_OUTPUT_NAME} output (found: {', '.join(sorted(outputs))}); "
        "is this the azml-jupyter Terraform configuration?",
        details={"source": where, "missing": [TERRAFORM_OUTPUT_NAME], "found": sorted(outputs)},
    )


def _terraform_output_json(directory: Path) -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        raise InvalidRequest(
            "terraform is not installed (not found on PATH). Install it, or run "
            "`terraform output -json > outputs.json` where it is and pass that file instead",
            details={"source": str(directory)},
        )
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    try:
        completed = subprocess.run(
            [terraform, f"-chdir={directory}", "output", "-json"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=TERRAFORM_TIMEOUT_SECONDS,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Unavailable(
            f"`terraform output -json` in {directory} did not finish within "
            f"{TERRAFORM_TIMEOUT_SECONDS:.0f} s (a slow or locked state backend?)",
            details={"source": str(directory)},
        ) from None
    if completed.returncode != 0:
        message = (completed.stderr or completed.stdout).strip()
        raise InvalidRequest(
            f"`terraform output -json` failed in {directory} (exit {completed.returncode}): "
            f"{message[-2000:] or 'no message'}",
            details={"source": str(directory), "exit_code": completed.returncode},
        )
    return completed.stdout
