"""azure-ai-ml job entity -> the plain, JSON-serialisable job spec the local engine runs.

The engine never imports azure.ai.ml (its runner must start fast and must not pay 1.6 s per job), so
the client that submits (CLI, server, magic) reads the entity once, here, into plain dictionaries:

command spec::

    {"type": "command", "name", "display_name", "experiment_name", "description", "tags",
     "command", "code" (absolute local folder or None), "environment", "compute",
     "inputs": {name: INPUT}, "outputs": {name: OUTPUT}, "environment_variables", "timeout"}

pipeline spec: the same header plus ``"compute"`` (``settings.default_compute``),
``"continue_on_step_failure"``, pipeline-level ``inputs``/``outputs`` and ``"jobs": {step: command spec}``.

INPUT is one of ``{"kind": "literal", "value": v}``, ``{"kind": "local", "type", "path"}``,
``{"kind": "asset", "type", "name", "version" | "label"}``, ``{"kind": "uri", "type", "uri"}``,
``{"kind": "binding", "expr": "${{parent...}}"}`` or ``{"kind": "absent"}`` (an optional input left
out); data inputs also carry ``"mode"``. OUTPUT is ``{"type", "path" (optional), "mode"}`` or a binding.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidJobSpec
from . import bindings
from .names import check_name

if TYPE_CHECKING:
    from azure.ai.ml.entities import Job

# "name:version" or "name@label" after load_job stripped the "azureml:" prefix.
ASSET_REFERENCE = re.compile(r"^(?:azureml:)?([A-Za-z0-9][A-Za-z0-9_.-]*)(?::([A-Za-z0-9_.-]+)|@([A-Za-z0-9_.-]+))$")
REMOTE_SCHEMES = ("azureml://", "http://", "https://", "wasbs://", "abfss://", "adl://")
DATA_TYPES = ("uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model", "triton_model")


def job_to_spec(job: Job) -> dict[str, Any]:
    """Read an azure-ai-ml job entity (from ``load_job`` or the ``command()`` builder) into an engine spec."""
    base_path = Path(getattr(job, "base_path", None) or os.getcwd())
    if job.type == "command":
        return _command_spec(job, base_path)
    if job.type == "pipeline":
        return _pipeline_spec(job, base_path)
    raise InvalidJobSpec(f"Job type {job.type!r} is not supported by the local engine yet.")


def _header(job: Any) -> dict[str, Any]:
    name = getattr(job, "name", None)
    if name is not None:
        check_name("job", name)
    experiment = getattr(job, "experiment_name", None)
    if experiment is not None:
        check_name("experiment", experiment)
    return {
        "name": name,
        "display_name": getattr(job, "display_name", None),
        "experiment_name": experiment,
        "description": getattr(job, "description", None),
        "tags": {str(k): str(v) for k, v in (getattr(job, "tags", None) or {}).items()},
    }


def _command_spec(job: Any, base_path: Path, *, in_pipeline: bool = False) -> dict[str, Any]:
    command = getattr(job, "command", None)
    if not command:
        raise InvalidJobSpec("A command job needs a command.")
    inputs = {key: _input(key, node, base_path) for key, node in (job.inputs or {}).items()}
    outputs = {key: _output(key, node) for key, node in (job.outputs or {}).items()}
    given = {k: v for k, v in inputs.items() if v["kind"] != "absent"}
    bindings.check_command(command, given, outputs)
    limits = getattr(job, "limits", None)
    timeout = getattr(limits, "timeout", None) if limits is not None else None
    spec = {
        "type": "command",
        **_header(job),
        "command": command,
        "code": _code_path(getattr(job, "code", None), base_path),
        # a pipeline step keeps its environment on its (anonymous) component
        "environment": _environment_text(
            getattr(job, "environment", None) or getattr(getattr(job, "component", None), "environment", None)
        ),
        "compute": _compute_name(getattr(job, "compute", None)),
        "inputs": inputs,
        "outputs": outputs,
        "environment_variables": {str(k): str(v) for k, v in (job.environment_variables or {}).items()},
        "timeout": int(timeout) if timeout else None,
    }
    if not in_pipeline and spec["environment"] is None:
        raise InvalidJobSpec("A command job needs an environment (as `az ml job create` requires).")
    return spec


def _pipeline_spec(job: Any, base_path: Path) -> dict[str, Any]:
    settings = getattr(job, "settings", None)
    default_compute = _compute_name(getattr(settings, "default_compute", None) or getattr(job, "compute", None))
    steps: dict[str, Any] = {}
    for step_name, step in (job.jobs or {}).items():
        if getattr(step, "type", None) != "command":
            raise InvalidJobSpec(
                f"Pipeline step {step_name!r} is a {getattr(step, 'type', None)!r} step; "
                "the local engine runs command steps.",
                details={"step": step_name},
            )
        step_base = Path(getattr(step, "base_path", None) or base_path)
        steps[step_name] = _command_spec(step, step_base, in_pipeline=True)
    if not steps:
        raise InvalidJobSpec("A pipeline job needs at least one step under `jobs`.")
    spec = {
        "type": "pipeline",
        **_header(job),
        "compute": default_compute,
        "continue_on_step_failure": bool(getattr(settings, "continue_on_step_failure", False) or False),
        "inputs": {key: _input(key, node, base_path) for key, node in (job.inputs or {}).items()},
        "outputs": {key: _output(key, node) for key, node in (job.outputs or {}).items()},
        "jobs": steps,
    }
    _check_pipeline_bindings(spec)
    return spec


def _check_pipeline_bindings(spec: dict[str, Any]) -> None:
    for step_name, step in spec["jobs"].items():
        for key, value in step["inputs"].items():
            if value["kind"] != "binding":
                continue
            expr = value["expr"]
            parent_input = bindings.PARENT_INPUT.match(expr)
            sibling = bindings.SIBLING_OUTPUT.match(expr)
            if parent_input and parent_input.group(1) not in spec["inputs"]:
                raise InvalidJobSpec(
                    f"Step {step_name!r} input {key!r} is bound to {expr}, but the pipeline has no such input.",
                    details={"step": step_name, "input": key},
                )
            if sibling:
                other, output = sibling.groups()
                if other not in spec["jobs"] or output not in spec["jobs"][other]["outputs"]:
                    raise InvalidJobSpec(
                        f"Step {step_name!r} input {key!r} is bound to {expr}, which no step produces.",
                        details={"step": step_name, "input": key},
                    )
            if not parent_input and not sibling:
                raise InvalidJobSpec(f"Step {step_name!r} input {key!r}: unsupported binding {expr}.")
        for key, value in step["outputs"].items():
            if value.get("kind") == "binding":
                match = bindings.PARENT_OUTPUT.match(value["expr"])
                if not match or match.group(1) not in spec["outputs"]:
                    raise InvalidJobSpec(
                        f"Step {step_name!r} output {key!r} is bound to {value['expr']}, "
                        "but the pipeline has no such output.",
                        details={"step": step_name, "output": key},
                    )


def _input(key: str, node: Any, base_path: Path) -> dict[str, Any]:
    value = getattr(node, "_data", node)  # NodeInput wraps the Input entity, a literal or a binding
    if value is None:
        return {"kind": "absent"}
    if isinstance(value, str) and bindings.EXPRESSION.search(value):
        return {"kind": "binding", "expr": value.strip()}
    if isinstance(value, (bool, int, float, str)):
        return {"kind": "literal", "value": value}
    data_type = getattr(value, "type", None)
    path = getattr(value, "path", None)
    mode = getattr(value, "mode", None)
    if data_type not in DATA_TYPES:  # a typed literal input: {type: integer, default: 3}
        default = getattr(value, "default", None)
        return {"kind": "literal", "value": default} if default is not None else {"kind": "absent"}
    if path is None:
        return {"kind": "absent"}
    path = str(path)
    if bindings.EXPRESSION.search(path):
        return {"kind": "binding", "expr": path.strip()}
    if path.startswith(REMOTE_SCHEMES):
        return {"kind": "uri", "type": data_type, "uri": path, "mode": mode}
    asset = ASSET_REFERENCE.match(path)
    local = (base_path / path).resolve()
    if asset and (path.startswith("azureml:") or not local.exists()):
        name, version, label = asset.groups()
        ref: dict[str, Any] = {"kind": "asset", "type": data_type, "name": name, "mode": mode}
        ref.update({"version": version} if version else {"label": label})
        return ref
    if path.startswith("azureml:"):
        raise InvalidJobSpec(f"Input {key!r}: cannot read the data reference {path!r}.", details={"input": key})
    if not local.exists():
        raise InvalidJobSpec(
            f"Input {key!r}: local path {path} does not exist (resolved to {local}).",
            details={"input": key, "path": str(local)},
        )
    if data_type == "uri_file" and not local.is_file():
        raise InvalidJobSpec(f"Input {key!r} is a uri_file but {local} is not a file.", details={"input": key})
    if data_type == "uri_folder" and not local.is_dir():
        raise InvalidJobSpec(f"Input {key!r} is a uri_folder but {local} is not a folder.", details={"input": key})
    return {"kind": "local", "type": data_type, "path": str(local), "mode": mode}


def _output(key: str, node: Any) -> dict[str, Any]:
    value = getattr(node, "_data", node)
    declared_type = getattr(node, "type", None)
    if isinstance(value, str) and bindings.EXPRESSION.search(value):
        return {"kind": "binding", "expr": value.strip(), "type": declared_type or "uri_folder"}
    data_type = getattr(value, "type", None) or declared_type or "uri_folder"
    if data_type not in ("uri_file", "uri_folder", "mltable", "custom_model", "mlflow_model"):
        raise InvalidJobSpec(f"Output {key!r} has type {data_type!r}; use uri_folder or uri_file.")
    path = getattr(value, "path", None)
    if path is not None and not str(path).startswith("azureml://"):
        raise InvalidJobSpec(
            f"Output {key!r}: path {path!r} must be an azureml:// datastore URI.", details={"output": key}
        )
    return {
        "kind": "data",
        "type": data_type,
        "path": str(path) if path else None,
        "mode": getattr(value, "mode", None),
    }


def _code_path(code: Any, base_path: Path) -> str | None:
    if code is None:
        return None
    text = str(getattr(code, "path", code))
    if text.startswith(("azureml:", "http://", "https://", "git+")):
        raise InvalidJobSpec(f"code {text!r}: the local engine needs a local code folder.")
    path = (base_path / text).resolve()
    if not path.exists():
        raise InvalidJobSpec(f"code folder {text} does not exist (resolved to {path}).", details={"code": str(path)})
    return str(path)


def _environment_text(environment: Any) -> str | None:
    if environment is None:
        return None
    if isinstance(environment, str):
        return environment if environment.startswith("azureml:") else f"azureml:{environment}"
    name, version = getattr(environment, "name", None), getattr(environment, "version", None)
    parts = []
    if name and name != "CliV2AnonymousEnvironment":
        parts.append(f"{name}:{version}" if version else name)
    image = getattr(environment, "image", None)
    if image:
        parts.append(f"image {image}")
    if getattr(environment, "conda_file", None):
        parts.append("conda file")
    if getattr(environment, "build", None):
        parts.append("docker build context")
    return "inline environment: " + ", ".join(parts) if parts else "inline environment"


def _compute_name(compute: Any) -> str | None:
    if not compute:
        return None
    text = str(compute)
    text = text.split("/computes/")[-1]  # an ARM id
    return text[len("azureml:") :] if text.startswith("azureml:") else text
